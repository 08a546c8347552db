//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package mogstored

import (
	"syscall"
	"unsafe"
)

const (
	sysOpenat2        = 437 // on every Linux architecture but mips
	resolveNoMagic    = 0x02
	resolveNoSymlinks = 0x04
	resolveBeneath    = 0x08
	openHowSize       = 24
	oPath             = 0x200000 // O_PATH
)

type openHow struct {
	flags   uint64
	mode    uint64
	resolve uint64
}

// openBeneath opens path relative to the directory dirfd with openat2(2)
// and RESOLVE_BENEATH: the kernel refuses any resolution step ("..",
// absolute or escaping symlinks, /proc magic links) that would leave dirfd.
func openBeneath(dirfd int, path string, flags int) (int, error) {
	return openat2(dirfd, path, flags, resolveBeneath|resolveNoMagic)
}

// openBeneathNoLinks is openBeneath refusing every symlink on the way
// (ELOOP): what it opens is the very path named, beneath dirfd.
func openBeneathNoLinks(dirfd int, path string, flags int) (int, error) {
	return openat2(dirfd, path, flags, resolveBeneath|resolveNoMagic|resolveNoSymlinks)
}

func openat2(dirfd int, path string, flags int, resolve uint64) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	how := openHow{flags: uint64(flags | syscall.O_CLOEXEC), resolve: resolve}
	for {
		fd, _, e := syscall.Syscall6(sysOpenat2, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(unsafe.Pointer(&how)), openHowSize, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(fd), nil
	}
}
