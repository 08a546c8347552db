package mogfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// Orphans. A file unlinked, or replaced by a rename, through this mount
// while descriptors are open on it stays usable through them, as on a
// local filesystem, while its key is gone for everyone else at once.
// Before the key goes, the file's content is staged in the node's Buffer
// (as for a write to an existing file); from then on reads, writes,
// fstat and ftruncate of the open descriptors use that buffer, nothing
// is committed, and the last release drops it. If staging fails (the
// spool cannot hold the file: --cache-size), the key goes anyway and
// reads and writes through the open descriptors fail with EIO; fstat
// still answers.

// isOrphan reports whether n lost its name while open.
func (n *fileNode) isOrphan() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.orphaned
}

// openFile returns the file named name in dir if this mount has
// descriptors open on it, else nil.
func openFile(dir *fs.Inode, name string) *fileNode {
	ch := dir.GetChild(name)
	if ch == nil {
		return nil
	}
	n, ok := ch.Operations().(*fileNode)
	if !ok {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.opens == 0 || n.info.Nlink > 1 {
		return nil // not open, or other names keep it
	}
	return n
}

// beforeDetach stages the content of the file named name in dir, if it
// is open, before an unlink or a replacing rename removes its key. It
// must be called while the file still has its name (its key is found
// from its place in the tree). The returned function takes the outcome:
// true makes the file an orphan; false (the key stayed) gives back a
// buffer made only for this.
func (f *FS) beforeDetach(ctx context.Context, dir *fs.Inode, name string) (detached func(ok bool)) {
	n := openFile(dir, name)
	if n == nil {
		return func(bool) {}
	}
	ctx = bg(ctx)
	n.cmu.Lock() // no commit until the outcome is known
	n.mu.Lock()
	var errMake error
	if n.buf == nil {
		n.buf, errMake = keyspace.NewBuffer(f.cfg.Spool, f.space, keyspace.Target{}, f.log)
	}
	b := n.buf
	n.staging++ // the last release must not drop the buffer meanwhile
	n.mu.Unlock()
	if errMake != nil {
		f.log.Error("cannot stage a file removed while open: reads of its open descriptors will fail", "name", name, "err", errMake)
	} else if errno := n.load(ctx, b); errno != 0 {
		l, _ := f.locate(&n.Inode)
		f.log.Error("cannot stage a file removed while open: reads of its open descriptors will fail",
			"domain", l.domain, "key", l.key, "errno", errno)
	}
	return func(ok bool) {
		n.mu.Lock()
		n.staging--
		n.orphaned = n.orphaned || ok
		tb, orphan := n.takeBufLocked(), n.orphaned
		n.mu.Unlock()
		n.cmu.Unlock()
		n.closeBuf(tb, orphan)
	}
}

// settleEmpty commits now the staged empty content of a file that close
// left to the last release (fileNode.Flush), before a rename of the file:
// the rename then finds the key, and that release, which may come after
// the rename returned but before the node has its new place in the tree,
// finds nothing left to commit under the old name. (rsync creates its
// temporary file, closes it and renames it at once.)
func (n *fileNode) settleEmpty(ctx context.Context) syscall.Errno {
	b := n.buffer()
	if b == nil || !b.Dirty() || !b.Loaded() || b.Size() != 0 {
		return 0
	}
	return n.commit(ctx)
}
