package mogfs

import (
	"context"
	"strconv"
	"strings"
	"syscall"
)

// Extended attributes of a file.
const (
	xattrClass    = "user.mogilefs.class"
	xattrFid      = "user.mogilefs.fid"
	xattrPaths    = "user.mogilefs.paths"
	xattrDevcount = "user.mogilefs.devcount"
	xattrChecksum = "user.mogilefs.checksum"
)

var xattrNames = []string{xattrClass, xattrFid, xattrPaths, xattrDevcount, xattrChecksum}

func isOurXattr(name string) bool {
	for _, x := range xattrNames {
		if x == name {
			return true
		}
	}
	return false
}

// noXattr is the error for a name that is not one of ours: ENODATA,
// but EOPNOTSUPP in the security and system namespaces (SELinux labels,
// capabilities, POSIX ACLs), which mogfs does not support: ls -l then
// stops asking for every file of the mount (coreutils remembers the
// device), instead of two FUSE round trips per file.
func noXattr(attr string) syscall.Errno {
	if strings.HasPrefix(attr, "security.") || strings.HasPrefix(attr, "system.") {
		return syscall.EOPNOTSUPP
	}
	return syscall.ENODATA
}

// copyOut follows getxattr(2): with an empty dest only the size is
// returned; a dest too small is ERANGE.
func copyOut(dest []byte, v string) (uint32, syscall.Errno) {
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// Getxattr implements fs.NodeGetxattrer: every value is asked from the
// tracker (file_info, or get_paths for the paths).
func (n *fileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if !isOurXattr(attr) {
		return 0, noXattr(attr)
	}
	if n.isOrphan() {
		return 0, syscall.ENODATA // no key any more (orphan.go)
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return 0, errno
	}
	ctx = bg(ctx)
	if attr == xattrPaths {
		r, err := n.fsys.space.Open(ctx, l.domain, l.key, n.dkey(), -1)
		if err != nil {
			return 0, toErrno(n.fsys.log, "getxattr", err, "domain", l.domain, "key", l.key)
		}
		return copyOut(dest, strings.Join(r.Paths(), "\n"))
	}
	dk, err := n.fsys.space.DataKey(ctx, l.domain, l.key, n.dkey())
	if err != nil {
		return 0, toErrno(n.fsys.log, "getxattr", err, "domain", l.domain, "key", l.key)
	}
	fi, err := n.fsys.space.Backend().FileInfo(ctx, l.domain, dk)
	if err != nil {
		if n.dirtyBuffer() {
			return 0, syscall.ENODATA // not committed yet
		}
		return 0, toErrno(n.fsys.log, "getxattr", err, "domain", l.domain, "key", l.key)
	}
	var v string
	switch attr {
	case xattrClass:
		v = fi.Class
	case xattrFid:
		v = strconv.FormatInt(fi.Fid, 10)
	case xattrDevcount:
		v = strconv.Itoa(fi.DevCount)
	case xattrChecksum:
		if fi.Checksum == "" {
			return 0, syscall.ENODATA
		}
		v = fi.Checksum
	}
	return copyOut(dest, v)
}

// Setxattr implements fs.NodeSetxattrer: only the class can be set.
func (n *fileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if !isOurXattr(attr) {
		return syscall.ENOTSUP
	}
	if attr != xattrClass {
		return syscall.EPERM
	}
	if n.fsys.cfg.ReadOnly {
		return syscall.EROFS
	}
	class := strings.TrimSpace(string(data))
	if class == "" {
		return syscall.EINVAL
	}
	l, errno := n.fsys.locate(&n.Inode)
	if errno != 0 {
		return errno
	}
	if err := n.fsys.space.Backend().UpdateClass(bg(ctx), l.domain, l.key, class); err != nil {
		return toErrno(n.fsys.log, "set class", err, "domain", l.domain, "key", l.key, "class", class)
	}
	n.mu.Lock()
	n.info.Class = class
	n.mu.Unlock()
	return 0
}

// Listxattr implements fs.NodeListxattrer.
func (n *fileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	var b strings.Builder
	for _, x := range xattrNames {
		b.WriteString(x)
		b.WriteByte(0)
	}
	return copyOut(dest, b.String())
}

// Removexattr implements fs.NodeRemovexattrer.
func (n *fileNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if isOurXattr(attr) {
		return syscall.EPERM
	}
	return noXattr(attr)
}

// Getxattr implements fs.NodeGetxattrer: directories have no extended
// attributes.
func (d *dirNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, noXattr(attr)
}

// Getxattr implements fs.NodeGetxattrer: the list of domains has no
// extended attributes.
func (r *rootNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, noXattr(attr)
}

// Setxattr implements fs.NodeSetxattrer: directories have no extended
// attributes. An ACL (system.posix_acl_*) gets EOPNOTSUPP, which tells
// cp -a and rsync -A that the filesystem has none (go-fuse's default,
// ENODATA, made cp -a report a failure for every directory).
func (d *dirNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}

// Removexattr implements fs.NodeRemovexattrer.
func (d *dirNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return noXattr(attr)
}

// Listxattr implements fs.NodeListxattrer: none.
func (d *dirNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	return 0, 0
}

// Setxattr implements fs.NodeSetxattrer: the list of domains has no
// extended attributes.
func (r *rootNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}
