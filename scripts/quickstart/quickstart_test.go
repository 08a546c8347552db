package quickstart

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// foreignEnv makes the test binary the "foreign server" of
// the "foreign tracker" part of TestQuickStart: it listens on 127.0.0.1:7001 and
// accepts nothing until its stdin closes; then it takes every connection
// waiting in the accept queue, reads each to its end (the clients have
// closed them by then) and prints how many there were and how many bytes
// they sent. Counting after the fact makes the answer exact.
const foreignEnv = "QUICKSTART_FOREIGN_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(foreignEnv) != "" {
		os.Exit(foreignServer())
	}
	os.Exit(m.Run())
}

func foreignServer() int {
	ln, err := net.Listen("tcp", "127.0.0.1:7001")
	if err != nil {
		fmt.Fprintln(os.Stderr, "foreign server:", err)
		return 1
	}
	fmt.Println("listening")
	io.Copy(io.Discard, os.Stdin)
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "foreign server:", err)
		return 1
	}
	var fds []int
	var acceptErr error
	err = rc.Control(func(fd uintptr) {
		for { // the listener is non-blocking: EAGAIN once the queue is empty
			nfd, _, err := syscall.Accept(int(fd))
			if err == syscall.EAGAIN {
				return
			}
			if err != nil {
				acceptErr = err
				return
			}
			fds = append(fds, nfd)
		}
	})
	if err == nil {
		err = acceptErr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "foreign server: accept:", err)
		return 1
	}
	total := 0
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "conn")
		n, err := io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "foreign server: read:", err)
			return 1
		}
		total += int(n)
	}
	fmt.Printf("connections %d bytes %d\n", len(fds), total)
	return 0
}

// need skips the test (or fails it under CI=true) unless it can run: root
// for unshare -n and the FUSE mount, and the tools it drives.
func need(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"unshare", "nsenter", "ip", "git", "make", "go", "fusermount3", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if fi, err := os.Stat("/dev/fuse"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		missing = append(missing, "/dev/fuse")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the quick start test cannot run here: missing %s", strings.Join(missing, ", "))
	}
	t.Skipf("SKIPPED: the quick start test needs %s (with CI=true this fails)", strings.Join(missing, ", "))
}

// freshClone clones the repository's HEAD (what is committed, as a new
// user would get it) into a temporary directory.
func freshClone(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mogilefs")
	if out, err := exec.Command("git", "clone", "-q", root, dir).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	return dir
}

// run is `make run` started in the background in its own process group.
type run struct {
	cmd  *exec.Cmd
	dir  string
	mu   sync.Mutex
	out  bytes.Buffer
	line chan string
	done chan struct{}
	err  error
}

// startRun starts `make run` in dir; prefix runs it in a network
// namespace (unshare -n … or nsenter -t PID -n …).
func startRun(t *testing.T, dir string, prefix ...string) *run {
	t.Helper()
	args := append(prefix, "sh", "-c", `ip link set lo up && exec make --no-print-directory run`)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	r := &run{cmd: cmd, dir: dir, line: make(chan string, 1000), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.mu.Lock()
			r.out.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.line <- sc.Text():
			default:
			}
		}
		pr.Close()
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		if mounted(filepath.Join(dir, "mnt")) {
			exec.Command("fusermount3", "-u", "-z", filepath.Join(dir, "mnt")).Run()
		}
		killLeftovers(dir)
	})
	return r
}

func (r *run) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// waitLine waits for a line containing s, or for the end of make run.
func (r *run) waitLine(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if strings.Contains(r.output(), s) {
			return
		}
		select {
		case <-r.line:
		case <-r.done:
			if strings.Contains(r.output(), s) {
				return
			}
			t.Fatalf("make run ended (%v) before printing %q:\n%s", r.err, s, r.output())
		case <-deadline:
			t.Fatalf("make run did not print %q within %v:\n%s", s, timeout, r.output())
		}
	}
}

// wait waits for make run and everything that held its output to end.
func (r *run) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("make run did not end within %v:\n%s", timeout, r.output())
		return nil
	}
}

// mounted reports whether dir is a mount point (also a stale one).
func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	esc := strings.ReplaceAll(dir, " ", `\040`)
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == esc {
			return true
		}
	}
	return false
}

// leftovers lists the processes running a binary of the clone.
func leftovers(dir string) []string {
	var out []string
	ps, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range ps {
		exe, err := os.Readlink(p)
		if err == nil && strings.HasPrefix(exe, filepath.Join(dir, "bin")+"/") {
			out = append(out, strings.TrimPrefix(filepath.Dir(p), "/proc/")+" "+exe)
		}
	}
	return out
}

func killLeftovers(dir string) {
	for _, l := range leftovers(dir) {
		var pid int
		if _, err := fmt.Sscan(l, &pid); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// checkNothingLeft waits (the processes may still be exiting after their
// parent) until no binary of the clone runs and ./mnt is not mounted.
func checkNothingLeft(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := leftovers(dir)
		mnt := mounted(filepath.Join(dir, "mnt"))
		if len(left) == 0 && !mnt {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after make run ended: still mounted=%v, still running %q", mnt, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestQuickStart runs the quick start in one fresh clone twice: alone (it
// must mount, store two copies and stop cleanly on SIGINT), then next to a
// foreign server on the tracker port (it must refuse). The second run reuses
// the first one's binaries, so only the first builds.
func TestQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole quick start")
	}
	need(t)
	dir := freshClone(t)
	if !t.Run("run", func(t *testing.T) { quickStart(t, dir) }) {
		return
	}
	t.Run("foreign tracker", func(t *testing.T) { refusesForeignTracker(t, dir) })
}

// twoCopies waits until mogfileinfo, run in the quick start's network
// namespace, lists two copies of key in class rep2.
func twoCopies(t *testing.T, dir string, ns []string, key string) {
	t.Helper()
	info := append(append([]string{}, ns...), filepath.Join(dir, "bin", "mogfileinfo"), "--trackers=127.0.0.1:7001", "--domain=files", "--key="+key)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := exec.Command(info[0], info[1:]...).CombinedOutput()
		fi := string(b)
		if err == nil && strings.Count(fi, " - http://") == 2 {
			if !strings.Contains(fi, "rep2") {
				t.Fatalf("mogfileinfo of %s:\n%s", key, fi)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has not two copies after 60 s (%v):\n%s", key, err, fi)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func quickStart(t *testing.T, dir string) {
	r := startRun(t, dir, "unshare", "-n", "--")
	r.waitLine(t, "Press Ctrl-C to stop everything.", 10*time.Minute)
	out := r.output()
	if !strings.Contains(out, "domain files mounted at ./mnt") || !mounted(filepath.Join(dir, "mnt")) {
		t.Fatalf("make run is ready but ./mnt is not mounted:\n%s", out)
	}

	// A file written through the mount gets class rep2: two copies.
	if err := os.MkdirAll(filepath.Join(dir, "mnt", "ci"), 0o755); err != nil {
		t.Fatal(err)
	}
	content := []byte("written through the quick start's mount\n")
	if err := os.WriteFile(filepath.Join(dir, "mnt", "ci", "hello.txt"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "mnt", "ci", "hello.txt")); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %q, %v", got, err)
	}
	ns := []string{"nsenter", "-t", fmt.Sprint(r.cmd.Process.Pid), "-n", "--"}
	twoCopies(t, dir, ns, "ci/hello.txt")

	// The gateway example the banner prints: curl -T, then curl back; the
	// key gets class rep2 too.
	body := filepath.Join(t.TempDir(), "gw.txt")
	gwContent := []byte("written through the quick start's gateway\n")
	if err := os.WriteFile(body, gwContent, 0o644); err != nil {
		t.Fatal(err)
	}
	put := append(ns, "curl", "-fsS", "-T", body, "http://127.0.0.1:7080/files/ci/gateway.txt")
	if b, err := exec.Command(put[0], put[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("curl -T through the gateway: %v\n%s", err, b)
	}
	get := append(ns, "curl", "-fsS", "http://127.0.0.1:7080/files/ci/gateway.txt")
	if b, err := exec.Command(get[0], get[1:]...).Output(); err != nil || !bytes.Equal(b, gwContent) {
		t.Fatalf("curl back through the gateway: %q, %v", b, err)
	}
	twoCopies(t, dir, ns, "ci/gateway.txt")
	if got, err := os.ReadFile(filepath.Join(dir, "mnt", "ci", "gateway.txt")); err != nil || !bytes.Equal(got, gwContent) {
		t.Fatalf("the gateway's key read through the mount: %q, %v", got, err)
	}

	// Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r.wait(t, 60*time.Second)
	if out := r.output(); !strings.Contains(out, "stopped; data stays in ./var") {
		t.Errorf("no clean stop reported:\n%s", out)
	}
	checkNothingLeft(t, dir)
}

func refusesForeignTracker(t *testing.T, dir string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The foreign server in a namespace of its own, on 127.0.0.1:7001.
	fs := exec.Command("unshare", "-n", "--", "sh", "-c", `ip link set lo up && exec "$0"`, self)
	fs.Env = append(os.Environ(), foreignEnv+"=1")
	stdin, err := fs.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := fs.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	fs.Stderr = &stderr
	if err := fs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fs.Process.Kill()
		fs.Wait()
	})
	fsOut := bufio.NewReader(stdout)
	if l, _ := fsOut.ReadString('\n'); l != "listening\n" {
		t.Fatalf("foreign server did not start: %q %s", l, stderr.String())
	}

	r := startRun(t, dir, "nsenter", "-t", fmt.Sprint(fs.Process.Pid), "-n", "--")
	err = r.wait(t, 10*time.Minute)
	out := r.output()
	if err == nil {
		t.Fatalf("make run succeeded next to a foreign tracker:\n%s", out)
	}
	for _, want := range []string{"refusing to start", "127.0.0.1:7001 (held by pid "} {
		if !strings.Contains(out, want) {
			t.Errorf("make run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MogileFS is running") {
		t.Errorf("make run reported a running cluster:\n%s", out)
	}
	checkNothingLeft(t, dir)
	// The foreign server was asked nothing: make run connected to see the
	// port busy, and closed without sending a byte.
	stdin.Close()
	l, _ := fsOut.ReadString('\n')
	var conns, n int
	if _, err := fmt.Sscanf(l, "connections %d bytes %d", &conns, &n); err != nil {
		t.Fatalf("foreign server report %q: %v %s", l, err, stderr.String())
	}
	if n != 0 || conns == 0 {
		t.Fatalf("the foreign server saw %d connections sending %d bytes; want some, sending nothing", conns, n)
	}
	t.Logf("the foreign server saw %d connections, no bytes", conns)
}
