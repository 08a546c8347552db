// Package mountcmd is the mogfs command: it reads the command line in the
// forms mogfs, mount(8) and /etc/fstab use (flags, -o options, a TRACKERS
// source, the MogileFS configuration files), mounts the filesystem of
// package mogfs, and goes to the background.
//
// Going to the background: the command starts itself again with the
// environment variable MOGFS_DAEMON_FD naming a pipe, in a new session,
// with its standard streams on /dev/null. The new process mounts, checks
// that the mount answers (statfs reports FUSE), writes "OK" or "ERR
// <message>" on the pipe and serves; the first process waits for that
// line and exits 0, or prints the message and exits 1. So `mogfs` and
// `mount -t fuse.mogfs` return only once the mount works, or with the
// reason it does not. The background process ends when the filesystem is
// unmounted (umount, fusermount3 -u, or SIGINT/SIGTERM, which unmount).
package mountcmd
