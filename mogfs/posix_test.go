package mogfs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSymlinksAndSpecialFiles: symbolic links, FIFOs, sockets and device
// nodes are keys, seen alike by a second mount and (as their content) by
// the client library.
func TestSymlinksAndSpecialFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	a := e.mountFG(t, "--domain="+e.domain)
	b := e.mountFG(t, "--domain="+e.domain)

	if err := os.MkdirAll(filepath.Join(a, "d/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := "../" + strings.Repeat("x", 300) + "/target"
	if err := os.Symlink(target, filepath.Join(a, "d/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(a, "d/rel")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(a, "d/fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(a, "d/sock"), syscall.S_IFSOCK|0o600, 0); err != nil {
		t.Fatal(err)
	}
	dev := int(unix.Mkdev(8, 1))
	if os.Geteuid() == 0 {
		if err := syscall.Mknod(filepath.Join(a, "d/blk"), syscall.S_IFBLK|0o640, dev); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mknod(filepath.Join(a, "d/plain"), syscall.S_IFREG|0o600, 0); err != nil {
		t.Fatal(err)
	}
	for _, mnt := range []string{a, b} {
		if got, err := os.Readlink(filepath.Join(mnt, "d/link")); err != nil || got != target {
			t.Fatalf("readlink on %s: %q, %v", mnt, got, err)
		}
		st := lstat(t, filepath.Join(mnt, "d/link"))
		if st.Mode&syscall.S_IFMT != syscall.S_IFLNK || st.Size != int64(len(target)) {
			t.Fatalf("lstat of the link on %s: mode %o size %d", mnt, st.Mode, st.Size)
		}
		// The relative link resolves on the mount.
		if st, err := os.Stat(filepath.Join(mnt, "d/rel")); err != nil || !st.IsDir() {
			t.Fatalf("stat through the link on %s: %v, %v", mnt, st, err)
		}
		if st := lstat(t, filepath.Join(mnt, "d/fifo")); st.Mode != syscall.S_IFIFO|0o640 {
			t.Fatalf("fifo on %s: mode %o", mnt, st.Mode)
		}
		if st := lstat(t, filepath.Join(mnt, "d/sock")); st.Mode != syscall.S_IFSOCK|0o600 {
			t.Fatalf("socket on %s: mode %o", mnt, st.Mode)
		}
		if os.Geteuid() == 0 {
			if st := lstat(t, filepath.Join(mnt, "d/blk")); st.Mode != syscall.S_IFBLK|0o640 || int(st.Rdev) != dev {
				t.Fatalf("block device on %s: mode %o rdev %x", mnt, st.Mode, st.Rdev)
			}
		}
		if st := lstat(t, filepath.Join(mnt, "d/plain")); st.Mode != syscall.S_IFREG|0o600 || st.Size != 0 {
			t.Fatalf("mknod of a regular file on %s: mode %o", mnt, st.Mode)
		}
		// The listing gives each entry's type.
		out := run(t, "find", filepath.Join(mnt, "d"), "-mindepth", "1", "-printf", "%P %y\n")
		for _, want := range []string{"link l", "rel l", "fifo p", "sock s", "plain f", "sub d"} {
			if !strings.Contains(out, want+"\n") {
				t.Fatalf("find on %s lacks %q:\n%s", mnt, want, out)
			}
		}
	}
	// An original client reads the link's target as the key's content.
	if got := string(e.get(t, "d/link")); got != target {
		t.Fatalf("content of the link key: %q", got)
	}
	// A FIFO works through the kernel: a writer and a reader meet.
	go func() {
		if f, err := os.OpenFile(filepath.Join(a, "d/fifo"), os.O_WRONLY, 0); err == nil {
			f.WriteString("through the pipe")
			f.Close()
		}
	}()
	if got := mustRead(t, filepath.Join(a, "d/fifo")); string(got) != "through the pipe" {
		t.Fatalf("read from the fifo: %q", got)
	}
	// Rename and unlink of a link act on the link.
	if err := os.Rename(filepath.Join(a, "d/link"), filepath.Join(a, "d/link2")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(filepath.Join(b, "d/link2")); err != nil || got != target {
		t.Fatalf("readlink after rename: %q, %v", got, err)
	}
	if err := os.Remove(filepath.Join(a, "d/link2")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(a, "d/link2")); !os.IsNotExist(err) {
		t.Fatalf("link after unlink: %v", err)
	}
	// A target longer than PATH_MAX is refused.
	if err := os.Symlink(strings.Repeat("y", 4096), filepath.Join(a, "d/long")); err == nil {
		t.Fatal("a 4096-byte target was accepted")
	}
}

// TestOwnership: chown persists and is seen by other mounts; files made by
// another user through allow_other are theirs; a set-group-ID directory
// passes its group on; the kernel enforces permissions on what mogfs
// reports.
func TestOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown and running as other users")
	}
	t.Parallel()
	e := newEnv(t, 2)
	// No attribute cache: stat on one mount sees the other's change.
	a := e.mountFG(t, "--domain="+e.domain, "--allow-other", "--ttl=0")
	b := e.mountFG(t, "--domain="+e.domain, "--allow-other", "--ttl=0")
	for _, mnt := range []string{a, b} { // other users must reach the mount points
		if err := os.Chmod(filepath.Dir(mnt), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := filepath.Join(a, "owned")
	if err := os.WriteFile(f, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(b, "owned")); st.Uid != 0 || st.Gid != 0 {
		t.Fatalf("a new file of the mount's owner: %d:%d", st.Uid, st.Gid)
	}
	if err := os.Lchown(f, 65534, 65533); err != nil {
		t.Fatal(err)
	}
	for _, mnt := range []string{a, b} {
		if st := lstat(t, filepath.Join(mnt, "owned")); st.Uid != 65534 || st.Gid != 65533 {
			t.Fatalf("after chown on %s: %d:%d", mnt, st.Uid, st.Gid)
		}
	}
	// An overwrite keeps the owner.
	if err := os.WriteFile(filepath.Join(b, "owned"), []byte("still theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(a, "owned")); st.Uid != 65534 || st.Gid != 65533 || st.Size != 12 {
		t.Fatalf("after an overwrite: %d:%d size %d", st.Uid, st.Gid, st.Size)
	}
	// Another user writes through allow_other: the file is theirs, and
	// the kernel refuses them a file that is not.
	if err := os.Mkdir(filepath.Join(a, "pub"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(a, "pub"), 0o777); err != nil {
		t.Fatal(err)
	}
	asUser(t, 4242, 4343, "sh", "-c", "echo hi > "+filepath.Join(a, "pub/theirs"))
	if st := lstat(t, filepath.Join(b, "pub/theirs")); st.Uid != 4242 || st.Gid != 4343 {
		t.Fatalf("file made by uid 4242: %d:%d", st.Uid, st.Gid)
	}
	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := userCmd(4242, 4343, "cat", f).CombinedOutput(); err == nil {
		t.Fatalf("uid 4242 read a 0600 file of uid 65534: %s", out)
	}
	// Set-group-ID directory: new entries take its group.
	sg := filepath.Join(a, "sgid")
	if err := os.Mkdir(sg, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(sg, 0, 777); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(sg, 0o2777); err != nil {
		t.Fatal(err)
	}
	asUser(t, 4242, 4343, "sh", "-c", "echo x > "+filepath.Join(sg, "f")+" && mkdir "+filepath.Join(sg, "sub"))
	if st := lstat(t, sg); st.Gid != 777 || st.Mode&syscall.S_ISGID == 0 {
		t.Fatalf("set-group-ID directory: gid %d mode %o", st.Gid, st.Mode)
	}
	if st := lstat(t, filepath.Join(b, "sgid/f")); st.Gid != 777 {
		t.Fatalf("file in a set-group-ID directory: gid %d", st.Gid)
	}
	if st := lstat(t, filepath.Join(b, "sgid/sub")); st.Gid != 777 || st.Mode&syscall.S_ISGID == 0 {
		t.Fatalf("directory in a set-group-ID directory: gid %d mode %o", st.Gid, st.Mode)
	}
	// A write by someone else clears set-user-ID.
	su := filepath.Join(a, "pub/suid")
	if err := os.WriteFile(su, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(su, 0o4777); err != nil {
		t.Fatal(err)
	}
	asUser(t, 4242, 4343, "sh", "-c", "echo more >> "+su)
	if st := lstat(t, filepath.Join(b, "pub/suid")); st.Mode&syscall.S_ISUID != 0 {
		t.Fatalf("set-user-ID kept after another user's write: %o", st.Mode)
	}
}

func lstat(t *testing.T, p string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return st
}

func userCmd(uid, gid uint32, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	return cmd
}

func asUser(t *testing.T, uid, gid uint32, name string, args ...string) {
	t.Helper()
	if out, err := userCmd(uid, gid, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v as %d:%d: %v\n%s", name, args, uid, gid, err, out)
	}
}
