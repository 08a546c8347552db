package mountcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mogilefs-go/mogilefs/internal/mountinfo"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry = mountinfo.Mount

// mountsAt returns the mounts on dir, the topmost last, from the
// mountinfo text r.
func mountsAt(r io.Reader, dir string) ([]mountEntry, error) {
	all, err := mountinfo.Parse(r)
	return on(all, dir), err
}

// mountsOn lists the mounts on dir in this process's mount namespace.
func mountsOn(dir string) ([]mountEntry, error) {
	all, err := mountinfo.Read()
	return on(all, dir), err
}

// on keeps the mounts whose mount point is dir.
func on(all []mountEntry, dir string) []mountEntry {
	var out []mountEntry
	for _, m := range all {
		if m.Point == dir {
			out = append(out, m)
		}
	}
	return out
}

// canonical is dir made absolute with the symbolic links of its parent
// resolved (dir itself may be a dead mount, which cannot be resolved).
func canonical(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return abs, nil
	}
	base := filepath.Base(abs)
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if p, err := filepath.EvalSymlinks(abs); err == nil {
			return p, nil
		}
	}
	return filepath.Join(parent, base), nil
}

// isDeadConn reports whether err is what a FUSE mount whose process has
// ended gives.
func isDeadConn(err error) bool {
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// prepareMountpoint checks dir before mounting on it. A stale mogfs mount
// (its process killed: stat and statfs say "transport endpoint is not
// connected")
// is detached first; a live mount or a non-empty directory only draws a
// warning, since the kernel lets us mount over them. notice tells the
// user.
func prepareMountpoint(dir string, notice func(msg string, kv ...any)) error {
	// stat may answer from attributes the kernel still caches; statfs
	// always asks the (dead) filesystem.
	var sfs syscall.Statfs_t
	st, err := os.Stat(dir)
	if err == nil {
		if serr := syscall.Statfs(dir, &sfs); isDeadConn(serr) {
			err = &os.PathError{Op: "statfs", Path: dir, Err: serr}
		}
	}
	if isDeadConn(err) {
		if err := cleanStale(dir, notice); err != nil {
			return err
		}
		st, err = os.Stat(dir)
	}
	if err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("mount point %s is not a directory", dir)
	}
	if ms, err := mountsOn(dir); err == nil && len(ms) > 0 {
		top := ms[len(ms)-1]
		notice("the mount point is already a mount point; mounting over it hides it until this mount is unmounted",
			"mountpoint", dir, "fstype", top.FSType, "source", top.Source)
		return nil
	}
	if d, err := os.Open(dir); err == nil {
		names, _ := d.Readdirnames(1)
		d.Close()
		if len(names) > 0 {
			notice("the mount point is not empty; its files are hidden while mogfs is mounted", "mountpoint", dir)
		}
	}
	return nil
}

// cleanStale detaches the dead FUSE mount on dir: umount(2) with
// MNT_DETACH as root, fusermount3 -u -z otherwise.
func cleanStale(dir string, notice func(msg string, kv ...any)) error {
	ms, err := mountsOn(dir)
	if err != nil || len(ms) == 0 {
		return fmt.Errorf("mount point %s: transport endpoint is not connected, yet /proc/self/mountinfo lists no mount there (%v)", dir, err)
	}
	top := ms[len(ms)-1]
	if top.FSType != "fuse.mogfs" {
		return fmt.Errorf("mount point %s is a dead mount of type %s (its process has ended); unmount it first: fusermount3 -u %s",
			dir, top.FSType, dir)
	}
	var how string
	if os.Geteuid() == 0 {
		if err = syscall.Unmount(dir, syscall.MNT_DETACH); err == nil {
			how = "umount -l"
		}
	}
	if how == "" {
		out, ferr := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput()
		if ferr == nil {
			how, err = "fusermount3 -u -z", nil
		} else {
			err = fmt.Errorf("fusermount3 -u -z: %v: %s", ferr, strings.TrimSpace(string(out)))
		}
	}
	if err != nil {
		return fmt.Errorf("mount point %s is a stale mogfs mount (its process has ended) and detaching it failed: %v; run: fusermount3 -u %s",
			dir, err, dir)
	}
	notice("cleaned a stale mogfs mount (its process had ended) before mounting", "mountpoint", dir, "with", how, "source", top.Source)
	return nil
}
