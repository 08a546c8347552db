package mogfs

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// dirNode is a directory of a domain: the domain's top (key "") or a key
// prefix.
type dirNode struct {
	fs.Inode
	fsys *FS
	lru  lruLinks // nodecache.go

	mu   sync.Mutex
	attr keyspace.Attr // the marker's attributes, or defaults
	at   time.Time     // when attr was known
	// touchQueued: new times wait to be recorded (dirtimes.go).
	touchQueued bool
	// born is when this mount made the directory (Mkdir, with
	// --open-cache), and bornForgets the nodes forgotten by then: see
	// knownEmpty.
	born        time.Time
	bornForgets uint64
	// setMu orders the recording of attributes: SETATTR and the
	// recording of times (dirtimes.go).
	setMu sync.Mutex
}

var (
	_ fs.NodeLookuper       = (*dirNode)(nil)
	_ fs.NodeOpendirHandler = (*dirNode)(nil)
	_ fs.NodeGetattrer      = (*dirNode)(nil)
	_ fs.NodeSetattrer      = (*dirNode)(nil)
	_ fs.NodeCreater        = (*dirNode)(nil)
	_ fs.NodeMkdirer        = (*dirNode)(nil)
	_ fs.NodeRmdirer        = (*dirNode)(nil)
	_ fs.NodeUnlinker       = (*dirNode)(nil)
	_ fs.NodeRenamer        = (*dirNode)(nil)
	_ fs.NodeStatfser       = (*dirNode)(nil)
	_ fs.NodeSymlinker      = (*dirNode)(nil)
	_ fs.NodeLinker         = (*dirNode)(nil)
	_ fs.NodeMknoder        = (*dirNode)(nil)

	_ fs.FileReaddirenter = (*dirHandle)(nil)
	_ fs.FileLookuper     = (*dirHandle)(nil)
	_ fs.FileSeekdirer    = (*dirHandle)(nil)
	_ fs.FileReleasedirer = (*dirHandle)(nil)

	_ fs.NodeGetattrer      = (*rootNode)(nil)
	_ fs.NodeSetattrer      = (*rootNode)(nil)
	_ fs.NodeLookuper       = (*rootNode)(nil)
	_ fs.NodeOpendirHandler = (*rootNode)(nil)
	_ fs.NodeMkdirer        = (*rootNode)(nil)
	_ fs.NodeRmdirer        = (*rootNode)(nil)
	_ fs.NodeCreater        = (*rootNode)(nil)
	_ fs.NodeUnlinker       = (*rootNode)(nil)
	_ fs.NodeRenamer        = (*rootNode)(nil)
	_ fs.NodeStatfser       = (*rootNode)(nil)

	_ fs.NodeGetattrer     = (*fileNode)(nil)
	_ fs.NodeSetattrer     = (*fileNode)(nil)
	_ fs.NodeOpener        = (*fileNode)(nil)
	_ fs.NodeReader        = (*fileNode)(nil)
	_ fs.NodeWriter        = (*fileNode)(nil)
	_ fs.NodeFlusher       = (*fileNode)(nil)
	_ fs.NodeFsyncer       = (*fileNode)(nil)
	_ fs.NodeReleaser      = (*fileNode)(nil)
	_ fs.NodeStatfser      = (*fileNode)(nil)
	_ fs.NodeGetxattrer    = (*fileNode)(nil)
	_ fs.NodeSetxattrer    = (*fileNode)(nil)
	_ fs.NodeListxattrer   = (*fileNode)(nil)
	_ fs.NodeRemovexattrer = (*fileNode)(nil)
	_ fs.NodeReadlinker    = (*fileNode)(nil)
)

func (d *dirNode) fill(out *fuse.Attr) {
	d.mu.Lock()
	a := d.attr
	d.mu.Unlock()
	a.Mode &= 0o7777
	d.fsys.fillAttr(out, a, syscall.S_IFDIR)
	out.Nlink = 1 // unknown number of subdirectories, as btrfs and cifs say
}

func (d *dirNode) setAttr(a keyspace.Attr) {
	d.mu.Lock()
	d.attr, d.at = a, time.Now()
	d.mu.Unlock()
}

// Getattr implements fs.NodeGetattrer.
func (d *dirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fsys.nodes.touch(&d.lru, &d.Inode)
	d.mu.Lock()
	fresh := time.Since(d.at) < d.fsys.cfg.TTL || d.at == farFuture
	d.mu.Unlock()
	if !fresh {
		l, errno := d.fsys.locate(&d.Inode)
		if errno != 0 {
			return errno
		}
		if l.top {
			d.setAttr(d.fsys.space.DirAttr(l.domain, "", keyspace.Attr{}))
		} else {
			r, err := d.fsys.space.Lookup(bg(ctx), l.domain, l.key)
			if err != nil {
				return toErrno(d.fsys.log, "getattr", err, "domain", l.domain, "key", l.key)
			}
			if !r.Dir {
				return syscall.ENOENT
			}
			d.setAttr(d.fsys.space.DirAttr(l.domain, l.prefix(), r.DirAttr))
		}
	}
	d.fill(&out.Attr)
	return 0
}

// Setattr implements fs.NodeSetattrer: mode, owner and times go to the
// directory's marker, which is created if the directory has none.
func (d *dirNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if d.fsys.cfg.ReadOnly {
		return syscall.EROFS
	}
	if u := setAttrUpdate(in); !u.Empty() {
		d.setMu.Lock()
		defer d.setMu.Unlock()
		l, errno := d.fsys.locate(&d.Inode)
		if errno != 0 {
			return errno
		}
		if l.top {
			return syscall.EPERM // a domain's top directory has no marker
		}
		ctx = bg(ctx)
		err := d.fsys.space.SetAttr(ctx, l.domain, l.prefix(), u)
		if errors.Is(err, keyspace.ErrNotFound) {
			// An implicit directory: give it a marker with the
			// attributes it showed and the new ones.
			d.mu.Lock()
			a := u.Apply(d.attr)
			d.mu.Unlock()
			err = d.fsys.space.Mkdir(ctx, l.domain, l.prefix(), d.fsys.cfg.Class, updateOf(a))
		}
		if err != nil {
			return toErrno(d.fsys.log, "setattr", err, "domain", l.domain, "key", l.prefix())
		}
		d.mu.Lock()
		d.attr = u.Apply(d.attr)
		d.attr.Set = true
		d.at = time.Now()
		d.mu.Unlock()
	}
	d.fill(&out.Attr)
	return 0
}

// updateOf is the update that gives a key all of the attributes a.
func updateOf(a keyspace.Attr) keyspace.AttrUpdate {
	u := keyspace.AttrUpdate{Mtime: &a.Mtime, Mode: &a.Mode}
	if a.HasUID {
		u.UID = &a.UID
	}
	if a.HasGID {
		u.GID = &a.GID
	}
	if !a.Atime.IsZero() {
		u.Atime = &a.Atime
	}
	if !a.Ctime.IsZero() {
		u.Ctime = &a.Ctime
	}
	if a.Rdev != 0 {
		u.Rdev = &a.Rdev
	}
	return u
}

// Statfs implements fs.NodeStatfser.
func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return d.fsys.statfs(ctx, out)
}

// dirChild returns the inode of the subdirectory name with attributes a.
func (f *FS) dirChild(ctx context.Context, parent *fs.Inode, name string, a keyspace.Attr, out *fuse.EntryOut) *fs.Inode {
	if ch := parent.GetChild(name); ch != nil {
		if dn, ok := ch.Operations().(*dirNode); ok {
			dn.setAttr(a)
			dn.fill(&out.Attr)
			f.nodes.touch(&dn.lru, ch)
			return ch
		}
	}
	dn := &dirNode{fsys: f, attr: a, at: time.Now()}
	dn.fill(&out.Attr)
	in := parent.NewInode(ctx, dn, fs.StableAttr{Mode: syscall.S_IFDIR})
	f.nodes.touch(&dn.lru, in)
	return in
}

// fileChild returns the inode of the file name with metadata fi. looked
// says that fi answers a LOOKUP, which the open that may follow can use
// (fileNode.Open); READDIRPLUS entries belong to another system call.
func (f *FS) fileChild(ctx context.Context, parent *fs.Inode, name string, fi keyspace.FileInfo, looked bool, out *fuse.EntryOut) *fs.Inode {
	typ := fileType(fi.Attr)
	if ch := parent.GetChild(name); ch != nil {
		if fn, ok := ch.Operations().(*fileNode); ok && ch.StableAttr().Mode == typ {
			fn.update(fi)
			fn.mu.Lock()
			fn.looked = looked
			fn.mu.Unlock()
			fn.fill(&out.Attr)
			f.nodes.touch(&fn.lru, &fn.Inode)
			return ch
		}
	}
	// Inodes live as long as the kernel caches them (an ls -lR of a big
	// domain makes many): keep only what later calls need.
	fn := &fileNode{fsys: f, info: slim(fi), path: fi.Path, at: time.Now(), looked: looked}
	fn.fill(&out.Attr)
	in := parent.NewInode(ctx, fn, fs.StableAttr{Mode: typ, Ino: inoOf(fi.DKey)})
	f.nodes.touch(&fn.lru, &fn.Inode)
	return in
}

// inoOf is the inode number of a file kept under the surrogate dkey: the
// same for all its names (hard links), on every mount; 0 (go-fuse picks
// one) for other files. It lies below go-fuse's automatic numbers (from
// 1<<63).
func inoOf(dkey string) uint64 {
	if dkey == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(dkey))
	return h.Sum64()&(1<<62-1) | 1<<62
}

// lookup finds name in the directory in at l's prefix. A file this mount
// is writing is found as it is here (it may not be committed yet: a new
// empty file is committed by its last release, after close returned).
func (f *FS) lookup(ctx context.Context, dir *fs.Inode, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	// What the tree holds under name decides, one look.
	ch := dir.GetChild(name)
	var known *fileNode
	if ch != nil {
		known, _ = ch.Operations().(*fileNode)
	}
	if known != nil {
		// A file this mount is writing; or, within --open-cache of the
		// tracker's last answer, one the mount answers for from what it
		// knows (the kernel then keeps the entry for the rest of that
		// time).
		left := known.trusted()
		if known.dirtyBuffer() || left > 0 {
			known.fill(&out.Attr)
			if left > f.cfg.TTL {
				out.SetEntryTimeout(left)
				out.SetAttrTimeout(left)
			}
			f.nodes.touch(&known.lru, &known.Inode)
			return ch, 0
		}
	}
	cl, fileOnly, errno := f.child(dir, name)
	if errno == syscall.EINVAL || errno == syscall.EPERM {
		return nil, syscall.ENOENT // a bad escape names no key; the hidden directory
	}
	if errno != 0 {
		return nil, errno
	}
	if dn, ok := dir.Operations().(*dirNode); ok && !fileOnly && ch == nil && dn.knownEmpty() {
		// Every name of the directory is in the tree: this one is
		// absent. (The file-only form of a name may stand for a file
		// held under its plain name: always asked.)
		return nil, syscall.ENOENT
	}
	// The open that may follow uses this answer (fileNode.Open): with a
	// copy's URL its read needs no get_paths, unless the node knows one.
	lookup := f.space.LookupPath
	if known != nil && known.knowsPath() {
		lookup = f.space.Lookup
	}
	r, err := lookup(bg(ctx), cl.domain, cl.key)
	if err != nil {
		return nil, toErrno(f.log, "lookup", err, "domain", cl.domain, "key", cl.key)
	}
	if r.Dir && !fileOnly {
		return f.dirChild(ctx, dir, name, f.space.DirAttr(cl.domain, cl.key+"/", r.DirAttr), out), 0
	}
	if r.File == nil {
		return nil, syscall.ENOENT
	}
	ch = f.fileChild(ctx, dir, name, *r.File, true, out)
	if f.cfg.OpenCache > f.cfg.TTL {
		out.SetEntryTimeout(f.cfg.OpenCache)
		out.SetAttrTimeout(f.cfg.OpenCache)
	}
	return ch, 0
}

// Lookup implements fs.NodeLookuper.
func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return d.fsys.lookup(ctx, &d.Inode, name, out)
}

// OpendirHandle implements fs.NodeOpendirHandler.
func (d *dirNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	d.fsys.nodes.touch(&d.lru, &d.Inode)
	l, errno := d.fsys.locate(&d.Inode)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{fsys: d.fsys, dir: &d.Inode, l: l, local: uncommitted(&d.Inode)}, 0, 0
}

// dirHandle streams one directory level page by page.
type dirHandle struct {
	fsys *FS
	dir  *fs.Inode
	l    loc

	mu     sync.Mutex
	lister *keyspace.Lister
	pos    uint64 // entries produced, "." and ".." included
	last   keyspace.DirEntry
	name   string
	// local are the files this mount made in the directory and has not
	// committed when it was opened: listed after the tracker's entries
	// unless these hold them by then.
	local   map[string]*fileNode
	pending []string
}

func (h *dirHandle) reset() {
	h.lister = h.fsys.space.List(h.l.domain, h.l.prefix())
	h.pos = 0
	h.pending = h.pending[:0]
	for name := range h.local {
		h.pending = append(h.pending, name)
	}
	sort.Strings(h.pending)
}

// next produces the next entry, or nil at the end.
func (h *dirHandle) next(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if h.lister == nil {
		h.reset()
	}
	h.pos++
	switch h.pos {
	case 1:
		return &fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR}, 0
	case 2:
		return &fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR}, 0
	}
	for {
		e, err := h.lister.Next(bg(ctx))
		if err == io.EOF {
			if len(h.pending) > 0 {
				name := h.pending[0]
				h.pending = h.pending[1:]
				n := h.local[name]
				h.name = name
				h.last = keyspace.DirEntry{Name: name, HasInfo: true, Info: n.snapshot()}
				return &fuse.DirEntry{Name: name, Mode: syscall.S_IFREG}, 0
			}
			h.pos--
			return nil, 0
		}
		if err != nil {
			h.pos--
			return nil, toErrno(h.fsys.log, "readdir", err, "domain", h.l.domain, "prefix", h.l.prefix())
		}
		name := keyspace.EncodeName(e.Name, e.Shadowed)
		if len(name) > keyspace.MaxName {
			h.fsys.log.Warn("key segment too long for a file name; skipped", "domain", h.l.domain, "prefix", h.l.prefix(), "segment", e.Name)
			continue
		}
		h.last, h.name = e, name
		if i := sort.SearchStrings(h.pending, name); i < len(h.pending) && h.pending[i] == name {
			h.pending = append(h.pending[:i], h.pending[i+1:]...) // committed meanwhile: listed once
		}
		mode := fileType(e.Info.Attr)
		if e.Dir {
			mode = syscall.S_IFDIR
		}
		return &fuse.DirEntry{Name: name, Mode: mode}, 0
	}
}

// Readdirent implements fs.FileReaddirenter.
func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next(ctx)
}

// Seekdir implements fs.FileSeekdirer: the listing starts again and skips
// off entries.
func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lister == nil || off < h.pos {
		h.reset()
	}
	for h.pos < off {
		e, errno := h.next(ctx)
		if errno != 0 {
			return errno
		}
		if e == nil {
			break
		}
	}
	return 0
}

// Lookup implements fs.FileLookuper: READDIRPLUS gets the attributes of
// the entry just listed without a round trip. Entries of a list_keys
// listing have none: the kernel then looks them up itself.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	h.mu.Lock()
	e, ename := h.last, h.name
	h.mu.Unlock()
	if name != ename {
		return nil, syscall.ENOENT
	}
	if e.Dir {
		return h.fsys.dirChild(ctx, h.dir, name, h.fsys.space.DirAttr(h.l.domain, h.l.prefix()+e.Name+"/", e.Info.Attr), out), 0
	}
	if !e.HasInfo {
		// A list_keys listing: the entry is known to be a file (and,
		// unless shadowed, no directory), so file_info alone tells the
		// rest.
		key := h.l.prefix() + e.Name
		fi, err := h.fsys.space.FileInfo(bg(ctx), h.l.domain, key)
		if err != nil {
			return nil, toErrno(h.fsys.log, "lookup", err, "domain", h.l.domain, "key", key)
		}
		e.Info = fi
	}
	return h.fsys.fileChild(ctx, h.dir, name, e.Info, false, out), 0
}

// Releasedir implements fs.FileReleasedirer.
func (h *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	h.mu.Lock()
	h.lister = nil
	h.mu.Unlock()
}

// Create implements fs.NodeCreater.
func (d *dirNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return d.fsys.create(ctx, &d.Inode, name, flags, mode, out)
}

// Mkdir implements fs.NodeMkdirer: the directory's marker key is stored.
func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := d.fsys
	if f.cfg.ReadOnly {
		return nil, syscall.EROFS
	}
	cl, fileOnly, errno := f.child(&d.Inode, name)
	if errno != 0 {
		return nil, errno
	}
	if fileOnly {
		return nil, syscall.EINVAL
	}
	prefix := cl.key + "/"
	if keyspace.IsLong(prefix) && len(prefix) > f.space.MaxKey(ctx) {
		return nil, syscall.ENAMETOOLONG
	}
	d.mu.Lock()
	parent := d.attr
	d.mu.Unlock()
	u, sgid := f.creator(ctx, parent, true)
	now := time.Now()
	mode &= 0o7777
	mode |= sgid
	u.Mode, u.Mtime, u.Ctime = &mode, &now, &now
	if err := f.space.Mkdir(bg(ctx), cl.domain, prefix, f.cfg.Class, u); err != nil {
		return nil, toErrno(f.log, "mkdir", err, "domain", cl.domain, "key", prefix)
	}
	f.touchDir(&d.Inode)
	in := f.dirChild(ctx, &d.Inode, name, u.Apply(keyspace.Attr{Set: true}), out)
	if dn, ok := in.Operations().(*dirNode); ok && f.cfg.OpenCache > 0 {
		dn.mu.Lock()
		dn.born, dn.bornForgets = now, f.nodes.forgotten.Load()
		dn.mu.Unlock()
	}
	return in, 0
}

// knownEmpty reports whether every name the directory holds is a child
// in the kernel's tree: it was made by this mount within --open-cache
// (empty: the kernel's lookup before the mkdir found nothing), and since
// then names came and went only through this mount, which keeps the
// tree, and the kernel forgot no node (one it forgot may have been a
// name of this directory).
func (d *dirNode) knownEmpty() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.born.IsZero() && time.Since(d.born) < d.fsys.cfg.OpenCache &&
		d.bornForgets == d.fsys.nodes.forgotten.Load()
}

// uncommitted lists the files of dir this mount made and has not
// committed yet (the tracker knows nothing of them).
func uncommitted(dir *fs.Inode) map[string]*fileNode {
	var out map[string]*fileNode
	for name, ch := range dir.Children() {
		n, ok := ch.Operations().(*fileNode)
		if !ok || !n.dirtyBuffer() {
			continue
		}
		n.mu.Lock()
		fresh := n.info.Fid == 0
		n.mu.Unlock()
		if fresh {
			if out == nil {
				out = map[string]*fileNode{}
			}
			out[name] = n
		}
	}
	return out
}

// Rmdir implements fs.NodeRmdirer.
func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	f := d.fsys
	if f.cfg.ReadOnly {
		return syscall.EROFS
	}
	cl, fileOnly, errno := f.child(&d.Inode, name)
	if errno != 0 {
		return errno
	}
	if fileOnly {
		return syscall.ENOTDIR
	}
	if ch := d.GetChild(name); ch != nil && len(uncommitted(ch)) > 0 {
		return syscall.ENOTEMPTY // files of this mount not committed yet
	}
	if err := f.space.Rmdir(bg(ctx), cl.domain, cl.key+"/"); err != nil {
		return toErrno(f.log, "rmdir", err, "domain", cl.domain, "key", cl.key+"/")
	}
	f.touchDir(&d.Inode)
	return 0
}

// Unlink implements fs.NodeUnlinker.
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	f := d.fsys
	if f.cfg.ReadOnly {
		return syscall.EROFS
	}
	cl, _, errno := f.child(&d.Inode, name)
	if errno != 0 {
		return errno
	}
	detached := f.beforeDetach(ctx, &d.Inode, name) // orphan.go
	err := f.space.Remove(bg(ctx), cl.domain, cl.key)
	detached(err == nil)
	if err != nil {
		return toErrno(f.log, "unlink", err, "domain", cl.domain, "key", cl.key)
	}
	if ch := d.GetChild(name); ch != nil {
		if n, ok := ch.Operations().(*fileNode); ok {
			n.unlinked()
		}
	}
	f.touchDir(&d.Inode)
	return 0
}

// Rename implements fs.NodeRenamer.
func (d *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return d.fsys.rename(ctx, &d.Inode, name, newParent.EmbeddedInode(), newName, flags)
}

func (f *FS) rename(ctx context.Context, from *fs.Inode, name string, to *fs.Inode, newName string, flags uint32) syscall.Errno {
	if f.cfg.ReadOnly {
		return syscall.EROFS
	}
	if flags&fs.RENAME_EXCHANGE != 0 {
		return syscall.EINVAL
	}
	if _, ok := to.Operations().(*rootNode); ok {
		return syscall.EPERM
	}
	src, srcFileOnly, errno := f.child(from, name)
	if errno != 0 {
		return errno
	}
	dst, dstFileOnly, errno := f.child(to, newName)
	if errno != 0 {
		return errno
	}
	if src.domain != dst.domain {
		return syscall.EXDEV
	}
	ctx = bg(ctx)
	node := from.GetChild(name)
	isDir := node != nil && node.IsDir()
	if node == nil && !srcFileOnly {
		r, err := f.space.Lookup(ctx, src.domain, src.key)
		if err != nil {
			return toErrno(f.log, "rename", err, "domain", src.domain, "key", src.key)
		}
		isDir = r.Dir
	}
	if isDir {
		if dstFileOnly {
			return syscall.ENOTDIR
		}
		if ch := to.GetChild(newName); ch != nil && len(uncommitted(ch)) > 0 {
			return syscall.ENOTEMPTY // files of this mount not committed yet
		}
		if err := f.space.RenameDir(ctx, src.domain, src.key+"/", dst.key+"/"); err != nil {
			return toErrno(f.log, "rename directory", err, "domain", src.domain, "from", src.key, "to", dst.key)
		}
		f.touchDir(from)
		f.touchDir(to)
		return 0
	}
	var fn *fileNode
	if node != nil {
		fn, _ = node.Operations().(*fileNode)
	}
	if fn != nil {
		if errno := fn.settleEmpty(ctx); errno != 0 { // orphan.go
			return errno
		}
	}
	detached := func(bool) {}
	var replaced *fileNode // the file whose name the rename takes, if known here
	if old := to.GetChild(newName); flags&renameNoReplace == 0 && old != node {
		detached = f.beforeDetach(ctx, to, newName) // orphan.go
		if old != nil {
			replaced, _ = old.Operations().(*fileNode)
		}
	}
	now := time.Now()
	err := f.space.Rename(ctx, src.domain, src.key, dst.key, flags&renameNoReplace == 0, keyspace.AttrUpdate{Ctime: &now})
	if err == nil && fn != nil {
		fn.mu.Lock()
		fn.info.Attr.Ctime = now
		linked := fn.info.Nlink > 1
		fn.info.DKey = "" // a long key's surrogate may have changed
		fn.mu.Unlock()
		if keyspace.IsLong(dst.key) || linked {
			if r, lerr := f.space.Lookup(ctx, dst.domain, dst.key); lerr == nil && r.File != nil {
				fn.update(*r.File)
			}
		}
	}
	if errors.Is(err, keyspace.ErrNotFound) && fn != nil && fn.dirtyBuffer() {
		// Created here and not committed yet: it is committed under
		// its new name at close. An old key at the new name goes.
		err = nil
		if flags&renameNoReplace == 0 {
			err = f.space.Remove(ctx, dst.domain, dst.key)
		}
	}
	detached(err == nil)
	if err != nil {
		return toErrno(f.log, "rename", err, "domain", src.domain, "from", src.key, "to", dst.key)
	}
	if replaced != nil {
		replaced.unlinked() // its other names, if any, show one link less
	}
	f.touchDir(from)
	f.touchDir(to)
	return 0
}

// Symlink implements fs.NodeSymlinker: the link is a key whose content
// is the target and whose mode says S_IFLNK.
func (d *dirNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if len(target) >= maxPath {
		return nil, syscall.ENAMETOOLONG
	}
	return d.makeNode(ctx, name, syscall.S_IFLNK|0o777, 0, target, out)
}

// Mknod implements fs.NodeMknoder: FIFOs, sockets and device nodes are
// zero-length keys whose mode gives their type (and rdev the device);
// the kernel, not mogfs, serves what is opened through them. A regular
// file is an empty key.
func (d *dirNode) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFSOCK, syscall.S_IFCHR, syscall.S_IFBLK:
	case syscall.S_IFREG, 0:
		mode = mode&0o7777 | syscall.S_IFREG
	default:
		return nil, syscall.EINVAL
	}
	return d.makeNode(ctx, name, mode, dev, "", out)
}

// makeNode stores a new key of the given mode and content at once (no
// descriptor is open on it to commit it later).
func (d *dirNode) makeNode(ctx context.Context, name string, mode, rdev uint32, content string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := d.fsys
	if f.cfg.ReadOnly {
		return nil, syscall.EROFS
	}
	cl, fileOnly, errno := f.child(&d.Inode, name)
	if errno != 0 {
		return nil, errno
	}
	if fileOnly || keyspace.IsMarker(cl.key, 0) {
		return nil, syscall.EINVAL
	}
	ctx = bg(ctx)
	d.mu.Lock()
	parent := d.attr
	d.mu.Unlock()
	u, _ := f.creator(ctx, parent, false)
	now := time.Now()
	u.Mode, u.Mtime, u.Ctime = &mode, &now, &now
	if rdev != 0 {
		u.Rdev = &rdev
	}
	st, err := f.space.MakeNode(ctx, keyspace.Target{Domain: cl.domain, Key: cl.key, Class: f.cfg.Class, Attr: u}, content)
	if err != nil {
		return nil, toErrno(f.log, "mknod", err, "domain", cl.domain, "key", cl.key, "mode", mode)
	}
	f.touchDir(&d.Inode)
	fi := keyspace.FileInfo{Key: cl.key, Fid: st.Fid, Size: int64(len(content)), Class: f.cfg.Class, Attr: u.Apply(keyspace.Attr{Set: true})}
	in := f.fileChild(ctx, &d.Inode, name, fi, false, out)
	if fn, ok := in.Operations().(*fileNode); ok && fileType(fi.Attr) == syscall.S_IFLNK {
		fn.mu.Lock()
		fn.target, fn.targetFid = content, st.Fid
		fn.mu.Unlock()
	}
	return in, 0
}

// maxPath is PATH_MAX: the longest symbolic link target plus its NUL.
const maxPath = 4096

// Link implements fs.NodeLinker: mogfs_link gives the file another name.
func (d *dirNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := d.fsys
	if f.cfg.ReadOnly {
		return nil, syscall.EROFS
	}
	n, ok := target.(*fileNode)
	if !ok {
		return nil, syscall.EPERM
	}
	src, errno := f.locate(&n.Inode)
	if errno != 0 {
		return nil, errno
	}
	dst, fileOnly, errno := f.child(&d.Inode, name)
	if errno != 0 {
		return nil, errno
	}
	if fileOnly || keyspace.IsMarker(dst.key, 0) {
		return nil, syscall.EINVAL
	}
	if src.domain != dst.domain {
		return nil, syscall.EXDEV
	}
	ctx = bg(ctx)
	// A file created here and not committed yet gets its key first.
	if errno := n.commit(ctx); errno != 0 {
		return nil, errno
	}
	now := time.Now()
	fi, err := f.space.Link(ctx, src.domain, src.key, dst.key, keyspace.AttrUpdate{Ctime: &now})
	if err != nil {
		return nil, toErrno(f.log, "link", err, "domain", src.domain, "key", src.key, "to", dst.key)
	}
	n.mu.Lock()
	n.info.DKey, n.info.Nlink, n.info.Fid = fi.DKey, fi.Nlink, fi.Fid
	n.info.Attr.Ctime = now
	n.at = time.Now()
	n.mu.Unlock()
	f.touchDir(&d.Inode)
	n.fill(&out.Attr)
	f.nodes.touch(&n.lru, &n.Inode)
	return &n.Inode, 0
}

// rootNode is the root when no domain is given: one directory per domain.
type rootNode struct {
	fs.Inode
	fsys *FS
}

// Getattr implements fs.NodeGetattrer.
func (r *rootNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = syscall.S_IFDIR | 0o755
	out.Nlink = 1
	setTimes(&out.Attr, r.fsys.space.Epoch)
	r.fsys.setOwner(&out.Attr)
	return 0
}

// Setattr implements fs.NodeSetattrer: the list of domains has no
// attributes of its own.
func (r *rootNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EPERM
}

// Statfs implements fs.NodeStatfser.
func (r *rootNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return r.fsys.statfs(ctx, out)
}

func (r *rootNode) domainChild(ctx context.Context, name string, out *fuse.EntryOut) *fs.Inode {
	dom, _, _ := keyspace.DecodeName(name)
	return r.fsys.dirChild(ctx, &r.Inode, name, r.fsys.space.DirAttr(dom, "", keyspace.Attr{}), out)
}

// Lookup implements fs.NodeLookuper.
func (r *rootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	dom, _, err := keyspace.DecodeName(name)
	if err != nil {
		return nil, syscall.ENOENT
	}
	ds, err := r.fsys.space.Backend().Domains(bg(ctx))
	if err != nil {
		return nil, toErrno(r.fsys.log, "lookup domain", err, "domain", dom)
	}
	for _, d := range ds {
		if d == dom {
			return r.domainChild(ctx, name, out), 0
		}
	}
	return nil, syscall.ENOENT
}

// OpendirHandle implements fs.NodeOpendirHandler: the domains, sorted.
func (r *rootNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ds, err := r.fsys.space.Backend().Domains(bg(ctx))
	if err != nil {
		return nil, 0, toErrno(r.fsys.log, "list domains", err)
	}
	sort.Strings(ds)
	ents := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	for _, d := range ds {
		ents = append(ents, fuse.DirEntry{Name: keyspace.EncodeName(d, false), Mode: syscall.S_IFDIR})
	}
	return &domainsHandle{r: r, ents: ents}, 0, 0
}

// domainsHandle lists the domains.
type domainsHandle struct {
	r    *rootNode
	mu   sync.Mutex
	ents []fuse.DirEntry
	pos  int
}

var (
	_ fs.FileReaddirenter = (*domainsHandle)(nil)
	_ fs.FileSeekdirer    = (*domainsHandle)(nil)
	_ fs.FileLookuper     = (*domainsHandle)(nil)
)

// Readdirent implements fs.FileReaddirenter.
func (h *domainsHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pos >= len(h.ents) {
		return nil, 0
	}
	e := h.ents[h.pos]
	h.pos++
	return &e, 0
}

// Seekdir implements fs.FileSeekdirer.
func (h *domainsHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos = int(min(off, uint64(len(h.ents))))
	return 0
}

// Lookup implements fs.FileLookuper.
func (h *domainsHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return h.r.domainChild(ctx, name, out), 0
}

// Mkdir implements fs.NodeMkdirer: create_domain.
func (r *rootNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if r.fsys.cfg.ReadOnly {
		return nil, syscall.EROFS
	}
	dom, fileOnly, err := keyspace.DecodeName(name)
	if err != nil || fileOnly {
		return nil, syscall.EINVAL
	}
	if err := r.fsys.space.Backend().CreateDomain(bg(ctx), dom); err != nil {
		return nil, toErrno(r.fsys.log, "create domain", err, "domain", dom)
	}
	return r.domainChild(ctx, name, out), 0
}

// Rmdir implements fs.NodeRmdirer: delete_domain.
func (r *rootNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if r.fsys.cfg.ReadOnly {
		return syscall.EROFS
	}
	dom, _, err := keyspace.DecodeName(name)
	if err != nil {
		return syscall.ENOENT
	}
	if err := r.fsys.space.Backend().DeleteDomain(bg(ctx), dom); err != nil {
		return toErrno(r.fsys.log, "delete domain", err, "domain", dom)
	}
	return 0
}

// Create implements fs.NodeCreater: no files among the domains.
func (r *rootNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// Unlink implements fs.NodeUnlinker.
func (r *rootNode) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

// Rename implements fs.NodeRenamer: domains cannot be renamed.
func (r *rootNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EPERM
}

// renameNoReplace is RENAME_NOREPLACE of renameat2(2).
const renameNoReplace = 0x1
