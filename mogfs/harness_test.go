package mogfs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"golang.org/x/sys/unix"
)

// env is a cluster with one domain, and a client of it.
type env struct {
	cl     *mogtest.Cluster
	domain string
	c      *client.Client
}

func newEnv(t *testing.T, hosts int) *env {
	t.Helper()
	mogtest.NeedFUSE(t)
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: hosts, Domain: "fsdom", Classes: map[string]int{"one": 1}})
	c, err := client.New(client.Config{Domain: "fsdom", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second, PathCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{cl: cl, domain: "fsdom", c: c}
}

// waitMounted polls until dir is a FUSE mount, failing fast if the mogfs
// process ends.
func waitMounted(t *testing.T, dir string, p *mogtest.Proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !mogtest.IsFUSEMount(dir) {
		select {
		case <-p.Exited():
			t.Fatalf("mogfs exited before mounting:\n%s", p.Output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not mounted after 60 s:\n%s", dir, p.Output())
		}
	}
}

// unmount unmounts dir (umount(2) as root, fusermount3 otherwise).
func unmount(dir string) error {
	if os.Geteuid() == 0 {
		return syscall.Unmount(dir, 0)
	}
	out, err := exec.Command("fusermount3", "-u", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fusermount3 -u %s: %v: %s", dir, err, out)
	}
	return nil
}

// mountFG runs mogfs -f on a new directory and waits until it answers. At
// cleanup it unmounts, and checks that the process ended cleanly and
// reported no data race.
func (e *env) mountFG(t *testing.T, args ...string) string {
	t.Helper()
	mnt, _ := e.mountProc(t, args...)
	return mnt
}

// mountProc is mountFG that also returns the mogfs process.
func (e *env) mountProc(t *testing.T, args ...string) (string, *mogtest.Proc) {
	t.Helper()
	mnt := t.TempDir()
	return mnt, e.mountAt(t, mnt, args...)
}

// mountAt is mountProc on the directory mnt.
func (e *env) mountAt(t *testing.T, mnt string, args ...string) *mogtest.Proc {
	t.Helper()
	all := append([]string{"-f", "--trackers=" + e.cl.Tracker.Addr, "--cache-dir=" + t.TempDir()}, args...)
	all = append(all, mnt)
	p := mogtest.Start(t, mogtest.Binary(t, "mogfs"), all...)
	waitMounted(t, mnt, p)
	t.Cleanup(func() {
		if err := unmountWait(mnt); err != nil {
			t.Errorf("unmount: %v", err)
		}
		select {
		case <-p.Exited():
		case <-time.After(30 * time.Second):
			t.Errorf("mogfs still running 30 s after unmount")
		}
		if err := p.Cmd.ProcessState; err != nil && !err.Success() {
			t.Errorf("mogfs exited with %v:\n%s", err, p.Output())
		}
		if strings.Contains(p.Output(), "DATA RACE") {
			t.Errorf("mogfs reported a data race:\n%s", p.Output())
		}
	})
	return p
}

// unmountWait unmounts, retrying while the mount is busy (a process that
// just exited may still hold it for a moment).
func unmountWait(dir string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if !mogtest.IsFUSEMount(dir) {
			return nil
		}
		err := unmount(dir)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mogfsProcs lists the pids of processes whose command line mentions dir.
func mogfsProcs(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), dir) && strings.Contains(string(b), "mogfs") {
			out = append(out, pid)
		}
	}
	return out
}

// kill9 sends SIGKILL to pid (not a child of the test) and waits until it
// has exited. Its pidfd turns readable only then, after the process has
// closed its files; a scan of /proc cannot tell that moment: a dying
// process's command line reads empty while its threads still hold the FUSE
// device, and a request one of them reads then fails with EIO, not the
// ENOTCONN of a dead mount.
func kill9(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd of %d: %v", pid, err)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 30_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("wait for %d to exit: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("process %d still running 30 s after SIGKILL", pid)
		}
		return
	}
}

// waitNoProcess polls until no mogfs process mentions dir.
func waitNoProcess(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := mogfsProcs(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mogfs processes %v still running for %s", pids, dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs a command and fails the test with its output if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	// Once the command has ended, its output is waited for a bounded
	// time: a process started meanwhile that is stuck before its exec
	// (in a chdir into a FUSE mount, say) holds a copy of the pipe, and
	// Wait would never return (a CI run hung so in cleanups of rm -r).
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrWaitDelay) {
		t.Logf("%s %s ended, but its output pipe stayed open %v longer (another process holds it)", name, strings.Join(args, " "), cmd.WaitDelay)
		err = nil
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func ctx(t *testing.T) context.Context { return mogtest.Context(t) }

// get reads a key through the client.
func (e *env) get(t *testing.T, key string) []byte {
	t.Helper()
	b, err := e.c.GetBytes(ctx(t), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return b
}

func (e *env) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := e.c.StoreBytes(ctx(t), key, "", data); err != nil {
		t.Fatalf("store %q: %v", key, err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
