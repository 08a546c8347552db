package mogtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port on ip that was free a moment ago.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("free port on %s: %v", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeAddr returns "ip:port" with a free port.
func FreeAddr(t testing.TB, ip string) string {
	return net.JoinHostPort(ip, strconv.Itoa(FreePort(t, ip)))
}

// WaitPort waits until addr accepts TCP connections, failing the test after
// timeout. It polls with a short dial timeout: the event waited for is the
// port answering.
func WaitPort(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitPort(addr, timeout, nil); err != nil {
		t.Fatal(err)
	}
}

func waitPort(addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %v: %v", addr, timeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited before %s answered", addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// Binary builds ./cmd/<name> of this module (once per test process) and
// returns the path of the executable. Tests run with -race build the
// binaries with -race too.
func Binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "mogtest-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	root := moduleRoot(t)
	out := filepath.Join(buildDir, name)
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

func moduleRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("mogtest: cannot find module root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Proc is a started process.
type Proc struct {
	Cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	out    bytes.Buffer
	wrote  chan struct{} // closed (and replaced) at each write to out
	err    error
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.wrote != nil {
		close(w.p.wrote)
		w.p.wrote = nil
	}
	return w.p.out.Write(b)
}

// Start runs bin with args and registers a cleanup that kills it. Its
// combined output is kept and printed if the test fails.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.Cmd.Stdout = lockedWriter{p}
	p.Cmd.Stderr = lockedWriter{p}
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(killWait):
			// A process that SIGKILL does not end has a thread stuck in
			// the kernel (a request to a FUSE mount nobody answers):
			// say where, instead of hanging the test binary.
			t.Errorf("%s %v still running %v after SIGKILL; its threads' kernel stacks:\n%s",
				filepath.Base(bin), args, killWait, kernelStacks(p.Cmd.Process.Pid))
		}
		if t.Failed() {
			t.Logf("output of %s %v:\n%s", filepath.Base(bin), args, p.Output())
		}
	})
	return p
}

// killWait bounds the wait for a killed process to end.
const killWait = time.Minute

// kernelStacks returns the state and kernel stack of each thread of pid.
func kernelStacks(pid int) string {
	var b strings.Builder
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		stat, _ := os.ReadFile(filepath.Join(task, "stat"))
		stack, _ := os.ReadFile(filepath.Join(task, "stack"))
		fmt.Fprintf(&b, "%s: %s\n%s\n", filepath.Base(task), strings.TrimSpace(string(stat)), stack)
	}
	return b.String()
}

// WaitPort waits for addr to answer, failing fast if the process exits.
func (p *Proc) WaitPort(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	if err := waitPort(addr, timeout, p.exited); err != nil {
		t.Fatalf("%v\noutput:\n%s", err, p.Output())
	}
}

// Output returns what the process has printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// WaitOutput waits until the process has printed s, failing the test
// after timeout or when the process exits without printing it. What a
// process prints reaches Output through a pipe and a copying goroutine, so
// a line printed before a port answered may arrive after it.
func (p *Proc) WaitOutput(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if strings.Contains(p.out.String(), s) {
			p.mu.Unlock()
			return
		}
		if p.wrote == nil {
			p.wrote = make(chan struct{})
		}
		wrote := p.wrote
		p.mu.Unlock()
		select {
		case <-wrote:
		case <-p.exited:
			// Wait has returned, so the output is complete.
			if !strings.Contains(p.Output(), s) {
				t.Fatalf("%s exited without printing %q; output:\n%s", filepath.Base(p.Cmd.Path), s, p.Output())
			}
			return
		case <-timer.C:
			t.Fatalf("%s printed no %q in %v; output:\n%s", filepath.Base(p.Cmd.Path), s, timeout, p.Output())
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	if p.Cmd.Process != nil {
		p.Cmd.Process.Kill()
	}
	<-p.exited
}

// Stop sends SIGTERM and waits up to timeout for a clean exit; it returns
// the exit error (nil for status 0).
func (p *Proc) Stop(timeout time.Duration) error {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("did not exit within %v of SIGTERM", timeout)
	}
}

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Context returns a context for test I/O, cancelled at cleanup.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
