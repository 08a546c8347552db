package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker"
)

// daemonEnv marks the background copy started by --daemonize.
const daemonEnv = "MOGILEFSD_DAEMONIZED"

// daemonize starts this program again in a new session with the same
// arguments, detached from the terminal, and returns once it answers on
// its listen addresses (or fails if it exits first).
func daemonize(cfg tracker.Config) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	defer null.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemonize: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if allAnswer(cfg.Listen) {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("daemonize: background tracker exited before listening (%v); see syslog", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("daemonize: background tracker did not start listening within 60 s")
		}
	}
}

func allAnswer(addrs []string) bool {
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return false
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// daemonLog sends the background tracker's log to syslog (ident
// mogilefsd), or nowhere if syslog is not available.
func daemonLog() io.Writer {
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "mogilefsd")
	if err != nil {
		return io.Discard
	}
	return w
}

// checkUser refuses to run as root unless user is root, and otherwise
// drops to the given user when started as root.
func checkUser(name string, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		if name != "" && name != "root" {
			if u, err := user.Current(); err == nil && u.Username != name {
				log.Warn("not started as root: cannot switch user", "user", name, "running_as", u.Username)
			}
		}
		return nil
	}
	switch name {
	case "":
		return errors.New("mogilefsd cannot be run as root (set user = root in the config, or --user=root, to allow it)")
	case "root":
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("user %s: bad uid/gid %s/%s", name, u.Uid, u.Gid)
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups for %s: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	log.Info("running as user", "user", name, "uid", uid)
	return nil
}
