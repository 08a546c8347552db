package mogfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// ClientBackend implements keyspace.Backend with the project's client
// library: the original commands through its methods, the mogfs commands
// (docs/mogfs.md §8) through Client.Do.
type ClientBackend struct {
	c *client.Client

	mu      sync.Mutex
	domains map[string]*client.Client
}

var _ keyspace.Backend = (*ClientBackend)(nil)

// NewClientBackend returns a backend over c (whatever its domain).
func NewClientBackend(c *client.Client) *ClientBackend {
	return &ClientBackend{c: c, domains: map[string]*client.Client{}}
}

func (b *ClientBackend) in(domain string) *client.Client {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.domains[domain]
	if !ok {
		c = b.c.WithDomain(domain)
		b.domains[domain] = c
	}
	return c
}

// classify wraps a client error with the keyspace error it stands for.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch client.Code(err) {
	case "unknown_key", "invalid_key", "unreg_domain", "domain_not_found", "none_match":
		kind = keyspace.ErrNotFound
	case "key_exists", "domain_exists":
		kind = keyspace.ErrExists
	case "dir_not_empty", "domain_has_files", "domain_has_classes", "domain_not_empty":
		kind = keyspace.ErrNotEmpty
	case "unknown_command":
		kind = keyspace.ErrUnsupported
	case "key_too_long":
		kind = keyspace.ErrTooLong
	case "bad_params", "no_key", "unreg_class", "class_not_found", "no_class":
		kind = keyspace.ErrInvalid
	case "no_devices":
		kind = keyspace.ErrNoSpace
	}
	if kind == nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, kind, err)
}

// Domains implements keyspace.Backend.
func (b *ClientBackend) Domains(ctx context.Context) ([]string, error) {
	ds, err := b.c.Domains(ctx)
	if err != nil {
		return nil, classify("get_domains", err)
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out, nil
}

// CreateDomain implements keyspace.Backend.
func (b *ClientBackend) CreateDomain(ctx context.Context, domain string) error {
	return classify("create_domain "+domain, admin.New(b.c).CreateDomain(ctx, domain))
}

// DeleteDomain implements keyspace.Backend.
func (b *ClientBackend) DeleteDomain(ctx context.Context, domain string) error {
	return classify("delete_domain "+domain, admin.New(b.c).DeleteDomain(ctx, domain))
}

// FileInfo implements keyspace.Backend.
func (b *ClientBackend) FileInfo(ctx context.Context, domain, key string) (keyspace.FileInfo, error) {
	fi, err := b.in(domain).FileInfo(ctx, key)
	if err != nil {
		return keyspace.FileInfo{}, classify("file_info "+strconv.Quote(key), err)
	}
	return keyspace.FileInfo{Key: key, Fid: fi.FID, Size: fi.Length, Class: fi.Class, DevCount: fi.DevCount, Checksum: fi.Checksum}, nil
}

// ListKeys implements keyspace.Backend.
func (b *ClientBackend) ListKeys(ctx context.Context, domain, prefix, after string, limit int) ([]string, error) {
	keys, _, err := b.in(domain).ListKeys(ctx, prefix, after, limit)
	if client.IsNoneMatch(err) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("list_keys "+strconv.Quote(prefix), err)
	}
	return keys, nil
}

type remote struct{ f *client.File }

func (r remote) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return r.f.ReadAtContext(ctx, p, off)
}

func (r remote) Paths() []string { return r.f.Paths() }

// Open implements keyspace.Backend.
func (b *ClientBackend) Open(ctx context.Context, domain, key string, size int64) (keyspace.Remote, error) {
	c := b.in(domain)
	paths, err := c.Paths(ctx, key, client.PathsOptions{Count: 3})
	if err != nil {
		return nil, classify("get_paths "+strconv.Quote(key), err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("get_paths %q: %w", key, client.ErrNoPaths)
	}
	return remote{c.FileFromPaths(key, paths, size)}, nil
}

// Known implements keyspace.Backend.
func (b *ClientBackend) Known(domain, key string, paths []string, size int64) keyspace.Remote {
	return remote{b.in(domain).FileFromPaths(key, paths, size)}
}

// Store implements keyspace.Backend.
func (b *ClientBackend) Store(ctx context.Context, t keyspace.Target, r io.Reader, size int64) (keyspace.Stored, error) {
	// The attributes go with the content: through a fast-path node that
	// takes them, else with mogfs_create_close (docs/fastpath.md §10.3a).
	commit := client.Commit{Attrs: attrArgs(t.Attr)}
	key := t.Key
	if t.DKey != "" {
		// A long key: its surrogate, named in the same commit (always
		// the three-step way).
		key = t.DKey
		commit.Command, commit.Args = "mogfs_create_close", []string{"name", t.Key}
	}
	st, err := b.in(t.Domain).StoreWith(ctx, key, t.Class, r, size, commit)
	if err != nil {
		return keyspace.Stored{}, classify("store", err)
	}
	return keyspace.Stored{DKey: t.DKey, Size: st.Size, Fid: st.FID, Path: st.Path,
		AttrSet: commit.Command != "" || len(commit.Attrs) > 0}, nil
}

// Features implements keyspace.Backend with mogfs_features.
func (b *ClientBackend) Features(ctx context.Context) (keyspace.Features, error) {
	r, err := b.c.Do(ctx, "mogfs_features", map[string]string{})
	if err != nil {
		return keyspace.Features{}, classify("mogfs_features", err)
	}
	f := keyspace.Features{MaxKey: keyspace.MaxShortKey, Links: r["links"] == "1"}
	if r["long_keys"] == "1" {
		f.MaxKey = int(atoi64(r["max_key"]))
	}
	return f, nil
}

// Link implements keyspace.Backend with mogfs_link.
func (b *ClientBackend) Link(ctx context.Context, domain, from, to string, u keyspace.AttrUpdate) (keyspace.FileInfo, error) {
	args := map[string]string{"domain": domain, "from_key": from, "to_key": to}
	kv := attrArgs(u)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	r, err := b.c.Do(ctx, "mogfs_link", args)
	if err != nil {
		return keyspace.FileInfo{}, classify(fmt.Sprintf("mogfs_link %q to %q", from, to), err)
	}
	return fileFields(r, "", to), nil
}

// DeleteName implements keyspace.Backend with mogfs_delete.
func (b *ClientBackend) DeleteName(ctx context.Context, domain, key string) error {
	_, err := b.c.Do(ctx, "mogfs_delete", map[string]string{"domain": domain, "key": key})
	return classify("mogfs_delete "+strconv.Quote(key), err)
}

// attrArgs are the attribute arguments of u (docs/mogfs.md §8.5).
func attrArgs(u keyspace.AttrUpdate) []string {
	var kv []string
	for _, t := range []struct {
		name string
		t    *time.Time
	}{{"mtime", u.Mtime}, {"atime", u.Atime}, {"ctime", u.Ctime}} {
		if t.t != nil {
			kv = append(kv, t.name, strconv.FormatInt(t.t.Unix(), 10), t.name+"_nsec", strconv.Itoa(t.t.Nanosecond()))
		}
	}
	for _, n := range []struct {
		name string
		v    *uint32
	}{{"mode", u.Mode}, {"uid", u.UID}, {"gid", u.GID}, {"rdev", u.Rdev}} {
		if n.v != nil {
			kv = append(kv, n.name, strconv.FormatUint(uint64(*n.v), 10))
		}
	}
	return kv
}

// Delete implements keyspace.Backend.
func (b *ClientBackend) Delete(ctx context.Context, domain, key string) error {
	return classify("delete "+strconv.Quote(key), b.in(domain).Delete(ctx, key))
}

// Rename implements keyspace.Backend.
func (b *ClientBackend) Rename(ctx context.Context, domain, from, to string) error {
	return classify(fmt.Sprintf("rename %q to %q", from, to), b.in(domain).Rename(ctx, from, to))
}

// UpdateClass implements keyspace.Backend.
func (b *ClientBackend) UpdateClass(ctx context.Context, domain, key, class string) error {
	return classify("updateclass "+strconv.Quote(key), b.in(domain).UpdateClass(ctx, key, class))
}

// Usage implements keyspace.Backend: the devices that are not dead.
func (b *ClientBackend) Usage(ctx context.Context) (keyspace.Usage, error) {
	devs, err := admin.New(b.c).Devices(ctx)
	if err != nil {
		return keyspace.Usage{}, classify("get_devices", err)
	}
	var u keyspace.Usage
	for _, d := range devs {
		if d.Status == "dead" {
			continue
		}
		u.TotalBytes += d.MBTotal << 20
		free := d.MBFree
		if free < 0 {
			free = d.MBTotal - d.MBUsed
		}
		if free > 0 {
			u.FreeBytes += free << 20
		}
	}
	return u, nil
}

// fileFields reads the file fields of docs/mogfs.md §8.2 after prefix p.
func fileFields(r map[string]string, p, key string) keyspace.FileInfo {
	fi := keyspace.FileInfo{
		Key:      key,
		Fid:      atoi64(r[p+"fid"]),
		Size:     atoi64(r[p+"size"]),
		Class:    r[p+"class"],
		DevCount: int(atoi64(r[p+"devcount"])),
		DKey:     r[p+"dkey"],
		Nlink:    int(atoi64(r[p+"nlink"])),
	}
	fi.Attr = attrFields(r, p)
	return fi
}

func attrFields(r map[string]string, p string) keyspace.Attr {
	mt, okT := r[p+"mtime"]
	md, okM := r[p+"mode"]
	if !okT || !okM || mt == "" || md == "" {
		return keyspace.Attr{}
	}
	a := keyspace.Attr{
		Set:   true,
		Mtime: time.Unix(atoi64(mt), atoi64(r[p+"mtime_nsec"])),
		Mode:  uint32(atoi64(md)) & 0o177777,
		Rdev:  uint32(atoi64(r[p+"rdev"])),
	}
	if v, ok := r[p+"uid"]; ok && v != "" {
		a.UID, a.HasUID = uint32(atoi64(v)), true
	}
	if v, ok := r[p+"gid"]; ok && v != "" {
		a.GID, a.HasGID = uint32(atoi64(v)), true
	}
	if v, ok := r[p+"atime"]; ok && v != "" {
		a.Atime = time.Unix(atoi64(v), atoi64(r[p+"atime_nsec"]))
	}
	if v, ok := r[p+"ctime"]; ok && v != "" {
		a.Ctime = time.Unix(atoi64(v), atoi64(r[p+"ctime_nsec"]))
	}
	return a
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Lookup implements keyspace.Backend with mogfs_lookup.
func (b *ClientBackend) Lookup(ctx context.Context, domain, key string, withPath bool) (keyspace.LookupResult, error) {
	args := map[string]string{"domain": domain, "key": key}
	if withPath {
		// One copy: a read that finds it gone asks get_paths for all.
		args["pathcount"] = "1"
	}
	r, err := b.c.Do(ctx, "mogfs_lookup", args)
	if err != nil {
		return keyspace.LookupResult{}, classify("mogfs_lookup "+strconv.Quote(key), err)
	}
	return parseLookup(r, key), nil
}

// parseLookup reads a mogfs_lookup reply (docs/mogfs.md §8.3).
func parseLookup(r map[string]string, key string) keyspace.LookupResult {
	var out keyspace.LookupResult
	if r["file"] == "1" {
		fi := fileFields(r, "", key)
		fi.Path = r["path1"]
		out.File = &fi
	}
	out.Dir = r["dir"] == "1"
	out.DirAttr = attrFields(r, "dir_")
	return out
}

// ListDir implements keyspace.Backend with mogfs_list_dir.
func (b *ClientBackend) ListDir(ctx context.Context, domain, prefix, after string, limit int) (keyspace.DirPage, error) {
	args := map[string]string{"domain": domain, "prefix": prefix, "limit": strconv.Itoa(limit)}
	if after != "" {
		args["after"] = after
	}
	r, err := b.c.Do(ctx, "mogfs_list_dir", args)
	if err != nil {
		return keyspace.DirPage{}, classify("mogfs_list_dir "+strconv.Quote(prefix), err)
	}
	return parseListDir(r, prefix)
}

// parseListDir reads a mogfs_list_dir reply (docs/mogfs.md §8.4).
//
// The reply's values may be substrings of the whole reply line (hundreds
// of KiB): the strings that outlive the page (names, which become inode
// names, and class names) are copied, so that an inode does not keep a
// whole line alive.
func parseListDir(r map[string]string, prefix string) (keyspace.DirPage, error) {
	n := int(atoi64(r["entry_count"]))
	page := keyspace.DirPage{Entries: make([]keyspace.DirEntry, 0, n), Next: r["next_after"]}
	classes := map[string]string{}
	for i := 1; i <= n; i++ {
		p := "entry_" + strconv.Itoa(i) + "_"
		name := strings.Clone(r[p+"name"])
		switch r[p+"type"] {
		case "d":
			page.Entries = append(page.Entries, keyspace.DirEntry{Name: name, Dir: true,
				Info: keyspace.FileInfo{Key: prefix + name + "/", Attr: attrFields(r, p)}})
		case "f":
			fi := fileFields(r, p, prefix+name)
			c, ok := classes[fi.Class]
			if !ok {
				c = strings.Clone(fi.Class)
				classes[c] = c
			}
			fi.Class = c
			page.Entries = append(page.Entries, keyspace.DirEntry{Name: name, Info: fi, HasInfo: true})
		default:
			return keyspace.DirPage{}, fmt.Errorf("mogfs_list_dir %q: entry %d has type %q", prefix, i, r[p+"type"])
		}
	}
	return page, nil
}

// SetAttr implements keyspace.Backend with mogfs_set_attr.
func (b *ClientBackend) SetAttr(ctx context.Context, domain, key string, u keyspace.AttrUpdate) error {
	args := map[string]string{"domain": domain, "key": key}
	kv := attrArgs(u)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	_, err := b.c.Do(ctx, "mogfs_set_attr", args)
	return classify("mogfs_set_attr "+strconv.Quote(key), err)
}

// RenameReplace implements keyspace.Backend with mogfs_rename.
func (b *ClientBackend) RenameReplace(ctx context.Context, domain, from, to string, u keyspace.AttrUpdate) error {
	args := map[string]string{"domain": domain, "from_key": from, "to_key": to}
	kv := attrArgs(u)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	_, err := b.c.Do(ctx, "mogfs_rename", args)
	return classify(fmt.Sprintf("mogfs_rename %q to %q", from, to), err)
}

// RenamePrefix implements keyspace.Backend with mogfs_rename_prefix.
func (b *ClientBackend) RenamePrefix(ctx context.Context, domain, from, to string) (int, error) {
	r, err := b.c.Do(ctx, "mogfs_rename_prefix", map[string]string{"domain": domain, "from_prefix": from, "to_prefix": to})
	if err != nil {
		return 0, classify(fmt.Sprintf("mogfs_rename_prefix %q to %q", from, to), err)
	}
	return int(atoi64(r["count"])), nil
}

// isNoPaths reports a key without readable copies.
func isNoPaths(err error) bool { return errors.Is(err, client.ErrNoPaths) }
