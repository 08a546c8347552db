package main

import (
	"bufio"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// childEnv marks the re-executed daemon process; its readiness pipe is fd 3.
const childEnv = "MOGSTORED_DAEMON_CHILD"

// daemonize starts this program again in a new session, in the
// background, and returns once that copy is listening on its ports (exit
// status 0) or has failed (its error is shown here, status 1).
func daemonize() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: daemonize: %v\n", err)
		return 1
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: daemonize: %v\n", err)
		return 1
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: daemonize: %v\n", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: daemonize: %v\n", err)
		return 1
	}
	readyW.Close()
	errW.Close()
	copied := make(chan struct{})
	go func() {
		io.Copy(os.Stderr, errR)
		close(copied)
	}()
	readyR.SetReadDeadline(time.Now().Add(2 * time.Minute))
	line, _ := bufio.NewReader(readyR).ReadString('\n')
	if line == "ok\n" {
		select {
		case <-copied:
		case <-time.After(5 * time.Second):
		}
		cmd.Process.Release()
		return 0
	}
	cmd.Process.Kill()
	cmd.Wait()
	<-copied
	fmt.Fprintln(os.Stderr, "mogstored: the background process did not start")
	return 1
}

// daemon is the state of the background copy.
type daemon struct{ ready *os.File }

// daemonChild returns non-nil in the background copy started by
// daemonize.
func daemonChild() *daemon {
	if os.Getenv(childEnv) == "" {
		return nil
	}
	os.Unsetenv(childEnv)
	return &daemon{ready: os.NewFile(3, "ready")}
}

// detach finishes daemonizing once the ports are bound: standard input,
// output and error go to /dev/null, the working directory becomes /, the
// waiting parent is told, and logging moves to syslog (or nowhere if
// there is none).
func (d *daemon) detach() io.Writer {
	if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		for fd := 0; fd <= 2; fd++ {
			syscall.Dup3(int(null.Fd()), fd, 0)
		}
		null.Close()
	}
	os.Chdir("/")
	d.ready.WriteString("ok\n")
	d.ready.Close()
	if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "mogstored"); err == nil {
		return w
	}
	return io.Discard
}

// switchWriter is the log output; the daemon moves it after detaching.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}
