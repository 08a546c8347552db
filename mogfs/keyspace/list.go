package keyspace

import (
	"context"
	"errors"
	"io"
	"strings"
)

// PageSize is the number of entries (mogfs_list_dir) or keys (list_keys)
// asked for per tracker round trip.
const PageSize = 1000

// Lister pages through one directory level. It never holds more than a
// page or two of entries: a listing of a huge domain costs memory in
// proportion to the page size, not to the number of keys.
//
// It marks a file whose segment is also a directory (key "a" next to keys
// "a/...") as Shadowed. Keys sort "a" < "a.jpg" < "a/x", so the directory
// may come many entries after the file: a file is held back until the
// listing has passed the place where its directory would be.
type Lister struct {
	s      *Space
	domain string
	prefix string

	native  int // 0 undecided, 1 mogfs_list_dir, -1 list_keys
	cursor  string
	skip    string          // list_keys: the subtree being passed
	seen    map[string]bool // list_keys: directories already listed
	done    bool
	lastDir string
	hasDir  bool

	pending []DirEntry // files that may still turn out to be directories too
	out     []DirEntry // ready
}

// List returns a Lister of the directory whose keys start with prefix (""
// for the top of the domain, else ending in "/").
func (s *Space) List(domain, prefix string) *Lister {
	return &Lister{s: s, domain: domain, prefix: prefix}
}

// Next returns the next entry, or io.EOF after the last one.
func (l *Lister) Next(ctx context.Context) (DirEntry, error) {
	for len(l.out) == 0 {
		if l.done {
			if len(l.pending) == 0 {
				return DirEntry{}, io.EOF
			}
			l.out = append(l.out, l.pending...)
			l.pending = l.pending[:0]
			break
		}
		raw, err := l.fetch(ctx)
		if err != nil {
			return DirEntry{}, err
		}
		for _, e := range raw {
			l.add(e)
		}
	}
	e := l.out[0]
	l.out = l.out[1:]
	if len(l.out) == 0 {
		l.out = nil // let the page's backing array go
	}
	return e, nil
}

// add takes one entry in key order.
func (l *Lister) add(e DirEntry) {
	pos := e.Name
	if e.Dir {
		pos += "/"
	}
	// Files whose directory would sort before pos have none.
	kept := l.pending[:0]
	for _, f := range l.pending {
		if f.Name+"/" < pos {
			l.out = append(l.out, f)
		} else {
			kept = append(kept, f)
		}
	}
	l.pending = kept
	if !e.Dir {
		if e.Name == "" && e.HasInfo && e.Info.Size == 0 {
			return // the directory's own marker
		}
		l.pending = append(l.pending, e)
		return
	}
	if l.hasDir && l.lastDir == e.Name {
		return
	}
	if l.prefix == "" && e.Name == HiddenDir {
		return // the surrogates of long keys
	}
	l.hasDir, l.lastDir = true, e.Name
	for i, f := range l.pending {
		if f.Name == e.Name {
			f.Shadowed = true
			l.out = append(l.out, f)
			l.pending = append(l.pending[:i], l.pending[i+1:]...)
			break
		}
	}
	l.out = append(l.out, e)
}

// fetch returns the next raw entries, in key order.
func (l *Lister) fetch(ctx context.Context) ([]DirEntry, error) {
	if l.native >= 0 && !l.s.noListDir.Load() {
		page, err := l.s.b.ListDir(ctx, l.domain, l.prefix, l.cursor, PageSize)
		switch {
		case err == nil:
			l.native = 1
			l.cursor = page.Next
			l.done = page.Next == ""
			for i := range page.Entries {
				l.s.fill(l.domain, &page.Entries[i].Info)
			}
			return page.Entries, nil
		case errors.Is(err, ErrUnsupported) && l.native == 0:
			l.s.unsupported(&l.s.noListDir, "mogfs_list_dir", err)
		default:
			return nil, err
		}
	}
	l.native = -1
	return l.fetchKeys(ctx)
}

// fetchKeys computes one directory level from list_keys pages. It reads
// every key under the prefix, subdirectories' included: list_keys pages
// in the database's collation, in which no "after" value is sure to land
// just past a subtree (MySQL's case-insensitive collations and latin1 sort
// bytes otherwise than Go does), so skipping ahead could hide keys.
func (l *Lister) fetchKeys(ctx context.Context) ([]DirEntry, error) {
	keys, err := l.s.b.ListKeys(ctx, l.domain, l.prefix, l.cursor, PageSize)
	if err != nil {
		return nil, err
	}
	if len(keys) < PageSize {
		l.done = true
	}
	var out []DirEntry
	for _, k := range keys {
		l.cursor = k
		if l.skip != "" && strings.HasPrefix(k, l.skip) {
			continue
		}
		l.skip = ""
		if !strings.HasPrefix(k, l.prefix) {
			continue // a case-insensitive collation matched it
		}
		rest := k[len(l.prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			l.skip = l.prefix + rest[:i] + "/"
			// A collation that ignores case may interleave two
			// subtrees: list each directory once.
			if l.seen == nil {
				l.seen = map[string]bool{}
			}
			if !l.seen[rest[:i]] {
				l.seen[rest[:i]] = true
				out = append(out, DirEntry{Name: rest[:i], Dir: true, Info: FileInfo{Key: l.skip}})
			}
			continue
		}
		e := DirEntry{Name: rest}
		if rest == "" {
			// The marker of this directory, unless it holds data.
			fi, err := l.s.b.FileInfo(ctx, l.domain, k)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			l.s.fill(l.domain, &fi)
			e.Info, e.HasInfo = fi, true
		}
		out = append(out, e)
	}
	if l.done && len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// IsEmpty reports whether the directory with this prefix holds nothing but
// its marker.
func (s *Space) IsEmpty(ctx context.Context, domain, prefix string) (bool, error) {
	l := s.List(domain, prefix)
	_, err := l.Next(ctx)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}
