package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Directory listings (mogfs_list_dir, docs/mogfs.md §8.4).
//
// A listing walks the keys under prefix in byte order from a cursor. A
// key with no "/" after the prefix is a file entry; any other key names a
// directory entry (its segment up to the "/"), after which the walk
// jumps past the directory's whole subtree. Cursors ("after", and the
// Next of a page) are a file entry's key or a directory entry's prefix
// ending in "/".

// listBatch is the LIMIT of a listing's first range read. A read stops at
// the first key of a subtree, and the rows after it that a MySQL server
// already sent are wasted, so the read after a jump asks for one row (one
// seek per directory entry) and reads grow fourfold while they find only
// files (a flat directory of 1000 files costs 5 statements).
const (
	listBatch    = 16
	listBatchMax = 4096
)

// listStart turns a cursor into where the walk starts: the first key
// > from when strict, else >= from.
func listStart(prefix, after string) (from string, strict bool) {
	if after == "" {
		return prefix, false
	}
	rest := after[len(prefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		// Past the whole subtree of the directory after names.
		return prefix + rest[:i] + "0", false
	}
	return after, true
}

// MogfsListDir lists one directory level.
func (s *Store) MogfsListDir(ctx context.Context, dmid int, prefix, after string, limit int) (store.MogfsDirPage, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") || after != "" && !strings.HasPrefix(after, prefix) || limit <= 0 {
		return store.MogfsDirPage{}, fmt.Errorf("sqlstore: mogfs list %q after %q limit %d: bad arguments", prefix, after, limit)
	}
	bytewise, err := s.keysBytewise(ctx)
	if err != nil {
		return store.MogfsDirPage{}, err
	}
	var page store.MogfsDirPage
	err = s.read(ctx, func(r *runner) (err error) {
		page = store.MogfsDirPage{}
		// No key of file lies under a prefix of 255 bytes or more.
		if len(prefix) < store.MaxKeyLen {
			if bytewise {
				page, err = listBytewise(r, dmid, prefix, after, limit)
			} else {
				page, err = s.listCollated(r, dmid, prefix, after, limit)
			}
			if err != nil {
				return err
			}
		}
		long, err := listNames(r, dmid, prefix, after, limit)
		if err != nil {
			return err
		}
		page = mergePages(prefix, page, long, limit)
		return nil
	})
	if err != nil {
		return store.MogfsDirPage{}, fmt.Errorf("sqlstore: mogfs list %q in domain %d: %w", prefix, dmid, err)
	}
	return page, nil
}

// listQuery returns the range read of listBytewise: file rows with their
// attributes from a start key, below end (unless end is not bounded), in
// key order, LIMIT ?. Every variant reads the (dmid, dkey) index as one
// range and joins mogfs_attr by its primary key.
func listQuery(strict, bounded bool) string {
	q := "SELECT " + mogfsFileCols + mogfsFileFrom + " WHERE f.dmid = ? AND f.dkey >= ?"
	if strict {
		q = "SELECT " + mogfsFileCols + mogfsFileFrom + " WHERE f.dmid = ? AND f.dkey > ?"
	}
	if bounded {
		q += " AND f.dkey < ?"
	}
	return q + " ORDER BY f.dkey LIMIT ?"
}

// listBytewise walks the index directly: a collation that orders as bytes
// lets each directory be jumped with one seek.
func listBytewise(r *runner, dmid int, prefix, after string, limit int) (store.MogfsDirPage, error) {
	var page store.MogfsDirPage
	from, strict := listStart(prefix, after)
	batch := listBatch
	for len(page.Entries) < limit {
		want := min(batch, limit-len(page.Entries))
		args := []any{dmid, from}
		if prefix != "" {
			args = append(args, prefixEnd(prefix))
		}
		args = append(args, want)
		rows, err := r.query(listQuery(strict, prefix != ""), args...)
		if err != nil {
			return page, err
		}
		n, jumped := 0, false
		for rows.Next() {
			n++
			f, err := scanMogfsFile(rows)
			if err != nil {
				rows.Close()
				return page, err
			}
			if !strings.HasPrefix(f.Key, prefix) {
				rows.Close()
				return page, fmt.Errorf("key %q is outside the range of prefix %q", f.Key, prefix)
			}
			rest := f.Key[len(prefix):]
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				page.Entries = append(page.Entries, store.MogfsDirEntry{Name: rest, File: f})
				from, strict = f.Key, true
				continue
			}
			// The first key of a subtree: its marker, if it has one.
			e := store.MogfsDirEntry{Name: rest[:i], Dir: true}
			if len(rest) == i+1 {
				e.Attr = f.Attr
			}
			page.Entries = append(page.Entries, e)
			from, strict = prefix+rest[:i]+"0", false
			jumped = true
			break
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return page, err
		}
		switch {
		case jumped:
			batch = 1
		case n < want:
			return page, nil // the range is exhausted
		default:
			batch = min(4*batch, listBatchMax)
		}
	}
	page.Next = entryCursor(prefix, page.Entries[len(page.Entries)-1])
	return page, nil
}

// entryCursor is the cursor just past an entry.
func entryCursor(prefix string, e store.MogfsDirEntry) string {
	if e.Dir {
		return prefix + e.Name + "/"
	}
	return prefix + e.Name
}

// listCollated lists a level when the index is not in byte order: one
// statement reads every key under the prefix (the LIKE range), maps each
// to its entry's cursor (the key, or the directory prefix) as bytes,
// and returns the first limit distinct cursors after the start in byte
// order; a second reads those files and markers by exact key.
func (s *Store) listCollated(r *runner, dmid int, prefix, after string, limit int) (store.MogfsDirPage, error) {
	var page store.MogfsDirPage
	from, strict := listStart(prefix, after)
	n := len(prefix)
	kb := s.keyBytes()
	var pos string
	var posArgs []any
	if s.target.Backend == SQLite {
		tail := "instr(substr(" + kb + ", ?), x'2F')"
		pos = "CASE WHEN " + tail + " = 0 THEN " + kb + " ELSE substr(" + kb + ", 1, ? + " + tail + ") END"
		posArgs = []any{n + 1, n, n + 1}
	} else {
		slash := "LOCATE(_binary'/', " + kb + ", ?)"
		pos = "CASE WHEN " + slash + " = 0 THEN " + kb + " ELSE LEFT(" + kb + ", " + slash + ") END"
		posArgs = []any{n + 1, n + 1}
	}
	cmp := " >= "
	if strict {
		cmp = " > "
	}
	q := "SELECT " + pos + " AS p FROM file WHERE dmid = ?"
	args := append(posArgs, dmid)
	if prefix != "" {
		cond, cargs := s.underPrefix(prefix)
		q += " AND " + cond
		args = append(args, cargs...)
	}
	q += " AND " + kb + cmp + s.paramBytes() + " GROUP BY p ORDER BY p LIMIT ?"
	args = append(args, from, limit)

	rows, err := r.query(q, args...)
	if err != nil {
		return page, err
	}
	var cursors []string
	for rows.Next() {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return page, err
		}
		cursors = append(cursors, string(p))
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return page, err
	}
	// Files, and the markers of directories, by exact key. A file
	// deleted in between is left out; the listing need not be a
	// snapshot.
	files, err := r.filesExact(dmid, cursors)
	if err != nil {
		return page, err
	}
	for _, c := range cursors {
		if !strings.HasPrefix(c, prefix) {
			return page, fmt.Errorf("key %q is outside prefix %q", c, prefix)
		}
		rest := c[n:]
		f, ok := files[c]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			e := store.MogfsDirEntry{Name: rest[:i], Dir: true}
			if ok {
				e.Attr = f.Attr
			}
			page.Entries = append(page.Entries, e)
			continue
		}
		if ok {
			page.Entries = append(page.Entries, store.MogfsDirEntry{Name: rest, File: f})
		}
	}
	if len(cursors) == limit {
		page.Next = cursors[len(cursors)-1]
	}
	return page, nil
}
