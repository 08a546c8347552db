package main_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// alive reports whether pid is a live process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %v", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDaemonizeAndShutdown(t *testing.T) {
	bin := mogtest.Binary(t, "mogstored")
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "dev1"), 0o755)
	pidfile := filepath.Join(t.TempDir(), "mogstored.pid")
	httpAddr, mgmtAddr := mogtest.FreeAddr(t, "127.0.0.1"), mogtest.FreeAddr(t, "127.0.0.1")
	cmd := exec.Command(bin, "--skipconfig", "--daemonize", "--docroot="+root, "--httplisten="+httpAddr,
		"--mgmtlisten="+mgmtAddr, "--pidfile="+pidfile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("mogstored --daemonize: %v\n%s", err, stderr.String())
	}
	t.Logf("--daemonize returned after %v", time.Since(start))
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) || pid == cmd.Process.Pid {
		t.Fatalf("pidfile holds %q", b)
	}
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if sid, _ := getsid(pid); sid != pid {
		t.Errorf("daemon is not a session leader (sid %d)", sid)
	}
	// Both ports answer as soon as --daemonize has returned.
	for _, a := range []string{httpAddr, mgmtAddr} {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			t.Fatalf("%s not answering: %v", a, err)
		}
		c.Close()
	}
	resp, err := http.Get("http://" + httpAddr + "/dev1/usage")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("usage: %v %v", resp, err)
	}
	resp.Body.Close()
	// The test suite's mogstored-shutdown: EOF within 2 s, gone within 4 s.
	c, err := net.Dial("tcp", mgmtAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "shutdown\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown: %v, want EOF within 2 s", err)
	}
	waitGone(t, pid, 4*time.Second)
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Error("pidfile left behind")
	}
}

func getsid(pid int) (int, error) {
	sid, _, e := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(sid), nil
}

func TestDaemonizeReportsFailure(t *testing.T) {
	bin := mogtest.Binary(t, "mogstored")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cmd := exec.Command(bin, "--skipconfig", "--daemonize", "--docroot="+t.TempDir(),
		"--httplisten="+busy.Addr().String(), "--mgmtlisten="+mogtest.FreeAddr(t, "127.0.0.1"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("started on a busy port:\n%s", out)
	}
	if !strings.Contains(string(out), "address already in use") {
		t.Fatalf("error not shown:\n%s", out)
	}
}

func TestBadCommandLine(t *testing.T) {
	bin := mogtest.Binary(t, "mogstored")
	for _, args := range [][]string{{"--skipconfig", "--bogus"}, {"--skipconfig", "--server=apache"},
		{"--config=/nonexistent/mogstored.conf"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		if len(out) == 0 {
			t.Errorf("%v: no message", args)
		}
	}
	out, err := exec.Command(bin, "--help").Output()
	if err != nil || !strings.Contains(string(out), "--httplisten") {
		t.Errorf("--help: %v\n%s", err, out)
	}
}

// SIGTERM lets an upload in progress finish, then exits 0.
func TestSIGTERMIsGraceful(t *testing.T) {
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Args: []string{"--pidfile=" + filepath.Join(t.TempDir(), "pid")}})
	m.WaitOutput(t, "Running.", 10*time.Second)
	c, err := net.Dial("tcp", m.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := strings.Repeat("z", 100000)
	fmt.Fprintf(c, "PUT /dev1/0/000/000/0000000001.fid HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body[:50000])
	// Wait until the upload is in progress (its temp file exists).
	deadline := time.Now().Add(10 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(m.DevDir(1), "0", "000", "000"))
		if len(ents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("upload did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.Cmd.Process.Signal(syscall.SIGTERM)
	// New connections are refused while the upload finishes.
	deadline = time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", m.HTTPAddr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(c, body[50000:])
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload during shutdown: %v %v", resp, err)
	}
	select {
	case <-m.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if m.Cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit status %d\n%s", m.Cmd.ProcessState.ExitCode(), m.Output())
	}
	if b, _ := os.ReadFile(filepath.Join(m.DevDir(1), "0/000/000/0000000001.fid")); string(b) != body {
		t.Fatalf("stored %d bytes", len(b))
	}
}
