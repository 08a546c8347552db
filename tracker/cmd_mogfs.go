package tracker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The mogfs commands (docs/mogfs.md §8): mogfs_lookup, mogfs_list_dir,
// mogfs_set_attr, mogfs_create_close, mogfs_rename and mogfs_rename_prefix. The original has
// none of them and no original command changes. They are offered only
// when the store implements store.MogfsStore and its mogfs_attr table is
// there (created at start when missing); otherwise they answer
// unknown_command, as an original tracker does, and mogfs falls back.

const (
	mogfsListDefault = 1000  // mogfs_list_dir entries per page by default
	mogfsListMax     = 10000 // and at most
	mogfsFileMode    = 0o644 // mode of a new attribute row without one
	mogfsDirMode     = 0o755 // the same for a key ending in "/"
)

// startMogfs creates mogfs_attr when missing and registers the mogfs
// commands; Run calls it before serving. A store that cannot has them
// answer unknown_command.
func (s *Server) startMogfs(ctx context.Context) {
	ms, ok := s.st.(store.MogfsStore)
	if !ok {
		return
	}
	if err := ms.SetupMogfs(ctx); err != nil {
		s.log.Warn("mogfs commands disabled: table mogfs_attr cannot be set up", "err", err)
		return
	}
	for name, h := range map[string]func(context.Context, *request, store.MogfsStore) reply{
		"mogfs_lookup":        s.cmdMogfsLookup,
		"mogfs_list_dir":      s.cmdMogfsListDir,
		"mogfs_set_attr":      s.cmdMogfsSetAttr,
		"mogfs_create_close":  s.cmdMogfsCreateClose,
		"mogfs_rename":        s.cmdMogfsRename,
		"mogfs_rename_prefix": s.cmdMogfsRenamePrefix,
		"mogfs_features":      s.cmdMogfsFeatures,
		"mogfs_link":          s.cmdMogfsLink,
		"mogfs_delete":        s.cmdMogfsDelete,
		// fastpath_commit with attributes (docs/fastpath.md §10.3a).
		"mogfs_fastpath_commit": func(ctx context.Context, r *request, _ store.MogfsStore) reply {
			return s.fastpathCommit(ctx, r, true)
		},
	} {
		s.handlers[name] = func(ctx context.Context, r *request) reply { return h(ctx, r, ms) }
	}
}

// mogfsFileFields adds the file fields of docs/mogfs.md §8.2 after prefix p.
func mogfsFileFields(a wire.Args, p, class string, f store.MogfsFile) {
	a[p+"fid"] = strconv.FormatInt(f.FID, 10)
	a[p+"size"] = strconv.FormatInt(f.Length, 10)
	a[p+"class"] = class
	a[p+"devcount"] = strconv.Itoa(f.DevCount)
	if strings.HasPrefix(f.Key, store.SurrogatePrefix) {
		a[p+"dkey"] = f.Key // a long key's surrogate: get_paths and uploads use it
	}
	if f.Nlink > 1 {
		a[p+"nlink"] = strconv.Itoa(f.Nlink)
	}
	mogfsAttrFields(a, p, f.Attr)
}

// cmdMogfsFeatures tells mogfs what this tracker's mogfs commands can do:
// long keys (docs/mogfs-names.md) up to max_key bytes.
func (s *Server) cmdMogfsFeatures(ctx context.Context, r *request, _ store.MogfsStore) reply {
	return okReply(wire.Args{"long_keys": "1", "links": "1", "max_key": strconv.Itoa(store.MaxLongKeyLen)})
}

// cmdMogfsLink makes to a new name of the file from (a hard link).
func (s *Server) cmdMogfsLink(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, from, to, u, rep, ok := s.mogfsFromTo(r)
	if !ok {
		return rep
	}
	f, err := ms.MogfsLink(ctx, dom.ID, from, to, u)
	s.cache.InvalidateKey(dom.ID, from)
	s.cache.InvalidateKey(dom.ID, to)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("unknown_key", "")
	case errors.Is(err, store.ErrExists):
		return errReply("key_exists", "")
	case err != nil:
		return s.failure(r, err)
	}
	a := wire.Args{}
	mogfsFileFields(a, "", s.cl.Snapshot().ClassName(dom.ID, f.ClassID), f)
	s.log.Debug("file linked", "domain", dom.Name, "key", from, "to", to, "fid", f.FID, "dkey", f.Key)
	return okReply(a)
}

// cmdMogfsDelete deletes one name: a key as delete does, or one name of
// a hard-linked file (the file goes with its last name).
func (s *Server) cmdMogfsDelete(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	fid, err := ms.MogfsDelete(ctx, dom.ID, key)
	s.cache.InvalidateKey(dom.ID, key)
	if fid != 0 {
		s.cache.InvalidateFID(fid)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("unknown_key", "")
	case err != nil:
		return s.failure(r, err)
	}
	s.log.Debug("name deleted", "domain", dom.Name, "key", key, "fid", fid)
	return okReply(nil)
}

// mogfsAttrFields adds the attribute fields when there is a row: mtime,
// mtime_nsec and mode always, the others when recorded.
func mogfsAttrFields(a wire.Args, p string, at *store.MogfsAttr) {
	if at == nil {
		return
	}
	a[p+"mtime"] = strconv.FormatInt(at.Mtime, 10)
	a[p+"mtime_nsec"] = strconv.Itoa(at.MtimeNsec)
	a[p+"mode"] = strconv.Itoa(at.Mode)
	if at.HasUID {
		a[p+"uid"] = strconv.FormatUint(uint64(at.UID), 10)
	}
	if at.HasGID {
		a[p+"gid"] = strconv.FormatUint(uint64(at.GID), 10)
	}
	if at.HasAtime {
		a[p+"atime"] = strconv.FormatInt(at.Atime, 10)
		a[p+"atime_nsec"] = strconv.Itoa(at.AtimeNsec)
	}
	if at.HasCtime {
		a[p+"ctime"] = strconv.FormatInt(at.Ctime, 10)
		a[p+"ctime_nsec"] = strconv.Itoa(at.CtimeNsec)
	}
	if at.Rdev != 0 {
		a[p+"rdev"] = strconv.FormatInt(at.Rdev, 10)
	}
}

func (s *Server) cmdMogfsLookup(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	l, err := ms.MogfsLookup(ctx, dom.ID, key)
	if err != nil {
		return s.failure(r, err)
	}
	if l.File == nil && !l.Dir {
		return errReply("unknown_key", "")
	}
	a := wire.Args{"file": "0", "dir": "0"}
	if l.File != nil {
		a["file"] = "1"
		mogfsFileFields(a, "", s.cl.Snapshot().ClassName(dom.ID, l.File.ClassID), *l.File)
		// pathcount=N: the copies too, so that the read that follows
		// needs no get_paths (docs/mogfs.md §8.3).
		if err := s.pathFields(ctx, r, a, l.File.FID, l.File.Length); err != nil {
			return s.failure(r, err)
		}
	}
	if l.Dir {
		a["dir"] = "1"
		mogfsAttrFields(a, "dir_", l.DirAttr)
	}
	return okReply(a)
}

func (s *Server) cmdMogfsListDir(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	prefix, after := r.arg("prefix"), r.arg("after")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		return errReply("bad_params", "prefix must be empty or end with /")
	}
	if after != "" && !strings.HasPrefix(after, prefix) {
		return errReply("bad_params", "after must start with prefix")
	}
	limit := mogfsListDefault
	if v := r.arg("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > mogfsListMax {
			return errReply("bad_params", "limit must be a number from 1 to "+strconv.Itoa(mogfsListMax))
		}
		limit = n
	}
	page, err := ms.MogfsListDir(ctx, dom.ID, prefix, after, limit)
	if err != nil {
		return s.failure(r, err)
	}
	snap := s.cl.Snapshot()
	a := make(wire.Args, 2+len(page.Entries)*9)
	a["entry_count"] = strconv.Itoa(len(page.Entries))
	for i, e := range page.Entries {
		p := "entry_" + strconv.Itoa(i+1) + "_"
		a[p+"name"] = e.Name
		if e.Dir {
			a[p+"type"] = "d"
			mogfsAttrFields(a, p, e.Attr)
			continue
		}
		a[p+"type"] = "f"
		mogfsFileFields(a, p, snap.ClassName(dom.ID, e.File.ClassID), e.File)
	}
	if page.Next != "" {
		a["next_after"] = page.Next
	}
	return okReply(a)
}

// mogfsNumber reads an optional decimal argument within [lo, hi]; ok is
// false for a value that is not such a number.
func mogfsNumber(r *request, k string, lo, hi int64) (n int64, set, ok bool) {
	v := r.arg(k)
	if v == "" {
		return 0, false, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, true, false
	}
	return n, true, true
}

// mogfsModeTypes are the file types a mode argument may carry (S_IFMT):
// none (the type stays as it is), FIFO, character device, directory,
// block device, regular file, symbolic link, socket.
var mogfsModeTypes = map[int64]bool{0: true, 0o010000: true, 0o020000: true, 0o040000: true,
	0o060000: true, 0o100000: true, 0o120000: true, 0o140000: true}

// mogfsAttrArgs reads the attribute arguments of mogfs_set_attr and
// mogfs_create_close for key (docs/mogfs.md §8.5), with the defaults of a
// new row; an error is the reply to give.
func mogfsAttrArgs(r *request, key string) (store.MogfsAttrUpdate, *reply) {
	return mogfsItemAttrArgs(r, "", key)
}

// mogfsItemAttrArgs is mogfsAttrArgs for the arguments named with suffix
// sfx: "" for mogfs_create_close's, "_<i>" for item i of
// mogfs_fastpath_commit (docs/fastpath.md §10.3a).
func mogfsItemAttrArgs(r *request, sfx, key string) (store.MogfsAttrUpdate, *reply) {
	bad := func(text string) (store.MogfsAttrUpdate, *reply) {
		rep := errReply("bad_params", text)
		return store.MogfsAttrUpdate{}, &rep
	}
	const maxU32 = 1<<32 - 1
	var u store.MogfsAttrUpdate
	a := &u.Attr
	for _, f := range []struct {
		name   string
		lo, hi int64
		set    *bool
		apply  func(int64)
		text   string
	}{
		{"mtime", -1 << 63, 1<<63 - 1, &u.SetMtime, func(n int64) { a.Mtime = n }, "mtime must be a number of seconds"},
		{"atime", -1 << 63, 1<<63 - 1, &u.SetAtime, func(n int64) { a.Atime = n }, "atime must be a number of seconds"},
		{"ctime", -1 << 63, 1<<63 - 1, &u.SetCtime, func(n int64) { a.Ctime = n }, "ctime must be a number of seconds"},
		{"mode", 0, 0o177777, &u.SetMode, func(n int64) { a.Mode = int(n) }, "mode must be a decimal number from 0 to 65535 with a valid file type"},
		{"uid", 0, maxU32, &u.SetUID, func(n int64) { a.UID = uint32(n) }, "uid must be a number from 0 to 4294967295"},
		{"gid", 0, maxU32, &u.SetGID, func(n int64) { a.GID = uint32(n) }, "gid must be a number from 0 to 4294967295"},
		{"rdev", 0, 1<<63 - 1, &u.SetRdev, func(n int64) { a.Rdev = n }, "rdev must be a non-negative number"},
	} {
		n, set, ok := mogfsNumber(r, f.name+sfx, f.lo, f.hi)
		if !ok || f.name == "mode" && !mogfsModeTypes[n&store.ModeType] {
			return bad(f.text)
		}
		*f.set = set
		f.apply(n)
	}
	for _, t := range []struct {
		name string
		has  bool
		nsec *int
	}{{"mtime", u.SetMtime, &a.MtimeNsec}, {"atime", u.SetAtime, &a.AtimeNsec}, {"ctime", u.SetCtime, &a.CtimeNsec}} {
		n, set, ok := mogfsNumber(r, t.name+"_nsec"+sfx, 0, 999999999)
		switch {
		case !ok:
			return bad(t.name + "_nsec must be a number from 0 to 999999999")
		case set && !t.has:
			return bad(t.name + "_nsec needs " + t.name)
		}
		*t.nsec = int(n)
	}
	a.HasUID, a.HasGID, a.HasAtime, a.HasCtime = u.SetUID, u.SetGID, u.SetAtime, u.SetCtime
	now := time.Now()
	u.Default = store.MogfsAttr{Mtime: now.Unix(), MtimeNsec: now.Nanosecond(), Mode: mogfsFileMode}
	if strings.HasSuffix(key, "/") {
		u.Default.Mode = mogfsDirMode
	}
	return u, nil
}

func (s *Server) cmdMogfsSetAttr(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	u, bad := mogfsAttrArgs(r, key)
	if bad != nil {
		return *bad
	}
	if u.Empty() {
		return errReply("bad_params", "nothing to set: give mtime, mode, uid, gid, atime, ctime or rdev")
	}
	fid, err := ms.MogfsSetAttr(ctx, dom.ID, key, u)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("unknown_key", "")
	case err != nil:
		return s.failure(r, err)
	}
	return okReply(wire.Args{"fid": strconv.FormatInt(fid, 10)})
}

// cmdMogfsCreateClose is create_close that also writes the new fid's
// mogfs_attr row in the same transaction: mogfs commits a file's content
// and its mtime and mode in one round trip instead of two.
func (s *Server) cmdMogfsCreateClose(ctx context.Context, r *request, _ store.MogfsStore) reply {
	key, _ := r.key("key")
	if name := r.arg("name"); name != "" {
		switch {
		case len(name) > store.MaxLongKeyLen:
			return errReply("bad_params", fmt.Sprintf("name must be a key of at most %d bytes", store.MaxLongKeyLen))
		case !strings.HasPrefix(key, store.SurrogatePrefix):
			return errReply("bad_params", "a name needs a key under "+store.SurrogatePrefix)
		}
		key = name
	}
	u, bad := mogfsAttrArgs(r, key)
	if bad != nil {
		return *bad
	}
	attr := u.Row()
	return s.createClose(ctx, r, true, &attr, nil)
}

// mogfsLongName is the long key a mogfs_create_close names (its "name"
// argument), "" for none or for create_close.
func mogfsLongName(r *request, attr *store.MogfsAttr) string {
	if attr == nil {
		return ""
	}
	return r.arg("name")
}

// mogfsFromTo reads the arguments of mogfs_rename and mogfs_link: the
// domain, from_key, to_key, and the attribute arguments (mogfs sends
// ctime, which rename(2) and link(2) change), for from's file; !ok with
// the reply to give.
func (s *Server) mogfsFromTo(r *request) (dom *cluster.Domain, from, to string, u store.MogfsAttrUpdate, rep reply, ok bool) {
	dom, rep, ok = s.checkDomain(r)
	if !ok {
		return
	}
	from, ok1 := r.key("from_key")
	to, ok2 := r.key("to_key")
	switch {
	case !ok1 || !ok2:
		return nil, "", "", u, errReply("no_key", ""), false
	case len(to) > store.MaxLongKeyLen:
		return nil, "", "", u, errReply("key_too_long", ""), false
	}
	u, bad := mogfsAttrArgs(r, from)
	if bad != nil {
		return nil, "", "", u, *bad, false
	}
	return dom, from, to, u, reply{}, true
}

func (s *Server) cmdMogfsRename(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, from, to, u, rep, ok := s.mogfsFromTo(r)
	if !ok {
		return rep
	}
	res, err := ms.MogfsRename(ctx, dom.ID, from, to, u)
	s.cache.InvalidateKey(dom.ID, from)
	s.cache.InvalidateKey(dom.ID, to)
	if res.FID != 0 {
		s.cache.InvalidateFID(res.FID)
	}
	if res.ReplacedFID != 0 {
		s.cache.InvalidateFID(res.ReplacedFID)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("unknown_key", "")
	case errors.Is(err, store.ErrKeyTooLong):
		return errReply("key_too_long", "")
	case errors.Is(err, store.ErrExists):
		// A case-insensitive collation deems to_key equal to another key.
		return errReply("key_exists", "")
	case err != nil:
		return s.failure(r, err)
	}
	replaced := "0"
	if res.ReplacedFID != 0 {
		replaced = "1"
	}
	s.log.Debug("file renamed", "domain", dom.Name, "key", from, "to", to, "fid", res.FID, "replaced_fid", res.ReplacedFID)
	return okReply(wire.Args{"replaced": replaced})
}

func (s *Server) cmdMogfsRenamePrefix(ctx context.Context, r *request, ms store.MogfsStore) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	from, to := r.arg("from_prefix"), r.arg("to_prefix")
	switch {
	case from == "" || to == "" || !strings.HasSuffix(from, "/") || !strings.HasSuffix(to, "/"):
		return errReply("bad_params", "from_prefix and to_prefix must be non-empty and end with /")
	case strings.HasPrefix(to, from) || strings.HasPrefix(from, to):
		return errReply("bad_params", "a directory cannot move into itself or its parent")
	}
	res, err := ms.MogfsRenamePrefix(ctx, dom.ID, from, to)
	// Every key under from changed: forget the domain's cached lookups
	// (a case-insensitive database may have answered for other spellings).
	s.cache.InvalidateDomain(dom.ID)
	switch {
	case errors.Is(err, store.ErrDirNotEmpty):
		return errReply("dir_not_empty", "")
	case errors.Is(err, store.ErrKeyTooLong):
		return errReply("key_too_long", "")
	case errors.Is(err, store.ErrExists):
		return errReply("key_exists", "")
	case err != nil:
		return s.failure(r, err)
	}
	s.log.Debug("directory renamed", "domain", dom.Name, "key", from, "to", to, "count", res.Count, "replaced_fid", res.ReplacedFID)
	return okReply(wire.Args{"count": strconv.FormatInt(res.Count, 10)})
}
