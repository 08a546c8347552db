package mogfs_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// mogfsFails runs mogfs with args and checks that it exits with status 1,
// saying want, and leaves nothing mounted on mnt.
func mogfsFails(t *testing.T, mnt, want string, args ...string) {
	t.Helper()
	out, err := exec.Command(mogtest.Binary(t, "mogfs"), append(args, mnt)...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("mogfs %v: %v, want exit status 1:\n%s", args, err, out)
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("mogfs %v said %q, want it to mention %q", args, out, want)
	}
	if mogtest.IsFUSEMount(mnt) {
		t.Fatalf("mogfs %v mounted anyway", args)
	}
}

// TestMountUnknownClass: a --class the tracker does not know refuses the
// mount, in the foreground and in the background, with the reason.
func TestMountUnknownClass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	mnt, cache := t.TempDir(), t.TempDir()
	base := []string{"--trackers=" + e.cl.Tracker.Addr, "--cache-dir=" + cache}
	for _, fg := range []bool{true, false} {
		args := append([]string{}, base...)
		if fg {
			args = append(args, "-f")
		}
		mogfsFails(t, mnt, `class "nosuch" does not exist in domain "fsdom"`, append(args, "--domain=fsdom", "--class=nosuch")...)
		mogfsFails(t, mnt, `class "nosuch" does not exist in any domain`, append(args, "-o", "class=nosuch")...)
	}
	waitNoProcess(t, mnt)
}

// TestClassDeletedWhileMounted: once a commit found the class deleted,
// opens for writing fail with EIO at open, and work again once the class
// is back.
func TestClassDeletedWhileMounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "old.txt", []byte("old"))
	mnt, p := e.mountProc(t, "--domain="+e.domain, "--class=one")
	adm := admin.New(e.c)
	if err := adm.DeleteClass(ctx(t), e.domain, "one"); err != nil {
		t.Fatal(err)
	}
	// The mount does not know yet: the commit at close fails.
	if err := os.WriteFile(filepath.Join(mnt, "a.txt"), []byte("a"), 0o644); !errors.Is(err, syscall.EIO) {
		t.Fatalf("write with the class deleted: %v, want EIO at close", err)
	}
	// The log names the class and its domain.
	p.WaitOutput(t, `does not exist (deleted while mounted?): opens for writing fail with EIO until it exists again" class=one domain=fsdom`, 10*time.Second)
	// Now every open for writing fails at once.
	for _, c := range []struct {
		name  string
		flags int
	}{
		{"b.txt", os.O_WRONLY | os.O_CREATE | os.O_TRUNC},
		{"old.txt", os.O_WRONLY},
		{"old.txt", os.O_RDWR},
	} {
		f, err := os.OpenFile(filepath.Join(mnt, c.name), c.flags, 0o644)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, syscall.EIO) {
			t.Errorf("open %s %#x with the class deleted: %v, want EIO", c.name, c.flags, err)
		}
	}
	if got := string(mustRead(t, filepath.Join(mnt, "old.txt"))); got != "old" {
		t.Errorf("read old.txt: %q", got)
	}
	if err := adm.CreateClass(ctx(t), e.domain, "one", admin.ClassArgs{MinDevCount: 1}); err != nil {
		t.Fatal(err)
	}
	// A check is due at most a few seconds after the last.
	deadline := time.Now().Add(30 * time.Second)
	var f *os.File
	for {
		var err error
		f, err = os.OpenFile(filepath.Join(mnt, "c.txt"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EIO) || time.Now().After(deadline) {
			t.Fatalf("open for writing after the class is back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := f.WriteString("back"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close after the class is back: %v", err)
	}
	p.WaitOutput(t, `exists again: writes resume" class=one domain=fsdom`, 10*time.Second)
	if got := string(e.get(t, "c.txt")); got != "back" {
		t.Errorf("c.txt holds %q", got)
	}
	fi, err := e.c.FileInfo(ctx(t), "c.txt")
	if err != nil || fi.Class != "one" {
		t.Errorf("c.txt class %q, %v; want one", fi.Class, err)
	}
}

// TestMountStale: after kill -9 of mogfs its mount point is a dead mount
// (ENOTCONN); mounting there again, in the background or the foreground,
// detaches it and says so.
func TestMountStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "hello.txt", []byte("hello"))
	mnt := t.TempDir()
	// If the test stops half way, leave no dead mount behind.
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	bin := mogtest.Binary(t, "mogfs")
	p := mogtest.Start(t, bin, "-f", "--trackers="+e.cl.Tracker.Addr, "--domain="+e.domain, "--cache-dir="+t.TempDir(), mnt)
	waitMounted(t, mnt, p)
	// Killed only once it has checked its own mount (a statfs of it): a
	// FUSE server killed while it waits on its own mount cannot exit
	// until the connection is aborted.
	p.WaitOutput(t, "msg=mounted", 10*time.Second)
	p.Kill()
	needStale(t, mnt)

	out, err := exec.Command(bin, "--trackers="+e.cl.Tracker.Addr, "--domain="+e.domain, "--cache-dir="+t.TempDir(), mnt).CombinedOutput()
	if err != nil {
		t.Fatalf("background mount on a stale mount point: %v\n%s", err, out)
	}
	t.Logf("background mogfs said: %s", out)
	if !strings.Contains(string(out), "cleaned a stale mogfs mount") {
		t.Errorf("background mogfs did not say it cleaned the stale mount: %q", out)
	}
	if got := string(mustRead(t, filepath.Join(mnt, "hello.txt"))); got != "hello" {
		t.Fatalf("read after remounting: %q", got)
	}
	pids := mogfsProcs(mnt)
	if len(pids) != 1 {
		t.Fatalf("want one background mogfs, have %v", pids)
	}
	kill9(t, pids[0])
	needStale(t, mnt)

	p = e.mountAt(t, mnt, "--domain="+e.domain)
	p.WaitOutput(t, "cleaned a stale mogfs mount", 10*time.Second)
	if got := string(mustRead(t, filepath.Join(mnt, "hello.txt"))); got != "hello" {
		t.Fatalf("read after remounting in the foreground: %q", got)
	}
}

// needStale checks that mnt is a dead mount: statfs says ENOTCONN (stat
// too, once the kernel's cached attributes expire), or ECONNABORTED when
// the kernel had requests under way.
func needStale(t *testing.T, mnt string) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); !errors.Is(err, syscall.ENOTCONN) && !errors.Is(err, syscall.ECONNABORTED) {
		t.Fatalf("statfs %s after kill -9 of mogfs: %v, want ENOTCONN", mnt, err)
	}
}

// TestMountWarnings: mounting over a non-empty directory or over a live
// mount works and warns, through the background process's report.
func TestMountWarnings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "hello.txt", []byte("hello"))
	mnt := t.TempDir()
	writeFile(t, filepath.Join(mnt, "hidden.txt"), "hidden")
	bin := mogtest.Binary(t, "mogfs")
	logFile := filepath.Join(t.TempDir(), "mogfs.log")
	args := []string{"--trackers=" + e.cl.Tracker.Addr, "--domain=" + e.domain, "--cache-dir=" + t.TempDir(), "--log-file=" + logFile, mnt}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mount over a non-empty directory: %v\n%s", err, out)
	}
	t.Cleanup(func() { unmountWait(mnt) })
	t.Logf("mogfs over a non-empty directory said: %s", out)
	if !strings.Contains(string(out), "warning: the mount point is not empty") {
		t.Errorf("no warning about the non-empty mount point: %q", out)
	}
	if log := string(mustRead(t, logFile)); !strings.Contains(log, `msg="the mount point is not empty`) {
		t.Errorf("the warning is not in the log file:\n%s", log)
	}
	out, err = exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("mount over a live mount: %v\n%s", err, out)
	}
	t.Logf("mogfs over a live mount said: %s", out)
	if !strings.Contains(string(out), "warning: the mount point is already a mount point") || !strings.Contains(string(out), "fstype=fuse.mogfs") {
		t.Errorf("no warning about the live mount: %q", out)
	}
	if got := string(mustRead(t, filepath.Join(mnt, "hello.txt"))); got != "hello" {
		t.Fatalf("read through the top mount: %q", got)
	}
	run(t, "fusermount3", "-u", mnt)
	run(t, "fusermount3", "-u", mnt)
	waitNoProcess(t, mnt)
	if got := string(mustRead(t, filepath.Join(mnt, "hidden.txt"))); got != "hidden" {
		t.Errorf("the directory's own file after unmounting: %q", got)
	}
}
