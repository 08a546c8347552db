package dist_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// mountEnv is the environment of mount(8): the system's PATH only, so
// mount.fuse finds the installed mogfs and nothing else, and a HOME
// without a ~/.mogilefs.conf.
func mountEnv(home string) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home}
}

// mountForms mounts the cluster's domain through mount(8) in the three
// ways the package supports: -t fuse.mogfs with the trackers as source
// (mount runs /sbin/mount.fuse.mogfs), an fstab line (mount -T), and -t
// fuse with every setting in -o (mount.fuse runs mogfs from PATH). Each
// mount reads what the one before wrote and writes a file of its own.
func mountForms(t *testing.T, c *cluster) {
	mogtest.NeedFUSE(t)
	cache := filepath.Join(c.work, "cache")
	var m [3]string
	for i := range m {
		m[i] = filepath.Join(c.work, fmt.Sprintf("m%d", i+1))
		if err := os.MkdirAll(m[i], 0o755); err != nil {
			t.Fatal(err)
		}
		dir := m[i]
		t.Cleanup(func() {
			if mogtest.IsFUSEMount(dir) {
				exec.Command("umount", "-l", dir).Run()
			}
		})
	}
	fstab := filepath.Join(c.work, "fstab")
	line := fmt.Sprintf("%s %s fuse.mogfs domain=%s,cache_dir=%s,_netdev,nofail,noatime 0 0\n", c.tracker, m[1], c.domain, cache)
	if err := os.WriteFile(fstab, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	// mount(8) runs the helper /sbin/mount.fuse.mogfs for fuse.mogfs,
	// and mount.fuse runs "mogfs" from PATH for -t fuse: the serving
	// process's argv[0] tells which ran.
	argv0 := []string{"/sbin/mount.fuse.mogfs", "/sbin/mount.fuse.mogfs", "mogfs"}
	forms := [][]string{
		{"-t", "fuse.mogfs", c.tracker, m[0], "-o", "domain=" + c.domain + ",cache_dir=" + cache},
		{"-T", fstab, m[1]},
		{"-t", "fuse", "-o", "trackers=" + c.tracker + ",domain=" + c.domain + ",cache_dir=" + cache, "mogfs", m[2]},
	}
	for i, args := range forms {
		run(t, "", mountEnv(c.work), "mount", args...)
		if !mogtest.IsFUSEMount(m[i]) {
			t.Fatalf("mount %v: %s is no FUSE mount", args, m[i])
		}
		checkServer(t, m[i], argv0[i])
		if i > 0 {
			prev := filepath.Join(m[i], fmt.Sprintf("form%d.txt", i))
			if b, err := os.ReadFile(prev); err != nil || string(b) != fmt.Sprintf("form %d\n", i) {
				t.Errorf("mount %v: %s holds %q (%v)", args, prev, b, err)
			}
		}
		name := fmt.Sprintf("form%d.txt", i+1)
		content := fmt.Sprintf("form %d\n", i+1)
		if err := os.WriteFile(filepath.Join(m[i], name), []byte(content), 0o644); err != nil {
			t.Fatalf("mount %v: write: %v", args, err)
		}
		if b, err := os.ReadFile(filepath.Join(m[i], name)); err != nil || string(b) != content {
			t.Errorf("mount %v: read back %q (%v)", args, b, err)
		}
		run(t, "", mountEnv(c.work), "umount", m[i])
		waitNoProcess(t, m[i])
		if got := c.fetch(t, name); got != content {
			t.Errorf("mogfetch %s after mount %v: %q", name, args, got)
		}
		t.Logf("mount %s: wrote and read %s, mogfetch has it", strings.Join(args, " "), name)
	}
}

// checkServer checks that the process serving dir runs the installed
// mogfs, started as argv0.
func checkServer(t *testing.T, dir, argv0 string) {
	t.Helper()
	pids := processesWith(dir)
	if len(pids) != 1 {
		t.Fatalf("%d processes serve %s: %v", len(pids), dir, pids)
	}
	exe, err := os.Readlink("/proc/" + pids[0] + "/exe")
	if err != nil || exe != "/usr/bin/mogfs" {
		t.Errorf("%s is served by %q (%v), not /usr/bin/mogfs", dir, exe, err)
	}
	b, _ := os.ReadFile("/proc/" + pids[0] + "/cmdline")
	if got, _, _ := bytes.Cut(b, []byte{0}); string(got) != argv0 {
		t.Errorf("%s is served by a process started as %q, want %q", dir, got, argv0)
	}
}

// waitNoProcess waits until no process has dir on its command line: the
// mogfs serving it has exited after the unmount.
func waitNoProcess(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := processesWith(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still serve %s 30 s after umount", pids, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func processesWith(arg string) []string {
	var out []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				out = append(out, strings.Split(f, "/")[2])
				break
			}
		}
	}
	return out
}
