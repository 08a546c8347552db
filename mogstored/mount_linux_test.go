package mogstored

import "syscall"

func mountFS(source, target, fstype string, flags uintptr, data string) error {
	return syscall.Mount(source, target, fstype, flags, data)
}

func unmount(target string) error { return syscall.Unmount(target, 0) }

func remountReadOnly(target string) error {
	return syscall.Mount("", target, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
}
