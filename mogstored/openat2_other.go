//go:build !linux || mips || mipsle || mips64 || mips64le

package mogstored

import "syscall"

// openBeneath is not available: the os.Root fallback is used.
func openBeneath(dirfd int, path string, flags int) (int, error) { return -1, syscall.ENOSYS }

// openBeneathNoLinks is not available either.
func openBeneathNoLinks(dirfd int, path string, flags int) (int, error) { return -1, syscall.ENOSYS }

const oPath = 0
