package mogfs

import (
	"context"
	"io"
	"sync"
	"syscall"
	"time"
	"unique"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// openFresh is how old the metadata of a lookup may be for the open that
// follows it to use it without asking the tracker again.
const openFresh = 50 * time.Millisecond

// fileNode is a key.
type fileNode struct {
	fs.Inode
	fsys *FS
	lru  lruLinks // nodecache.go

	// A node lives as long as the kernel keeps the file looked up (a
	// find of a big domain makes many): fields are ordered to keep it
	// small.
	mu   sync.Mutex
	info keyspace.FileInfo // as the tracker said (Attr filled with defaults)
	at   time.Time         // when info was known
	// path is the URL of a copy of info.Fid when this mount wrote it
	// (the PUT of the commit) or the lookup that gave info named one:
	// reads start there, without get_paths.
	path string
	// wgen counts local changes to the content (writes, truncates), so
	// that a commit can tell whether it holds all of them.
	wgen uint64

	// While the file is open for writing: the staged content, shared by
	// every writing handle, and the attributes to record at commit.
	buf     *keyspace.Buffer
	writers int32
	opens   int32 // open descriptors, readers too
	// staging pins buf while it is being filled for an orphan
	// (orphan.go).
	staging int32
	// changed: the last update brought another version (fid or size);
	// the next open must not keep the kernel's page cache.
	changed bool
	// looked: info comes from a lookup no open has used yet.
	looked bool
	// orphaned: unlinked or replaced by a rename through this mount
	// while open (orphan.go).
	orphaned bool
	// cmu serialises commits (from the key's name to the upload) with
	// the unlink or rename that takes the name away (orphan.go), so that
	// a commit made by a release, after close returned, cannot bring
	// back a key the program has removed or renamed since.
	cmu      sync.Mutex
	modified time.Time  // last local write
	mtime    *time.Time // utimes while dirty: recorded after the commit

	// target is a symbolic link's target once read, for version
	// targetFid.
	target    string
	targetFid int64
}

// handle is one open file description.
type handle struct {
	n      *fileNode
	write  bool
	append bool

	mu     sync.Mutex
	reader *keyspace.Reader
	// content is the version this descriptor reads, from the mount's
	// content cache (FS.content); cacheTried: looked for it.
	content    []byte
	cacheTried bool
	// privChecked: the first write has cleared set-user-ID and
	// set-group-ID bits where it must (killPriv).
	privChecked bool
}

// update takes new metadata from the tracker and reports whether the
// content changed (another fid or size).
func (n *fileNode) update(fi keyspace.FileInfo) bool {
	path := fi.Path
	fi = slim(fi)
	n.mu.Lock()
	defer n.mu.Unlock()
	changed := fi.Fid != n.info.Fid || fi.Size != n.info.Size
	if fi.Fid != n.info.Fid {
		n.path = ""
	}
	if path != "" {
		n.path = path
	}
	n.info, n.at = fi, time.Now()
	n.changed = n.changed || changed
	return changed
}

// slim is fi as a node keeps it: without what later calls do not need
// (the key, which the node's place in the tree gives, and the checksum),
// and with the class name shared by every node of the class.
func slim(fi keyspace.FileInfo) keyspace.FileInfo {
	fi.Key, fi.Checksum, fi.Path = "", "", ""
	fi.Class = unique.Make(fi.Class).Value()
	return fi
}

// unlinked takes one name off the node (unlink succeeded). With one name
// left, its file may have been given that name back as its key (the
// tracker folds a last short name back): the surrogate is forgotten, and
// found again by a lookup where it is still one.
func (n *fileNode) unlinked() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.info.Nlink > 1 {
		n.info.Nlink--
		n.info.Attr.Ctime = time.Now()
		if n.info.Nlink == 1 {
			n.info.DKey = ""
		}
	}
}

// snapshot returns the node's metadata.
func (n *fileNode) snapshot() keyspace.FileInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.info
}

// dkey is the surrogate of the node's long key, "" if unknown or short.
func (n *fileNode) dkey() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.info.DKey
}

// buffer returns the write buffer, or nil.
func (n *fileNode) buffer() *keyspace.Buffer {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.buf
}

func (n *fileNode) dirtyBuffer() bool {
	b := n.buffer()
	return b != nil && b.Dirty()
}

// fill writes the attributes: the staged content's while there is one.
func (n *fileNode) fill(out *fuse.Attr) {
	n.mu.Lock()
	size, a := n.info.Size, n.info.Attr
	if n.buf != nil && n.buf.Loaded() {
		size = n.buf.Size()
		if !n.modified.IsZero() {
			a.Mtime, a.Ctime = n.modified, n.modified
		}
	}
	if n.mtime != nil {
		a.Mtime = *n.mtime
	}
	orphan := n.orphaned
	nlink := max(n.info.Nlink, 1) // the names of a hard-linked file
	n.mu.Unlock()
	n.fsys.fillAttr(out, a, syscall.S_IFREG)
	out.Size = uint64(size)
	out.Blocks = (out.Size + 511) / 512
	out.Nlink = uint32(nlink)
	if orphan {
		out.Nlink = 0 // no name left, as fstat(2) of an unlinked file says
	}
}

// refresh asks the tracker for the file's metadata; forRead (an open)
// asks for a copy's URL too when the node knows none.
func (n *fileNode) refresh(ctx context.Context, forRead bool) (changed bool, errno syscall.Errno) {
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return false, errno
	}
	lookup := n.fsys.space.Lookup
	if forRead && !n.knowsPath() {
		lookup = n.fsys.space.LookupPath
	}
	r, err := lookup(bg(ctx), l.domain, l.key)
	if err != nil {
		return false, toErrno(n.fsys.log, "lookup", err, "domain", l.domain, "key", l.key)
	}
	if r.File == nil {
		return false, syscall.ENOENT
	}
	return n.update(*r.File), 0
}

// knowsPath reports whether the node holds the URL of a copy of its
// version (see path).
func (n *fileNode) knowsPath() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.path != ""
}

// Getattr implements fs.NodeGetattrer.
func (n *fileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fsys.nodes.touch(&n.lru, &n.Inode)
	n.mu.Lock()
	local := n.buf != nil && n.buf.Loaded() || n.orphaned
	stale := time.Since(n.at) >= n.fsys.cfg.TTL
	trusted := n.trustedLocked()
	n.mu.Unlock()
	if !local && stale && trusted == 0 {
		if _, errno := n.refresh(ctx, false); errno != 0 {
			return errno
		}
	}
	n.fill(&out.Attr)
	if trusted > n.fsys.cfg.TTL {
		out.SetTimeout(trusted)
	}
	return 0
}

// trusted is how much longer the mount may use what it knows of the
// file's version without asking the tracker (Config.OpenCache); 0 when
// it must ask. A version this mount does not know (a commit raced by
// another write here) is never trusted.
func (n *fileNode) trusted() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.trustedLocked()
}

func (n *fileNode) trustedLocked() time.Duration {
	if n.fsys.cfg.OpenCache <= 0 || n.info.Fid <= 0 || n.orphaned {
		return 0
	}
	return max(n.fsys.cfg.OpenCache-time.Since(n.at), 0)
}

// Open implements fs.NodeOpener. Close-to-open consistency: the tracker
// is asked for the current version, unless this mount is writing it.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if write && n.fsys.cfg.ReadOnly {
		return nil, 0, syscall.EROFS
	}
	n.fsys.nodes.touch(&n.lru, &n.Inode)
	h := &handle{n: n, write: write, append: flags&syscall.O_APPEND != 0}
	var fuseFlags uint32
	n.mu.Lock()
	fresh := n.looked && time.Since(n.at) < openFresh || n.trustedLocked() > 0
	n.looked = false
	n.mu.Unlock()
	if n.buffer() == nil {
		if !fresh {
			changed, errno := n.refresh(ctx, true)
			if errno != 0 {
				return nil, 0, errno
			}
			if changed && flags&syscall.O_TRUNC == 0 {
				// The kernel's size may be old: make it ask again.
				n.NotifyContent(-1, 0)
			}
		}
		n.mu.Lock()
		if !n.changed {
			fuseFlags |= fuse.FOPEN_KEEP_CACHE
		}
		n.changed = false
		n.mu.Unlock()
	}
	if write {
		if errno := n.checkWriteClass(ctx); errno != 0 {
			return nil, 0, errno
		}
		if errno := n.openWriter(ctx, flags&syscall.O_TRUNC != 0); errno != 0 {
			return nil, 0, errno
		}
		fuseFlags |= writeOnlyFlags(flags)
	} else {
		// close(2) of a reader has nothing to commit: no FLUSH request.
		fuseFlags |= fuse.FOPEN_NOFLUSH
	}
	n.mu.Lock()
	n.opens++
	n.mu.Unlock()
	return h, fuseFlags, 0
}

// openWriter attaches a writer to the shared buffer, making it if needed.
func (n *fileNode) openWriter(ctx context.Context, trunc bool) syscall.Errno {
	n.mu.Lock()
	if n.buf == nil {
		b, err := keyspace.NewBuffer(n.fsys.cfg.Spool, n.fsys.space, keyspace.Target{}, n.fsys.log)
		if err != nil {
			n.mu.Unlock()
			return toErrno(n.fsys.log, "open for writing", err)
		}
		n.buf = b
	}
	n.writers++
	b := n.buf
	n.mu.Unlock()
	if trunc {
		if err := b.Truncate(ctx, 0); err != nil {
			n.releaseWriter()
			return toErrno(n.fsys.log, "truncate", err)
		}
		n.touch()
	}
	return 0
}

// releaseWriter detaches a writer; the last one drops the buffer (unless
// an orphan's open descriptors still read it).
func (n *fileNode) releaseWriter() {
	n.mu.Lock()
	n.writers = max(n.writers-1, 0)
	b, orphan := n.takeBufLocked(), n.orphaned
	n.mu.Unlock()
	n.closeBuf(b, orphan)
}

// takeBufLocked takes the buffer away when nothing needs it any more: no
// writer, no staging, no open descriptor of an orphan. Called with mu;
// the caller passes what it returns to closeBuf.
func (n *fileNode) takeBufLocked() *keyspace.Buffer {
	if n.buf == nil || n.writers > 0 || n.staging > 0 || n.orphaned && n.opens > 0 {
		return nil
	}
	b := n.buf
	n.buf = nil
	n.modified, n.mtime = time.Time{}, nil
	return b
}

// closeBuf drops a buffer taken by takeBufLocked (nil: nothing to do).
// Uncommitted changes of a file that still has its name are lost after a
// failed commit, and logged; an orphan's are simply dropped.
func (n *fileNode) closeBuf(b *keyspace.Buffer, orphan bool) {
	if b == nil {
		return
	}
	if b.Dirty() && !orphan {
		t := b.Target()
		n.fsys.log.Warn("changes dropped: last descriptor closed after a failed commit", "domain", t.Domain, "key", t.Key)
		// The kernel's page cache holds them: the next open drops it.
		n.mu.Lock()
		n.changed = true
		n.mu.Unlock()
	}
	b.Close()
}

// touch records a local change of the content.
func (n *fileNode) touch() {
	n.mu.Lock()
	n.modified = time.Now()
	n.wgen++
	n.mu.Unlock()
}

// load makes sure the buffer holds the file's content before it is
// changed in place.
func (n *fileNode) load(ctx context.Context, b *keyspace.Buffer) syscall.Errno {
	if b.Loaded() {
		return 0
	}
	if n.isOrphan() {
		return syscall.EIO // its content could not be staged (orphan.go)
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return errno
	}
	n.mu.Lock()
	size := n.info.Size
	n.mu.Unlock()
	var src keyspace.Remote
	if size > 0 {
		r, err := n.fsys.space.Open(bg(ctx), l.domain, l.key, n.dkey(), size)
		if err != nil {
			return toErrno(n.fsys.log, "open", err, "domain", l.domain, "key", l.key)
		}
		src = r
	}
	if err := b.Load(bg(ctx), src, size); err != nil {
		return toErrno(n.fsys.log, "load for writing", err, "domain", l.domain, "key", l.key)
	}
	return 0
}

// Read implements fs.NodeReader.
func (n *fileNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if b := n.buffer(); b != nil && b.Loaded() {
		m, err := b.ReadAt(dest, off)
		if err != nil && err != io.EOF {
			return nil, toErrno(n.fsys.log, "read spool", err)
		}
		return fuse.ReadResultData(dest[:m]), 0
	}
	if n.isOrphan() {
		return nil, syscall.EIO // its content could not be staged (orphan.go)
	}
	h, ok := fh.(*handle)
	if !ok {
		return nil, syscall.EBADF
	}
	if data, ok := h.cached(); ok {
		if off >= int64(len(data)) {
			return fuse.ReadResultData(nil), 0
		}
		return fuse.ReadResultData(data[off:min(off+int64(len(dest)), int64(len(data)))]), 0
	}
	r, errno := h.openReader(ctx)
	if errno != 0 || r == nil {
		return fuse.ReadResultData(nil), errno
	}
	data, err := r.ReadAtSlice(bg(ctx), dest, off)
	if err != nil && err != io.EOF {
		l, _ := n.fsys.locate(&n.Inode)
		return nil, toErrno(n.fsys.log, "read", err, "domain", l.domain, "key", l.key, "offset", off)
	}
	return fuse.ReadResultData(data), 0
}

// cached returns the content of the version the descriptor reads when
// the mount's content cache holds it. The version is fixed by the first
// read, as openReader's is.
func (h *handle) cached() ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.cacheTried && h.reader == nil {
		h.cacheTried = true
		n := h.n
		n.mu.Lock()
		fid, size := n.info.Fid, n.info.Size
		n.mu.Unlock()
		if data, ok := n.fsys.content.Get(fid, size); ok && fid > 0 && size > 0 {
			h.content = data
		}
	}
	return h.content, h.content != nil
}

// openReader gets the file's paths on the first read (nil for an empty
// file).
func (h *handle) openReader(ctx context.Context) (*keyspace.Reader, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reader != nil {
		return h.reader, 0
	}
	n := h.n
	n.mu.Lock()
	size, path := n.info.Size, n.path
	n.mu.Unlock()
	if size == 0 {
		return nil, 0
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return nil, errno
	}
	space := n.fsys.space
	dkey := n.dkey()
	open := func(ctx context.Context) (keyspace.Remote, error) {
		return space.Open(ctx, l.domain, l.key, dkey, size)
	}
	var rm keyspace.Remote
	if path != "" {
		// This mount wrote this version, or its lookup named a copy:
		// read it there (if that copy is gone, the Reader asks
		// get_paths).
		known := l.key
		if keyspace.IsLong(l.key) && dkey != "" {
			known = dkey
		}
		rm = space.Known(l.domain, known, []string{path}, size)
	} else {
		var err error
		if rm, err = open(bg(ctx)); err != nil {
			return nil, toErrno(n.fsys.log, "open", err, "domain", l.domain, "key", l.key)
		}
	}
	h.reader = keyspace.NewReader(rm, size, open)
	return h.reader, 0
}

// Write implements fs.NodeWriter.
func (n *fileNode) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := fh.(*handle)
	if !ok || !h.write {
		return 0, syscall.EBADF
	}
	b := n.buffer()
	if b == nil {
		return 0, syscall.EBADF
	}
	if errno := n.load(ctx, b); errno != 0 {
		return 0, errno
	}
	if errno := h.killPriv(ctx); errno != 0 {
		return 0, errno
	}
	if h.append {
		if sz := b.Size(); sz != off {
			// The kernel wrote its page cache at its own idea of the
			// end: the cache no longer matches what is committed.
			n.mu.Lock()
			n.changed = true
			n.mu.Unlock()
			off = sz
		}
	}
	m, err := b.WriteAt(bg(ctx), data, off)
	n.touch()
	if err != nil {
		return uint32(m), toErrno(n.fsys.log, "write", err, "key", b.Target().Key)
	}
	return uint32(m), 0
}

// killPriv clears the set-user-ID bit, and the set-group-ID bit of a
// group-executable file, at the first write through h by a caller other
// than root, as write(2) does. The kernel does so itself for writes
// through its page cache (a chmod), not for direct writes.
func (h *handle) killPriv(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	done := h.privChecked
	h.privChecked = true
	h.mu.Unlock()
	if done {
		return 0
	}
	if c, ok := fuse.FromContext(ctx); !ok || c.Uid == 0 {
		return 0
	}
	n := h.n
	n.mu.Lock()
	mode := n.info.Attr.Mode
	n.mu.Unlock()
	kill := mode & syscall.S_ISUID
	if mode&(syscall.S_ISGID|syscall.S_IXGRP) == syscall.S_ISGID|syscall.S_IXGRP {
		kill |= syscall.S_ISGID
	}
	if kill == 0 {
		return 0
	}
	m := mode &^ kill & 0o7777
	now := time.Now()
	return n.setAttr(ctx, keyspace.AttrUpdate{Mode: &m, Ctime: &now})
}

// commit uploads the staged content if it changed. A failed commit is EIO
// and leaves the key as it was.
func (n *fileNode) commit(ctx context.Context) syscall.Errno {
	n.cmu.Lock()
	defer n.cmu.Unlock()
	b := n.buffer()
	if b == nil || !b.Dirty() || n.isOrphan() {
		return 0 // an orphan has no key to commit to
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno == syscall.ENOENT {
		return 0 // unlinked while open: nothing to keep
	}
	if errno != 0 {
		return errno
	}
	return n.commitBuffer(ctx, l, b)
}

func (n *fileNode) commitBuffer(ctx context.Context, l loc, b *keyspace.Buffer) syscall.Errno {
	ctx = bg(ctx)
	n.mu.Lock()
	class := n.info.Class
	a := n.info.Attr
	mtime := n.modified
	if n.mtime != nil {
		mtime = *n.mtime
	}
	gen := n.wgen
	n.mu.Unlock()
	if class == "" || class == "default" {
		class = n.fsys.cfg.Class
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	// The new version gets every attribute of the old one, and new
	// times: the content changed at mtime (the last write, as the mount
	// has shown it since), and so did its status, unless a change of
	// attributes came later.
	a.Mtime = mtime
	if a.Ctime.Before(mtime) {
		a.Ctime = mtime
	}
	attr := updateOf(a)
	b.SetTarget(keyspace.Target{Domain: l.domain, Key: l.key, DKey: n.dkey(), Class: class, Attr: attr})
	st, committed, err := b.Commit(ctx)
	n.fsys.cfg.Metrics.commit(committed, err)
	if err != nil {
		n.fsys.noteCommitError(l.domain, class, err)
		n.fsys.log.Error("commit failed; the key keeps its previous content", "domain", l.domain, "key", l.key, "err", err)
		return syscall.EIO
	}
	if !committed {
		return 0
	}
	if !st.AttrSet { // a streamed upload, or a tracker without mogfs_create_close
		if err := n.fsys.space.SetAttr(ctx, l.domain, l.key, attr); err != nil {
			n.fsys.log.Warn("content committed but not its mtime and mode", "domain", l.domain, "key", l.key, "err", err)
		}
	}
	// Whatever was written meanwhile, st.Content is what st.Fid holds.
	if st.Fid > 0 && len(st.Content) > 0 {
		n.fsys.content.Put(st.Fid, st.Content)
	}
	n.mu.Lock()
	n.info.Size = b.Size()
	if n.wgen == gen {
		// The kernel's page cache holds exactly the committed content:
		// the next open keeps it while the tracker names this fid.
		n.info.Fid, n.path = st.Fid, st.Path
	} else {
		n.info.Fid, n.path = 0, "" // changed meanwhile: unknown until the next lookup
	}
	n.info.Attr.Mtime, n.info.Attr.Ctime = mtime, a.Ctime
	n.info.DKey = st.DKey
	n.at = time.Now()
	n.mtime = nil
	n.mu.Unlock()
	return 0
}

// Flush implements fs.NodeFlusher: close(2) commits — unless the staged
// content is empty. A shell's `echo x > f` opens f, duplicates the
// descriptor and closes the first copy before writing: committing then
// would make an empty version, visible to every client, before the real
// one. Empty content is committed by the last release instead (Release),
// shortly after close returned, and a failure of that commit can only be
// logged; or by CommitDue when the mount went away before the release
// came. fsync(2) commits empty content at once, and so does close when
// maxDue files already wait for their releases (a program creating empty
// files faster than they are committed).
func (n *fileNode) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	if h, ok := fh.(*handle); !ok || !h.write {
		return 0
	}
	if b := n.buffer(); b != nil && b.Loaded() && b.Size() == 0 && n.fsys.due.add(n) {
		return 0
	}
	return n.commit(ctx)
}

// Fsync implements fs.NodeFsyncer.
func (n *fileNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	return n.commit(ctx)
}

// Release implements fs.NodeReleaser.
func (n *fileNode) Release(ctx context.Context, fh fs.FileHandle) syscall.Errno {
	h, ok := fh.(*handle)
	if !ok {
		return 0
	}
	h.mu.Lock()
	if h.reader != nil {
		h.reader.Close()
		h.reader = nil
	}
	h.mu.Unlock()
	if h.write {
		n.mu.Lock()
		b := n.buf
		last := n.writers == 1
		n.mu.Unlock()
		if last && b != nil && b.Loaded() && b.Size() == 0 {
			n.commit(ctx) // what Flush put off; a failure is logged
		}
		if last {
			n.fsys.due.remove(n)
		}
		n.releaseWriter()
	}
	n.mu.Lock()
	n.opens = max(n.opens-1, 0)
	b, orphan := n.takeBufLocked(), n.orphaned
	n.mu.Unlock()
	n.closeBuf(b, orphan)
	return 0
}

// Setattr implements fs.NodeSetattrer: truncate, chmod, chown, utimes.
// The kernel has checked the caller's rights (default_permissions) and
// sends the clearing of set-user-ID and set-group-ID bits as a chmod.
func (n *fileNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	f := n.fsys
	size, hasSize := in.GetSize()
	u := setAttrUpdate(in)
	if f.cfg.ReadOnly && (hasSize || !u.Empty()) {
		return syscall.EROFS
	}
	if hasSize {
		if errno := n.truncate(ctx, fh, int64(size)); errno != 0 {
			return errno
		}
	}
	if !u.Empty() {
		if errno := n.setAttr(ctx, u); errno != 0 {
			return errno
		}
	}
	n.fill(&out.Attr)
	return 0
}

// truncate changes the size. ftruncate(2) (fh set) changes the buffer of
// the open file, committed at close; truncate(2) takes effect at once: it
// holds a writer of its own for the length of the call, so that the
// release of a descriptor closed just before cannot drop the buffer under
// it.
func (n *fileNode) truncate(ctx context.Context, fh fs.FileHandle, size int64) syscall.Errno {
	if errno := n.fsys.tooBig(size); errno != 0 {
		return errno
	}
	if fh == nil {
		n.mu.Lock()
		same := n.buf == nil && size == n.info.Size
		n.mu.Unlock()
		if same {
			return 0
		}
		if errno := n.openWriter(ctx, false); errno != 0 {
			return errno
		}
		defer n.releaseWriter()
	}
	b := n.buffer()
	if b == nil {
		return syscall.EBADF
	}
	if size > 0 {
		if errno := n.load(ctx, b); errno != 0 {
			return errno
		}
	}
	if err := b.Truncate(bg(ctx), size); err != nil {
		return toErrno(n.fsys.log, "truncate", err)
	}
	n.touch()
	if fh == nil {
		return n.commit(ctx)
	}
	return 0
}

// setAttr records attributes: at once, or with the commit while the file
// has uncommitted changes.
func (n *fileNode) setAttr(ctx context.Context, u keyspace.AttrUpdate) syscall.Errno {
	// A commit running now (a release's, after close returned) took the
	// attributes it commits already: wait for it, then set them.
	n.cmu.Lock()
	defer n.cmu.Unlock()
	n.mu.Lock()
	if n.orphaned { // no key: the attributes live as long as the node
		n.info.Attr = u.Apply(n.info.Attr)
		n.mu.Unlock()
		return 0
	}
	pending := n.buf != nil && n.buf.Dirty()
	if pending {
		mt := u.Mtime
		u.Mtime = nil
		n.info.Attr = u.Apply(n.info.Attr)
		if mt != nil {
			t := *mt
			n.mtime = &t
		}
	}
	n.mu.Unlock()
	if pending {
		return 0
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return errno
	}
	if err := n.fsys.space.SetAttr(bg(ctx), l.domain, l.key, u); err != nil {
		return toErrno(n.fsys.log, "setattr", err, "domain", l.domain, "key", l.key)
	}
	n.mu.Lock()
	n.info.Attr = u.Apply(n.info.Attr)
	n.mu.Unlock()
	return 0
}

// Readlink implements fs.NodeReadlinker: a symbolic link's target is its
// key's content.
func (n *fileNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.mu.Lock()
	fid, size, target, tfid := n.info.Fid, n.info.Size, n.target, n.targetFid
	n.mu.Unlock()
	if target != "" && tfid == fid {
		return []byte(target), 0
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return nil, errno
	}
	if size <= 0 || size >= maxPath {
		n.fsys.log.Error("symbolic link with a bad size", "domain", l.domain, "key", l.key, "size", size)
		return nil, syscall.EIO
	}
	ctx = bg(ctx)
	r, err := n.fsys.space.Open(ctx, l.domain, l.key, n.dkey(), size)
	if err != nil {
		return nil, toErrno(n.fsys.log, "readlink", err, "domain", l.domain, "key", l.key)
	}
	buf := make([]byte, size)
	if m, err := r.ReadAt(ctx, buf, 0); m != len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, toErrno(n.fsys.log, "readlink", err, "domain", l.domain, "key", l.key)
	}
	n.mu.Lock()
	if n.info.Fid == fid {
		n.target, n.targetFid = string(buf), fid
	}
	n.mu.Unlock()
	return buf, 0
}

// Statfs implements fs.NodeStatfser.
func (n *fileNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(ctx, out)
}

// create makes a new file in dir: staged empty, committed at close.
func (f *FS) create(ctx context.Context, dir *fs.Inode, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if f.cfg.ReadOnly {
		return nil, nil, 0, syscall.EROFS
	}
	cl, _, errno := f.child(dir, name)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if keyspace.IsMarker(cl.key, 0) {
		return nil, nil, 0, syscall.EINVAL // an empty last segment: a directory marker
	}
	if errno := f.checkClass(ctx, cl.domain, f.cfg.Class); errno != 0 {
		return nil, nil, 0, errno
	}
	now := time.Now()
	var parent keyspace.Attr
	if dn, ok := dir.Operations().(*dirNode); ok {
		dn.mu.Lock()
		parent = dn.attr
		dn.mu.Unlock()
	}
	own, _ := f.creator(ctx, parent, false)
	fn := &fileNode{fsys: f, at: now, modified: now, opens: 1,
		info: keyspace.FileInfo{Key: cl.key, Class: f.cfg.Class, Attr: own.Apply(keyspace.Attr{Mtime: now, Ctime: now, Mode: mode & 0o7777})}}
	if errno := fn.openWriter(ctx, true); errno != 0 {
		return nil, nil, 0, errno
	}
	fn.fill(&out.Attr)
	f.touchDir(dir)
	in := dir.NewInode(ctx, fn, fs.StableAttr{Mode: syscall.S_IFREG})
	f.nodes.touch(&fn.lru, &fn.Inode)
	h := &handle{n: fn, write: true, append: flags&syscall.O_APPEND != 0}
	return in, h, writeOnlyFlags(flags), 0
}

// writeOnlyFlags has the writes of a write-only descriptor (cp, dd, tar,
// rsync) bypass the kernel's page cache: they are staged in the spool
// anyway, and copying them into cache pages too cost a third of the
// memory traffic of a big write. Nothing can read or map through such a
// descriptor, and the kernel drops cached pages of the range a direct
// write changes.
func writeOnlyFlags(flags uint32) uint32 {
	if flags&syscall.O_ACCMODE == syscall.O_WRONLY {
		return fuse.FOPEN_DIRECT_IO
	}
	return 0
}
