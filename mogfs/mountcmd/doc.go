// Package mountcmd is the mogfs command: it reads the command line in the
// forms mogfs, mount(8) and /etc/fstab use (flags, -o options, a TRACKERS
// source, the MogileFS configuration files), mounts the filesystem of
// package mogfs, and goes to the background.
//
// Going to the background: the command starts itself again with the
// environment variable MOGFS_DAEMON_FD naming a pipe, in a new session,
// with stdin and stdout on /dev/null and stderr on a second pipe. The new
// process mounts, checks that the mount answers (statfs reports FUSE),
// lets go of the stderr pipe (stderr becomes its log file, or /dev/null),
// writes "OK" or "ERR <message>" on the first pipe and serves; the first
// process copies the stderr pipe to its own stderr until its end (the
// warnings of the background process, and fusermount3's own messages),
// then reads that line and exits 0, or prints the message and exits 1. So
// `mogfs` and `mount -t fuse.mogfs` return only once the mount works, or
// with the reason it does not. The background process ends when the
// filesystem is unmounted (umount, fusermount3 -u, or SIGINT/SIGTERM,
// which unmount).
//
// Before mounting, the mount point is checked (mountpoint.go): a stale
// mogfs mount left by a killed process is detached, a live mount or a
// non-empty directory draws a warning. The domain and the class must
// exist on the trackers.
package mountcmd
