package mogfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// System calls beyond open, read, write and close, and how they behave:
//
//   - fallocate(2) mode 0 extends the staged content with zeros (it is
//     committed at close like a write); other modes (FALLOC_FL_KEEP_SIZE,
//     PUNCH_HOLE, ...) get EOPNOTSUPP, after which glibc's
//     posix_fallocate falls back to writing zeros.
//   - copy_file_range(2) is not implemented: go-fuse answers EOPNOTSUPP
//     and the kernel copies through the page cache (splice) instead, so
//     the call works; cp --reflink=auto and plain cp work.
//   - open(O_TMPFILE) gets EOPNOTSUPP (Tmpfile): an unnamed file could
//     never be given a name, since hard links are not supported.
//   - flock(2) and POSIX (fcntl) locks are handled by the kernel itself,
//     because the mount does not ask for them (fuse.MountOptions
//     EnableLocks): they work between processes of this machine using
//     this mount, and mean nothing to other mounts or clients.

var (
	_ fs.NodeAllocater = (*fileNode)(nil)
	_ fs.NodeTmpfiler  = (*dirNode)(nil)
)

// Allocate implements fs.NodeAllocater: fallocate(2) mode 0 makes the
// file at least off+size bytes long, as zeros staged in the spool
// (ENOSPC when the spool has no room).
func (n *fileNode) Allocate(ctx context.Context, fh fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	if mode != 0 {
		return syscall.EOPNOTSUPP
	}
	h, ok := fh.(*handle)
	if !ok || !h.write {
		return syscall.EBADF
	}
	b := n.buffer()
	if b == nil {
		return syscall.EBADF
	}
	end := off + size
	if end < off || end > 1<<62 {
		return syscall.EFBIG
	}
	if errno := n.load(ctx, b); errno != 0 {
		return errno
	}
	if int64(end) <= b.Size() {
		return 0
	}
	if err := b.Truncate(bg(ctx), int64(end)); err != nil {
		return toErrno(n.fsys.log, "fallocate", err, "key", b.Target().Key)
	}
	n.touch()
	return 0
}

// Tmpfile implements fs.NodeTmpfiler: ENOSYS, which the kernel turns
// into EOPNOTSUPP for the caller and remembers for the mount, so later
// O_TMPFILE opens fail without a request.
func (d *dirNode) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.ENOSYS
}
