package keyspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default permission bits of keys without an attribute row.
const (
	DefaultFileMode = 0o644
	DefaultDirMode  = 0o755
)

// Space is the namespace of a cluster as mogfs sees it: keys with their
// attributes, directory levels, renames of keys and of key prefixes. It
// uses the mogfs tracker commands and, on a tracker without them, falls
// back to the original commands (slower, and for renames of directories
// and replacing renames not atomic). It is safe for concurrent use.
type Space struct {
	b   Backend
	log *slog.Logger
	// Epoch is the mtime of keys the attribute table knows nothing of.
	Epoch time.Time

	noLookup, noListDir, noSetAttr, noCreateClose, noRename, noRenamePrefix atomic.Bool

	// features, once asked (nil before).
	features atomic.Pointer[Features]

	// attrs keeps chmod/utimes for the life of the mount when the
	// tracker has no attribute table (domain + "\x00" + key).
	mu    sync.Mutex
	attrs map[string]Attr
}

// New returns a Space over b. log may be nil.
func New(b Backend, log *slog.Logger) *Space {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Space{b: b, log: log, Epoch: time.Now(), attrs: map[string]Attr{}}
}

// Backend returns the backend the space uses.
func (s *Space) Backend() Backend { return s.b }

// Native reports whether the tracker answers the mogfs commands (as far
// as they were tried).
func (s *Space) Native() bool {
	return !s.noLookup.Load() && !s.noListDir.Load() && !s.noSetAttr.Load() &&
		!s.noCreateClose.Load() && !s.noRename.Load() && !s.noRenamePrefix.Load()
}

// unsupported records that the tracker lacks cmd, logging it once.
func (s *Space) unsupported(flag *atomic.Bool, cmd string, err error) {
	if !flag.Swap(true) {
		s.log.Warn("tracker lacks a mogfs command; using the original commands instead", "cmd", cmd, "err", err)
	}
}

func attrKey(domain, key string) string { return domain + "\x00" + key }

// fill completes fi's attributes: from the in-memory table when the
// tracker keeps none, else with the defaults (Epoch, 0644 or 0755 for a
// marker). Attr.Set stays as the tracker said.
func (s *Space) fill(domain string, fi *FileInfo) {
	if fi.Attr.Set {
		return
	}
	if s.noSetAttr.Load() {
		s.mu.Lock()
		a, ok := s.attrs[attrKey(domain, fi.Key)]
		s.mu.Unlock()
		if ok {
			fi.Attr.Mtime, fi.Attr.Mode = a.Mtime, a.Mode
			return
		}
	}
	fi.Attr.Mtime = s.Epoch
	fi.Attr.Mode = DefaultFileMode
	if strings.HasSuffix(fi.Key, "/") {
		fi.Attr.Mode = DefaultDirMode
	}
}

// DirAttr completes the attributes of the directory with this prefix (as
// reported for its marker key).
func (s *Space) DirAttr(domain, prefix string, a Attr) Attr {
	if a.Set {
		return a
	}
	fi := FileInfo{Key: prefix}
	s.fill(domain, &fi)
	if prefix == "" && fi.Attr.Mode == DefaultFileMode {
		// The top of a domain has no marker key to hold its attributes;
		// fill's default for a key without a trailing "/" is a file's.
		fi.Attr.Mode = DefaultDirMode
	}
	return fi.Attr
}

// Lookup says whether key is a file, a directory, or both. A marker key
// (zero bytes, ending in "/") is never a file. ErrNotFound when neither.
func (s *Space) Lookup(ctx context.Context, domain, key string) (LookupResult, error) {
	return s.lookup(ctx, domain, key, false)
}

// LookupPath is Lookup that also asks for the URL of one copy of a file
// (FileInfo.Path), for an open whose read would otherwise ask get_paths.
func (s *Space) LookupPath(ctx context.Context, domain, key string) (LookupResult, error) {
	return s.lookup(ctx, domain, key, true)
}

func (s *Space) lookup(ctx context.Context, domain, key string, withPath bool) (LookupResult, error) {
	if key == "" {
		// The empty segment at the top of a domain: keys starting with
		// "/" make it a directory; no key is empty.
		dir, err := s.hasPrefix(ctx, domain, "/")
		if err != nil {
			return LookupResult{}, err
		}
		if !dir {
			return LookupResult{}, fmt.Errorf("lookup %q: %w", key, ErrNotFound)
		}
		return LookupResult{Dir: true}, nil
	}
	if !s.noLookup.Load() {
		r, err := s.b.Lookup(ctx, domain, key, withPath)
		if err == nil {
			if r.File != nil {
				if IsMarker(key, r.File.Size) {
					r.File = nil
				} else {
					s.fill(domain, r.File)
				}
			}
			if r.File == nil && !r.Dir {
				return r, fmt.Errorf("lookup %q: %w", key, ErrNotFound)
			}
			return r, nil
		}
		if !errors.Is(err, ErrUnsupported) {
			return LookupResult{}, err
		}
		s.unsupported(&s.noLookup, "mogfs_lookup", err)
	}
	return s.lookupFallback(ctx, domain, key)
}

// lookupFallback asks file_info and list_keys at the same time.
func (s *Space) lookupFallback(ctx context.Context, domain, key string) (LookupResult, error) {
	var (
		r      LookupResult
		dirErr error
		wg     sync.WaitGroup
		dir    bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		dir, dirErr = s.hasPrefix(ctx, domain, key+"/")
	}()
	fi, err := s.b.FileInfo(ctx, domain, key)
	wg.Wait()
	switch {
	case err == nil:
		if !IsMarker(key, fi.Size) {
			s.fill(domain, &fi)
			r.File = &fi
		}
	case !errors.Is(err, ErrNotFound):
		return r, err
	}
	if dirErr != nil {
		return r, dirErr
	}
	r.Dir = dir
	if r.File == nil && !r.Dir {
		return r, fmt.Errorf("lookup %q: %w", key, ErrNotFound)
	}
	return r, nil
}

// hasPrefix reports whether some key starts with prefix (bytes compared:
// list_keys may also match keys that differ in case).
func (s *Space) hasPrefix(ctx context.Context, domain, prefix string) (bool, error) {
	after := ""
	for {
		keys, err := s.b.ListKeys(ctx, domain, prefix, after, 10)
		if err != nil {
			return false, err
		}
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				return true, nil
			}
		}
		if len(keys) < 10 {
			return false, nil
		}
		after = keys[len(keys)-1]
	}
}

// FileInfo is file_info of key, with its attributes completed (from the
// in-memory table or the defaults: file_info carries none).
func (s *Space) FileInfo(ctx context.Context, domain, key string) (FileInfo, error) {
	fi, err := s.b.FileInfo(ctx, domain, key)
	if err != nil {
		return fi, err
	}
	s.fill(domain, &fi)
	return fi, nil
}

// SetAttr changes key's mtime and/or mode and returns the resulting
// attributes (as far as known).
func (s *Space) SetAttr(ctx context.Context, domain, key string, u AttrUpdate) error {
	if !s.noSetAttr.Load() {
		err := s.b.SetAttr(ctx, domain, key, u)
		if err == nil || !errors.Is(err, ErrUnsupported) {
			return err
		}
		s.unsupported(&s.noSetAttr, "mogfs_set_attr", err)
	}
	k := attrKey(domain, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attrs[k]
	if !ok {
		a = Attr{Mtime: s.Epoch, Mode: DefaultFileMode}
		if strings.HasSuffix(key, "/") {
			a.Mode = DefaultDirMode
		}
	}
	s.attrs[k] = u.Apply(a)
	return nil
}

// forget drops the in-memory attributes of key.
func (s *Space) forget(domain, key string) {
	if !s.noSetAttr.Load() {
		return
	}
	s.mu.Lock()
	delete(s.attrs, attrKey(domain, key))
	s.mu.Unlock()
}

// move carries in-memory attributes over a rename.
func (s *Space) move(domain, from, to string) {
	if !s.noSetAttr.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.attrs, attrKey(domain, to))
	if a, ok := s.attrs[attrKey(domain, from)]; ok {
		delete(s.attrs, attrKey(domain, from))
		s.attrs[attrKey(domain, to)] = a
	}
}

// Features are what the tracker offers beyond the first mogfs commands
// (mogfs_features, asked once; a failure to ask is not remembered: the
// next call asks again).
func (s *Space) Features(ctx context.Context) Features {
	if f := s.features.Load(); f != nil {
		return *f
	}
	f, err := s.b.Features(ctx)
	switch {
	case err == nil:
		if f.MaxKey < MaxShortKey {
			f.MaxKey = MaxShortKey
		}
	case errors.Is(err, ErrUnsupported):
		f = Features{MaxKey: MaxShortKey}
	default:
		s.log.Warn("cannot ask the tracker what its mogfs commands do", "err", err)
		return Features{MaxKey: MaxShortKey}
	}
	s.features.Store(&f)
	return f
}

// MaxKey is the longest key the tracker takes.
func (s *Space) MaxKey(ctx context.Context) int { return s.Features(ctx).MaxKey }

// Link makes to another name of the file from (a hard link), with the
// attributes u (ctime). ErrUnsupported on a tracker without mogfs_link.
func (s *Space) Link(ctx context.Context, domain, from, to string, u AttrUpdate) (FileInfo, error) {
	if !s.Features(ctx).Links {
		return FileInfo{}, fmt.Errorf("link %q to %q: %w", from, to, ErrUnsupported)
	}
	fi, err := s.b.Link(ctx, domain, from, to, u)
	if err != nil {
		return fi, err
	}
	s.fill(domain, &fi)
	return fi, nil
}

// DataKey is the key that holds key's content: its surrogate dkey when
// known, key itself when short, else (a long key) found by a lookup.
func (s *Space) DataKey(ctx context.Context, domain, key, dkey string) (string, error) {
	if dkey != "" {
		return dkey, nil
	}
	if !IsLong(key) {
		return key, nil
	}
	r, err := s.b.Lookup(ctx, domain, key, false) // markers too
	if err != nil {
		return "", err
	}
	if r.File == nil || r.File.DKey == "" {
		return "", fmt.Errorf("data of %q: %w", key, ErrNotFound)
	}
	return r.File.DKey, nil
}

// Remove deletes key. A key that is already gone is not an error. With
// mogfs_delete it removes one name of a hard-linked file; else a long key
// goes with its surrogate (the tracker drops the name with it).
func (s *Space) Remove(ctx context.Context, domain, key string) error {
	var err error
	if s.Features(ctx).Links {
		err = s.b.DeleteName(ctx, domain, key)
	} else {
		dk, derr := s.DataKey(ctx, domain, key, "")
		if errors.Is(derr, ErrNotFound) {
			return nil
		}
		if derr != nil {
			return derr
		}
		err = s.b.Delete(ctx, domain, dk)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.forget(domain, key)
	return nil
}

// Rename renames the file from to to, and gives it the attributes u
// (rename(2) changes ctime). With replace an existing to is replaced
// (atomically with mogfs_rename, which sets u in the same transaction; on
// an original tracker by a delete followed by the rename); without it
// ErrExists is returned.
func (s *Space) Rename(ctx context.Context, domain, from, to string, replace bool, u AttrUpdate) error {
	if !replace {
		if err := s.b.Rename(ctx, domain, from, to); err != nil {
			return err
		}
		s.move(domain, from, to)
		return s.setAfterRename(ctx, domain, to, u)
	}
	if !s.noRename.Load() {
		err := s.b.RenameReplace(ctx, domain, from, to, u)
		if err == nil {
			s.move(domain, from, to)
			return nil
		}
		if !errors.Is(err, ErrUnsupported) {
			return err
		}
		s.unsupported(&s.noRename, "mogfs_rename", err)
	}
	err := s.b.Rename(ctx, domain, from, to)
	if errors.Is(err, ErrExists) {
		s.log.Info("replacing rename is not atomic on this tracker", "from", from, "to", to)
		if err := s.b.Delete(ctx, domain, to); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		err = s.b.Rename(ctx, domain, from, to)
	}
	if err != nil {
		return err
	}
	s.move(domain, from, to)
	return s.setAfterRename(ctx, domain, to, u)
}

// setAfterRename records u on a key renamed by the original rename; the
// rename itself succeeded, so a failure here is only logged.
func (s *Space) setAfterRename(ctx context.Context, domain, key string, u AttrUpdate) error {
	if u.Empty() {
		return nil
	}
	if err := s.SetAttr(ctx, domain, key, u); err != nil {
		s.log.Warn("renamed, but its attributes not recorded", "domain", domain, "key", key, "err", err)
	}
	return nil
}

// RenameDir moves every key under the prefix from (ending in "/") to the
// prefix to. The target must hold nothing but its marker (ErrNotEmpty).
func (s *Space) RenameDir(ctx context.Context, domain, from, to string) error {
	if from == "" || to == "" || !strings.HasSuffix(from, "/") || !strings.HasSuffix(to, "/") ||
		strings.HasPrefix(to, from) {
		return fmt.Errorf("rename %q to %q: %w", from, to, ErrInvalid)
	}
	if !s.noRenamePrefix.Load() {
		_, err := s.b.RenamePrefix(ctx, domain, from, to)
		if err == nil || !errors.Is(err, ErrUnsupported) {
			return err
		}
		s.unsupported(&s.noRenamePrefix, "mogfs_rename_prefix", err)
	}
	empty, err := s.IsEmpty(ctx, domain, to)
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("rename %q to %q: %w", from, to, ErrNotEmpty)
	}
	if err := s.Remove(ctx, domain, to); err != nil {
		return err
	}
	s.log.Info("directory rename is key by key on this tracker", "from", from, "to", to)
	after := ""
	for {
		keys, err := s.b.ListKeys(ctx, domain, from, after, PageSize)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, from) {
				continue
			}
			nk := to + k[len(from):]
			if err := s.b.Rename(ctx, domain, k, nk); err != nil {
				return fmt.Errorf("rename %q to %q: %w", k, nk, err)
			}
			s.move(domain, k, nk)
		}
		if len(keys) < PageSize {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// Mkdir records the directory with this prefix by storing its marker key
// (zero bytes) with the attributes u.
func (s *Space) Mkdir(ctx context.Context, domain, prefix, class string, u AttrUpdate) error {
	if u.Mtime == nil {
		now := time.Now()
		u.Mtime = &now
	}
	_, err := s.store(ctx, Target{Domain: domain, Key: prefix, Class: class, Attr: u}, "")
	return err
}

// MakeNode stores a key of a few bytes (a symbolic link's target, or
// nothing for a special file) with its attributes, which must record its
// type: on a tracker that keeps no attributes it gives ErrUnsupported and
// stores nothing, since the key would read as a plain file.
func (s *Space) MakeNode(ctx context.Context, t Target, content string) (Stored, error) {
	if s.noSetAttr.Load() || s.noCreateClose.Load() {
		return Stored{}, fmt.Errorf("make %q: %w", t.Key, ErrUnsupported)
	}
	return s.store(ctx, t, content)
}

// store stores content under t.Key, and t.Attr with it or, when the
// tracker lacks mogfs_create_close, after it.
func (s *Space) store(ctx context.Context, t Target, content string) (Stored, error) {
	st, err := s.Store(ctx, t, strings.NewReader(content), int64(len(content)))
	if err != nil || st.AttrSet || t.Attr.Empty() {
		return st, err
	}
	return st, s.SetAttr(ctx, t.Domain, t.Key, t.Attr)
}

// Rmdir removes the empty directory with this prefix (its marker).
func (s *Space) Rmdir(ctx context.Context, domain, prefix string) error {
	empty, err := s.IsEmpty(ctx, domain, prefix)
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("rmdir %q: %w", prefix, ErrNotEmpty)
	}
	return s.Remove(ctx, domain, prefix)
}

// Open returns key's paths for reading; dkey is its surrogate, if known,
// for a long key or a hard-linked file. A surrogate gone since (or one
// not known) is looked up again.
func (s *Space) Open(ctx context.Context, domain, key, dkey string, size int64) (Remote, error) {
	dk, err := s.DataKey(ctx, domain, key, dkey)
	if err != nil {
		return nil, err
	}
	r, err := s.b.Open(ctx, domain, dk, size)
	if !errors.Is(err, ErrNotFound) {
		return r, err
	}
	lr, lerr := s.b.Lookup(ctx, domain, key, false)
	if lerr != nil || lr.File == nil {
		return nil, err
	}
	again := key
	if lr.File.DKey != "" {
		again = lr.File.DKey
	}
	if again == dk {
		return nil, err
	}
	return s.b.Open(ctx, domain, again, size)
}

// Known returns key at paths already known, without asking the tracker.
func (s *Space) Known(domain, key string, paths []string, size int64) Remote {
	return s.b.Known(domain, key, paths, size)
}

// Store uploads r under t.Key (see Backend.Store). The attributes go with
// the content when the tracker has mogfs_create_close (Stored.AttrSet);
// otherwise the caller sets them after. A tracker found without it after
// the upload gets the content again, when r can be rewound, through
// create_close.
func (s *Space) Store(ctx context.Context, t Target, r io.Reader, size int64) (Stored, error) {
	if IsLong(t.Key) || t.DKey != "" {
		// A long key or a hard-linked file: to its surrogate, always
		// with mogfs_create_close and the name, so that the name row
		// names this surrogate whatever happened to it since.
		if t.DKey == "" {
			t.DKey = NewSurrogate()
		}
		return s.b.Store(ctx, t, r, size)
	}
	if t.Attr.Empty() || s.noSetAttr.Load() || s.noCreateClose.Load() {
		t.Attr = AttrUpdate{}
		return s.b.Store(ctx, t, r, size)
	}
	st, err := s.b.Store(ctx, t, r, size)
	if !errors.Is(err, ErrUnsupported) {
		return st, err
	}
	s.unsupported(&s.noCreateClose, "mogfs_create_close", err)
	rs, ok := r.(io.Seeker)
	if !ok {
		return Stored{}, err
	}
	if _, serr := rs.Seek(0, io.SeekStart); serr != nil {
		return Stored{}, err
	}
	t.Attr = AttrUpdate{}
	return s.b.Store(ctx, t, r, size)
}

// NewSurrogate returns a new surrogate key for a long key: 128 random
// bits under the hidden directory.
func NewSurrogate() string {
	var b [16]byte
	rand.Read(b[:])
	return surrogatePrefix + hex.EncodeToString(b[:])
}
