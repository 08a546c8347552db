package mogtest

import (
	"os"
	"syscall"
	"testing"
)

// fuseSuperMagic is the f_type statfs reports for a FUSE mount.
const fuseSuperMagic = 0x65735546

// NeedFUSE skips the test, loudly, when /dev/fuse cannot be used; with
// CI=true it fails instead, so CI never passes without the mount tests.
func NeedFUSE(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err == nil {
		f.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("/dev/fuse is not usable but CI=true: %v", err)
	}
	t.Skipf("SKIPPING FUSE test: /dev/fuse is not usable: %v", err)
}

// IsFUSEMount reports whether dir is a FUSE mount.
func IsFUSEMount(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && st.Type == fuseSuperMagic
}
