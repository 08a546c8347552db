package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Long keys (docs/mogfs-names.md): a key of mogfs longer than file.dkey
// holds is a file row under a surrogate key and a row of mogfs_name
// (dmid, name -> dkey). Names compare as bytes (VARBINARY, BLOB) whatever
// the collation of file.dkey; they are passed to the database as []byte,
// which SQLite orders among BLOBs.

// mogfsNameDDL are the statements that create mogfs_name, by backend.
var mogfsNameDDL = map[Backend][]string{
	MySQL: {`CREATE TABLE IF NOT EXISTS mogfs_name (
  dmid SMALLINT UNSIGNED NOT NULL,
  hash BINARY(20) NOT NULL,
  name VARBINARY(8192) NOT NULL,
  dkey VARBINARY(255) NOT NULL,
  PRIMARY KEY (dmid, hash),
  KEY mogfs_name_dkey (dmid, dkey),
  KEY mogfs_name_name (dmid, name(3000))
) ENGINE=InnoDB`},
	SQLite: {`CREATE TABLE IF NOT EXISTS mogfs_name (
  dmid INTEGER NOT NULL,
  hash BLOB NOT NULL,
  name BLOB NOT NULL,
  dkey TEXT NOT NULL,
  PRIMARY KEY (dmid, hash)
)`,
		"CREATE INDEX IF NOT EXISTS mogfs_name_dkey ON mogfs_name (dmid, dkey)",
		"CREATE INDEX IF NOT EXISTS mogfs_name_name ON mogfs_name (dmid, name)"},
}

// setupMogfsNames creates mogfs_name when it is missing.
func (s *Store) setupMogfsNames(ctx context.Context, status func(string)) error {
	for _, ddl := range mogfsNameDDL[s.target.Backend] {
		if status != nil {
			status("Running SQL: " + ddl + ";")
		}
		err := s.autocommit(ctx, func(r *runner) error {
			_, err := r.ex.ExecContext(ctx, ddl)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: %s: create table mogfs_name: %w", s.target.Where(), err)
		}
	}
	return nil
}

func nameHash(name string) []byte {
	h := sha1.Sum([]byte(name))
	return h[:]
}

// NewSurrogate returns a new surrogate key for a long key.
func NewSurrogate() string {
	var b [16]byte
	rand.Read(b[:])
	return store.SurrogatePrefix + hex.EncodeToString(b[:])
}

// nameRow returns the surrogate of the long key name; ok is false when it
// has no name row.
func (r *runner) nameRow(dmid int, name string, lock bool) (dkey string, ok bool, err error) {
	q := "SELECT name, dkey FROM mogfs_name WHERE dmid = ? AND hash = ?"
	if lock {
		q += "{forupdate}"
	}
	var got []byte
	err = r.queryRow(q, dmid, nameHash(name)).Scan(&got, &dkey)
	if errors.Is(err, sql.ErrNoRows) || err == nil && string(got) != name {
		return "", false, nil
	}
	return dkey, err == nil, err
}

// resolve reads the file row that key names: its own, or (a long key, or
// a name of a hard-linked file) through its name row. The row's Key is
// its dkey (then the surrogate).
func (r *runner) resolve(dmid int, key string, lock bool) (store.MogfsFile, bool, error) {
	if len(key) <= store.MaxKeyLen {
		if f, ok, err := r.fileExact(dmid, key, lock); ok || err != nil {
			return f, ok, err
		}
	}
	return r.named(dmid, key, lock)
}

// named reads the file row that the name row of key names.
func (r *runner) named(dmid int, key string, lock bool) (store.MogfsFile, bool, error) {
	dkey, ok, err := r.nameRow(dmid, key, lock)
	if !ok || err != nil {
		return store.MogfsFile{}, false, err
	}
	return r.fileExact(dmid, dkey, lock)
}

// namesFrom reads up to limit name rows (name, dkey) whose name starts
// with prefix ("" for the whole domain, else ending in "/"), in byte
// order, from the first name >= from (> from when strict).
func (r *runner) namesFrom(dmid int, prefix, from string, strict bool, limit int) ([][2]string, error) {
	cmp := ">="
	if strict {
		cmp = ">"
	}
	q := "SELECT name, dkey FROM mogfs_name WHERE dmid = ? AND name " + cmp + " ?"
	args := []any{dmid, []byte(from)}
	if prefix != "" {
		q += " AND name < ?"
		args = append(args, []byte(prefixEnd(prefix)))
	}
	rows, err := r.query(q+" ORDER BY name LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var name []byte
		var dkey string
		if err := rows.Scan(&name, &dkey); err != nil {
			return nil, err
		}
		out = append(out, [2]string{string(name), dkey})
	}
	return out, rows.Err()
}

// nameDir reports whether some long key starts with dir (ending in "/"),
// and the attributes of the marker dir itself when it is a long key.
func (r *runner) nameDir(dmid int, dir string) (bool, *store.MogfsAttr, error) {
	ns, err := r.namesFrom(dmid, dir, dir, false, 1)
	if err != nil || len(ns) == 0 {
		return false, nil, err
	}
	if ns[0][0] != dir {
		return true, nil, nil
	}
	f, ok, err := r.fileExact(dmid, ns[0][1], false)
	if !ok || err != nil {
		return true, nil, err
	}
	return true, f.Attr, nil
}

// listNames is a listing page of the long keys under prefix (the walk of
// listBytewise over mogfs_name): files with their rows, one entry per
// subdirectory. Names whose surrogate has no file row are left out.
func listNames(r *runner, dmid int, prefix, after string, limit int) (store.MogfsDirPage, error) {
	var page store.MogfsDirPage
	from, strict := listStart(prefix, after)
	for len(page.Entries) < limit {
		want := min(listBatchMax, limit-len(page.Entries))
		ns, err := r.namesFrom(dmid, prefix, from, strict, want)
		if err != nil {
			return page, err
		}
		// Files up to the first directory, read in one statement.
		var files []string
		dir := -1
		for i, n := range ns {
			rest := n[0][len(prefix):]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				dir = i
				break
			}
			files = append(files, n[1])
		}
		rows, err := r.filesExact(dmid, files)
		if err != nil {
			return page, err
		}
		links, err := r.nlinks(dmid, files)
		if err != nil {
			return page, err
		}
		for _, n := range ns[:len(files)] {
			if f, ok := rows[n[1]]; ok {
				f.Nlink = links[n[1]]
				page.Entries = append(page.Entries, store.MogfsDirEntry{Name: n[0][len(prefix):], File: f})
			}
			from, strict = n[0], true
		}
		if dir >= 0 {
			rest := ns[dir][0][len(prefix):]
			j := strings.IndexByte(rest, '/')
			e := store.MogfsDirEntry{Name: rest[:j], Dir: true}
			if len(rest) == j+1 {
				if f, ok, err := r.fileExact(dmid, ns[dir][1], false); err != nil {
					return page, err
				} else if ok {
					e.Attr = f.Attr
				}
			}
			page.Entries = append(page.Entries, e)
			from, strict = prefix+rest[:j]+"0", false
			continue
		}
		if len(ns) < want {
			break
		}
	}
	if len(page.Entries) >= limit {
		page.Entries = page.Entries[:limit]
		page.Next = entryCursor(prefix, page.Entries[limit-1])
	}
	return page, nil
}

// mergePages merges a listing page of file with one of mogfs_name: byte
// order of the entries' cursors, one entry for a directory found in both,
// at most limit entries.
func mergePages(prefix string, a, b store.MogfsDirPage, limit int) store.MogfsDirPage {
	if len(b.Entries) == 0 {
		return a
	}
	all := append(append([]store.MogfsDirEntry(nil), a.Entries...), b.Entries...)
	sort.SliceStable(all, func(i, j int) bool { return entryCursor(prefix, all[i]) < entryCursor(prefix, all[j]) })
	var out store.MogfsDirPage
	for _, e := range all {
		if n := len(out.Entries); n > 0 && e.Dir && out.Entries[n-1].Dir && out.Entries[n-1].Name == e.Name {
			if out.Entries[n-1].Attr == nil {
				out.Entries[n-1].Attr = e.Attr
			}
			continue
		}
		out.Entries = append(out.Entries, e)
	}
	if len(out.Entries) >= limit || a.Next != "" || b.Next != "" {
		if len(out.Entries) > limit {
			out.Entries = out.Entries[:limit]
		}
		out.Next = entryCursor(prefix, out.Entries[len(out.Entries)-1])
	}
	return out
}

// putName makes name name the file row of the surrogate dkey. What name
// named before goes as delete does: a file row of the short key name, or
// the surrogate of its name row when that was its last name. The fid
// deleted is returned (0 for none).
func (r *runner) putName(dmid int, name, dkey string) (int64, error) {
	var replaced int64
	if len(name) <= store.MaxKeyLen {
		var err error
		if replaced, err = r.replaceTarget(dmid, name, 0, true); err != nil {
			return 0, err
		}
	}
	old, ok, err := r.nameRow(dmid, name, true)
	if err != nil {
		return 0, err
	}
	if ok && old == dkey {
		return replaced, nil
	}
	if ok {
		if _, err := r.exec("UPDATE mogfs_name SET dkey = ? WHERE dmid = ? AND hash = ?", dkey, dmid, nameHash(name)); err != nil {
			return 0, err
		}
		gone, err := r.settle(dmid, old)
		if gone != 0 {
			replaced = gone
		}
		return replaced, err
	}
	_, err = r.exec("INSERT INTO mogfs_name (dmid, hash, name, dkey) VALUES (?, ?, ?, ?)", dmid, nameHash(name), []byte(name), dkey)
	return replaced, err
}

// namesOf returns the names of the surrogate dkey, in byte order.
func (r *runner) namesOf(dmid int, dkey string, lock bool) ([]string, error) {
	q := "SELECT name FROM mogfs_name WHERE dmid = ? AND dkey = ? ORDER BY name"
	if lock {
		q += "{forupdate}"
	}
	rows, err := r.query(q, dmid, dkey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n []byte
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, string(n))
	}
	return out, rows.Err()
}

// settle tidies the surrogate dkey after one of its names went: with no
// name left its file row goes as delete does (the fid is returned); with
// one short name left, that name becomes the file row's key again, so
// that original clients see it.
func (r *runner) settle(dmid int, dkey string) (int64, error) {
	names, err := r.namesOf(dmid, dkey, true)
	if err != nil {
		return 0, err
	}
	switch {
	case len(names) == 0:
		return r.replaceTarget(dmid, dkey, 0, true)
	case len(names) == 1 && len(names[0]) <= store.MaxKeyLen:
		if _, err := r.exec("UPDATE file SET dkey = ? WHERE dmid = ? AND dkey = ?", names[0], dmid, dkey); err != nil {
			return 0, err
		}
		return 0, r.dropName(dmid, names[0])
	}
	return 0, nil
}

// dropName deletes the name row of name.
func (r *runner) dropName(dmid int, name string) error {
	_, err := r.exec("DELETE FROM mogfs_name WHERE dmid = ? AND hash = ?", dmid, nameHash(name))
	return err
}

// unname drops the name row of name (naming dkey) and settles dkey. A
// file that keeps other names gets a new ctime (its link count changed).
func (r *runner) unname(dmid int, name, dkey string) (int64, error) {
	f, ok, err := r.fileExact(dmid, dkey, true)
	if err != nil {
		return 0, err
	}
	if err := r.dropName(dmid, name); err != nil {
		return 0, err
	}
	gone, err := r.settle(dmid, dkey)
	if err != nil || gone != 0 || !ok {
		return gone, err
	}
	now := time.Now()
	row := store.MogfsAttr{Mtime: now.Unix(), MtimeNsec: now.Nanosecond(), Mode: 0o644}
	if f.Attr != nil {
		row = *f.Attr
	}
	row.Ctime, row.CtimeNsec, row.HasCtime = now.Unix(), now.Nanosecond(), true
	_, err = r.exec(replaceMogfsAttr, mogfsAttrValues(f.FID, row)...)
	return 0, err
}

// nlinks counts the names of the surrogates among keys.
func (r *runner) nlinks(dmid int, keys []string) (map[string]int, error) {
	var surs []any
	for _, k := range keys {
		if strings.HasPrefix(k, store.SurrogatePrefix) {
			surs = append(surs, k)
		}
	}
	out := map[string]int{}
	if len(surs) == 0 {
		return out, nil
	}
	q := "SELECT dkey, COUNT(*) FROM mogfs_name WHERE dmid = ? AND dkey IN (?" + strings.Repeat(", ?", len(surs)-1) + ") GROUP BY dkey"
	rows, err := r.ex.QueryContext(r.ctx, q, append([]any{dmid}, surs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// withNlink sets f.Nlink when f is kept under a surrogate.
func (r *runner) withNlink(dmid int, f *store.MogfsFile) error {
	if !strings.HasPrefix(f.Key, store.SurrogatePrefix) {
		return nil
	}
	n, err := r.nlinks(dmid, []string{f.Key})
	f.Nlink = n[f.Key]
	return err
}

// MogfsLink gives the file from the new name to.
func (s *Store) MogfsLink(ctx context.Context, dmid int, from, to string, u store.MogfsAttrUpdate) (store.MogfsFile, error) {
	var out store.MogfsFile
	err := s.write(ctx, func(r *runner) error {
		f, ok, err := r.resolve(dmid, from, true)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		if _, ok, err := r.resolve(dmid, to, true); err != nil {
			return err
		} else if ok {
			return store.ErrExists
		}
		if !strings.HasPrefix(f.Key, store.SurrogatePrefix) {
			sur := NewSurrogate()
			if _, err := r.exec("UPDATE file SET dkey = ? WHERE fid = ?", sur, f.FID); err != nil {
				return err
			}
			if _, err := r.exec("INSERT INTO mogfs_name (dmid, hash, name, dkey) VALUES (?, ?, ?, ?)", dmid, nameHash(from), []byte(from), sur); err != nil {
				return err
			}
			f.Key = sur
		}
		if _, err := r.exec("INSERT INTO mogfs_name (dmid, hash, name, dkey) VALUES (?, ?, ?, ?)", dmid, nameHash(to), []byte(to), f.Key); err != nil {
			if s.dup(err) {
				return store.ErrExists
			}
			return err
		}
		if !u.Empty() {
			row := u.Default
			if f.Attr != nil {
				row = *f.Attr
			}
			a := u.Apply(row)
			if _, err := r.exec(replaceMogfsAttr, mogfsAttrValues(f.FID, a)...); err != nil {
				return err
			}
			f.Attr = &a
		}
		out = f
		return r.withNlink(dmid, &out)
	})
	if err != nil {
		return store.MogfsFile{}, fmt.Errorf("sqlstore: mogfs link %q to %q in domain %d: %w", from, to, dmid, err)
	}
	return out, nil
}

// MogfsDelete deletes the name key.
func (s *Store) MogfsDelete(ctx context.Context, dmid int, key string) (int64, error) {
	var fid int64
	err := s.write(ctx, func(r *runner) error {
		fid = 0
		if len(key) <= store.MaxKeyLen {
			f, ok, err := r.fileExact(dmid, key, true)
			if err != nil {
				return err
			}
			if ok {
				if fid, err = r.replaceTarget(dmid, key, 0, true); err != nil {
					return err
				}
				if strings.HasPrefix(f.Key, store.SurrogatePrefix) {
					_, err = r.exec("DELETE FROM mogfs_name WHERE dmid = ? AND dkey = ?", dmid, f.Key)
				}
				return err
			}
		}
		dkey, ok, err := r.nameRow(dmid, key, true)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		fid, err = r.unname(dmid, key, dkey)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mogfs delete %q in domain %d: %w", key, dmid, err)
	}
	return fid, nil
}

// MogfsDropName deletes the name row of the surrogate dkey, if any: the
// original delete and rename of a surrogate key call it, since the long
// key then names nothing.
func (s *Store) MogfsDropName(ctx context.Context, dmid int, dkey string) error {
	s.mogfs.mu.Lock()
	noTable := s.mogfs.noTable
	s.mogfs.mu.Unlock()
	if noTable {
		return nil
	}
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM mogfs_name WHERE dmid = ? AND dkey = ?", dmid, dkey)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: drop the name of %q in domain %d: %w", dkey, dmid, err)
	}
	return nil
}
