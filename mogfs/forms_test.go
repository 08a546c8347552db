package mogfs_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestMountBackground: mogfs without -f returns only once the mount
// answers, fails with a message when it cannot mount, and leaves no
// process behind after fusermount3 -u.
func TestMountBackground(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "hello.txt", []byte("hello"))
	bin := mogtest.Binary(t, "mogfs")
	mnt := t.TempDir()
	cache := t.TempDir()
	cmd := exec.Command(bin, "--trackers="+e.cl.Tracker.Addr, "--domain="+e.domain, "--cache-dir="+cache, mnt)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mogfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { unmountWait(mnt) })
	// No waiting: it returned, so the mount must answer now.
	if !mogtest.IsFUSEMount(mnt) {
		t.Fatal("mogfs returned before the mount was ready")
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "hello.txt")); err != nil || string(got) != "hello" {
		t.Fatalf("read through the background mount: %q, %v", got, err)
	}
	if len(mogfsProcs(mnt)) != 1 {
		t.Fatalf("want one background mogfs process, have %v", mogfsProcs(mnt))
	}
	run(t, "fusermount3", "-u", mnt)
	waitNoProcess(t, mnt)

	// Failures are reported by the first process, with status 1.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--trackers=127.0.0.1:1", "--domain=" + e.domain}, "127.0.0.1:1"},
		{[]string{"--trackers=" + e.cl.Tracker.Addr, "--domain=nosuchdomain"}, `domain "nosuchdomain" does not exist`},
		{[]string{"--trackers=" + e.cl.Tracker.Addr, "-o", "domain=" + e.domain + ",bogus_option"}, `unknown mount option "bogus_option"`},
	} {
		cmd := exec.Command(bin, append(append(c.args, "--cache-dir="+cache, "--timeout=2s"), mnt)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err == nil || !errorsAs(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("mogfs %v succeeded: %s", c.args, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("mogfs %v said %q, want it to mention %q", c.args, out, c.want)
		}
		if mogtest.IsFUSEMount(mnt) {
			t.Fatalf("mogfs %v mounted anyway", c.args)
		}
	}
	waitNoProcess(t, mnt)
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// TestMountHelperForms mounts through mount(8): -t fuse.mogfs with a
// TRACKERS source, -t fuse with the trackers from a configuration file,
// and an fstab line. mount(8) runs mogfs through /sbin/mount.fuse with the
// shell's default PATH (or through /sbin/mount.fuse.mogfs where installed),
// so the test runs in a private mount namespace in which its freshly built
// mogfs is bind-mounted over /usr/local/bin (and over the helper).
func TestMountHelperForms(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING mount(8) forms: they need root (mount --bind, unshare)")
	}
	e := newEnv(t, 1)
	e.put(t, "hello.txt", []byte("hello"))
	binDir := t.TempDir()
	copyFile(t, mogtest.Binary(t, "mogfs"), filepath.Join(binDir, "mogfs"), 0o755)
	dir := t.TempDir()
	m1, m2, m3 := filepath.Join(dir, "m1"), filepath.Join(dir, "m2"), filepath.Join(dir, "m3")
	for _, m := range []string{m1, m2, m3} {
		if err := os.Mkdir(m, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	conf := filepath.Join(dir, "mogilefs.conf")
	writeFile(t, conf, fmt.Sprintf("trackers = %s\ndomain = %s\n", e.cl.Tracker.Addr, e.domain))
	fstab := filepath.Join(dir, "fstab")
	writeFile(t, fstab, fmt.Sprintf("%s %s fuse.mogfs domain=%s,cache_dir=%s,_netdev,nofail,noatime,x-systemd.automount 0 0\n",
		e.cl.Tracker.Addr, m3, e.domain, cache))
	// mount(8) prefers /sbin/mount.fuse.mogfs, which an installed package
	// (or dist's TestDebPackage, running alongside) links to its own
	// mogfs: in the namespace it runs the one under test too. Should the
	// link vanish before the bind, mount falls back to mount.fuse and PATH.
	script := fmt.Sprintf(`set -e
mount --bind %[1]s /usr/local/bin
if [ -e /sbin/mount.fuse.mogfs ]; then mount --bind %[1]s/mogfs /sbin/mount.fuse.mogfs || true; fi
mount -t fuse.mogfs %[2]s %[3]s -o domain=%[4]s,cache_dir=%[5]s
test "$(cat %[3]s/hello.txt)" = hello
echo one > %[3]s/form1.txt
grep -q ' %[3]s fuse.mogfs ' /proc/self/mounts
umount %[3]s
MOGUTILSCONF=%[6]s mount -t fuse mogfs %[7]s -o cache_dir=%[5]s
test "$(cat %[7]s/form1.txt)" = one
echo two > %[7]s/form2.txt
umount %[7]s
mount -T %[8]s %[9]s
test "$(cat %[9]s/form2.txt)" = two
echo three > %[9]s/form3.txt
umount %[9]s
`, binDir, e.cl.Tracker.Addr, m1, e.domain, cache, conf, m2, fstab, m3)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mount forms: %v\n%s", err, out)
	}
	for i, m := range []string{m1, m2, m3} {
		waitNoProcess(t, m)
		if got := string(e.get(t, fmt.Sprintf("form%d.txt", i+1))); got != []string{"one", "two", "three"}[i]+"\n" {
			t.Errorf("form%d.txt holds %q", i+1, got)
		}
	}
}

// TestMountAsUser mounts as an ordinary user (nobody) through
// fusermount3, uses the mount as that user, and unmounts with
// fusermount3 -u.
func TestMountAsUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: switching to user nobody needs root")
	}
	e := newEnv(t, 1)
	e.put(t, "hello.txt", []byte("hello"))
	// fusermount3 opens /dev/fuse as the user: distributions ship it
	// with mode 0666. A container may have 0600; open it up for the
	// test and put it back afterwards.
	if st, err := os.Stat("/dev/fuse"); err == nil && st.Mode().Perm()&0o006 != 0o006 {
		old := st.Mode().Perm()
		t.Logf("/dev/fuse has mode %v; making it 0666 (as distributions ship it) for this test", old)
		if err := os.Chmod("/dev/fuse", 0o666); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod("/dev/fuse", old) })
	}
	// A tree nobody can walk into.
	base, err := os.MkdirTemp("", "mogfs-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	mnt, cache := filepath.Join(base, "mnt"), filepath.Join(base, "cache")
	for _, d := range []string{mnt, cache} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "mogfs")
	copyFile(t, mogtest.Binary(t, "mogfs"), bin, 0o755)
	asNobodyErr := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	asNobody := func(name string, args ...string) string {
		t.Helper()
		out, err := asNobodyErr(name, args...)
		if err != nil {
			t.Fatalf("as nobody: %s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	mountArgs := []string{"--trackers=" + e.cl.Tracker.Addr, "--domain=" + e.domain, "--cache-dir=" + cache}
	asNobody(bin, append(mountArgs, mnt)...)
	t.Cleanup(func() { unmountWait(mnt) })
	if !mogtest.IsFUSEMount(mnt) {
		t.Fatal("not mounted after mogfs returned")
	}
	if got := asNobody("cat", filepath.Join(mnt, "hello.txt")); got != "hello" {
		t.Fatalf("cat as nobody: %q", got)
	}
	asNobody("sh", "-c", "echo mine > "+filepath.Join(mnt, "user.txt"))
	if out := asNobody("ls", "-ln", mnt); !strings.Contains(out, " 65534 65534 ") {
		t.Errorf("files are not owned by the mounting user:\n%s", out)
	}
	asNobody("fusermount3", "-u", mnt)
	waitNoProcess(t, mnt)
	if got := string(e.get(t, "user.txt")); got != "mine\n" {
		t.Fatalf("user.txt holds %q", got)
	}

	// After kill -9, the next mount detaches the dead one with
	// fusermount3 -u -z and says so.
	asNobody(bin, append(mountArgs, mnt)...)
	pids := mogfsProcs(mnt)
	if len(pids) != 1 {
		t.Fatalf("want one background mogfs, have %v", pids)
	}
	kill9(t, pids[0])
	// (root's statfs of another user's FUSE mount answers without asking it.)
	if out, err := asNobodyErr("stat", "-f", mnt); err == nil || !strings.Contains(out, "not connected") && !strings.Contains(out, "abort") {
		t.Fatalf("stat -f as nobody after kill -9 of mogfs: %v: %s", err, out)
	}
	if out := asNobody(bin, append(mountArgs, mnt)...); !strings.Contains(out, "cleaned a stale mogfs mount") || !strings.Contains(out, "fusermount3 -u -z") {
		t.Errorf("mogfs as nobody on a stale mount point said %q", out)
	}
	if got := asNobody("cat", filepath.Join(mnt, "user.txt")); got != "mine\n" {
		t.Fatalf("cat after remounting: %q", got)
	}
	asNobody("fusermount3", "-u", mnt)
	waitNoProcess(t, mnt)

	// fusermount3's own reason for refusing reaches the user through the
	// background process: here, a mount point nobody may not write to.
	rootOnly := filepath.Join(base, "rootonly")
	if err := os.Mkdir(rootOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := asNobodyErr(bin, append(mountArgs, rootOnly)...)
	if err == nil {
		t.Fatalf("mogfs as nobody on a directory of root's mounted: %s", out)
	}
	t.Logf("mogfs as nobody on a directory of root's said: %s", out)
	if !strings.Contains(out, "fusermount3: user has no write access to mountpoint "+rootOnly) || !strings.Contains(out, "fusermount3 failed") {
		t.Errorf("fusermount3's message did not reach the user: %q", out)
	}
	waitNoProcess(t, rootOnly)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
