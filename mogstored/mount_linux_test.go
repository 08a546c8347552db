package mogstored

import "syscall"

func mountFS(source, target, fstype string, flags uintptr, data string) error {
	return syscall.Mount(source, target, fstype, flags, data)
}

// unmount detaches the mount at once (MNT_DETACH): the test's node may
// still be running, with a descriptor open in it, when cleanups run.
func unmount(target string) error { return syscall.Unmount(target, syscall.MNT_DETACH) }

func remountReadOnly(target string) error {
	return syscall.Mount("", target, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
}
