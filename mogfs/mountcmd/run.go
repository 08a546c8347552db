package mountcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/mogfs"
	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// daemonEnv marks the background process; its value is the number of the
// descriptor on which it reports "OK" or "ERR <message>" to its parent.
const daemonEnv = "MOGFS_DAEMON_FD"

// readyTimeout bounds the parent's wait for the background process.
const readyTimeout = 2 * time.Minute

// fuseSuperMagic is the f_type statfs reports for a FUSE mount.
const fuseSuperMagic = 0x65735546

// Main runs the mogfs command and returns its exit status: 0 once the
// mount answers (in the background), or when a foreground mount ends; 1 on
// failure; 2 for a bad command line.
func Main(env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	prog := "mogfs"
	if len(env.Args) > 0 {
		prog = filepath.Base(env.Args[0])
	}
	helper := strings.HasPrefix(prog, "mount.")
	o, err := parse(env, env.Args[1:], helper)
	var hr *helpRequest
	var ue *usageError
	switch {
	case errors.As(err, &hr):
		fmt.Fprint(env.Stdout, hr.text)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "%s: %v\nTry '%s --help'.\n", prog, err, prog)
		return 2
	case err != nil:
		fmt.Fprintf(env.Stderr, "%s: %v\n", prog, err)
		return 1
	}
	if o.Fake {
		return 0
	}
	if fd := env.Getenv(daemonEnv); fd != "" {
		return runDaemon(o, fd)
	}
	if o.Foreground {
		return runForeground(env, o)
	}
	return spawn(env, prog)
}

// spawn starts the background process and waits until it reports that
// the mount answers, or fails.
func spawn(env *Env, prog string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(env.Stderr, "%s: "+format+"\n", append([]any{prog}, args...)...)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		return fail("cannot find my own executable: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail("%v", err)
	}
	defer r.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return fail("%v", err)
	}
	defer devnull.Close()
	cmd := exec.Command(self, env.Args[1:]...)
	cmd.Args[0] = env.Args[0]
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fail("start background process: %v", err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	msg := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		msg <- strings.TrimRight(line, "\n")
	}()
	select {
	case m := <-msg:
		switch {
		case m == "OK":
			return 0
		case strings.HasPrefix(m, "ERR "):
			return fail("%s", strings.TrimPrefix(m, "ERR "))
		}
		err := <-exited
		return fail("the background process ended before the mount was ready (%v)", err)
	case <-time.After(readyTimeout):
		cmd.Process.Kill()
		return fail("the mount did not become ready within %v", readyTimeout)
	}
}

// runDaemon is the background process: it mounts, tells its parent, and
// serves until unmounted.
func runDaemon(o *Options, fdText string) int {
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		fmt.Fprintf(os.Stderr, "mogfs: bad %s %q\n", daemonEnv, fdText)
		return 1
	}
	ready := os.NewFile(uintptr(fd), "ready")
	os.Unsetenv(daemonEnv)
	logger, logw, closeLog := backgroundLogger(o)
	defer closeLog()
	m, err := mount(o, logger, logw)
	if err != nil {
		fmt.Fprintf(ready, "ERR %s\n", oneLine(err.Error()))
		ready.Close()
		return 1
	}
	fmt.Fprintln(ready, "OK")
	ready.Close()
	os.Chdir("/")
	return m.serve()
}

func runForeground(env *Env, o *Options) int {
	level := slog.LevelInfo
	if o.Debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	m, err := mount(o, logger, env.Stderr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mogfs: %v\n", err)
		return 1
	}
	return m.serve()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// backgroundLogger logs to the log file, else to syslog, else nowhere.
func backgroundLogger(o *Options) (*slog.Logger, io.Writer, func()) {
	level := slog.LevelInfo
	if o.Debug {
		level = slog.LevelDebug
	}
	var w io.Writer
	closer := func() {}
	if o.LogFile != "" {
		if f, err := os.OpenFile(o.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
			w, closer = f, func() { f.Close() }
		}
	}
	if w == nil {
		if s, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "mogfs"); err == nil {
			w, closer = s, func() { s.Close() }
		}
	}
	if w == nil {
		return slog.New(slog.DiscardHandler), io.Discard, closer
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), w, closer
}

// mounted is a live mount.
type mounted struct {
	srv    *fuse.Server
	client *client.Client
	dir    string
	log    *slog.Logger
}

// mount checks the trackers and the domain, then mounts and makes sure
// the mount answers.
func mount(o *Options, logger *slog.Logger, logw io.Writer) (*mounted, error) {
	dir, err := filepath.Abs(o.Mountpoint)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("mount point: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("mount point %s is not a directory", dir)
	}
	c, err := client.New(client.Config{Trackers: o.Trackers, Timeout: o.Timeout, Logger: logger})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := c.Domains(ctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("trackers %s: %w", strings.Join(o.Trackers, ","), err)
	}
	if o.Domain != "" && !slices.ContainsFunc(ds, func(d client.DomainInfo) bool { return d.Name == o.Domain }) {
		c.Close()
		return nil, fmt.Errorf("domain %q does not exist on trackers %s", o.Domain, strings.Join(o.Trackers, ","))
	}
	spool, err := keyspace.NewSpool(o.CacheDir, o.CacheSize)
	if err != nil {
		c.Close()
		return nil, err
	}
	mt, err := startMetrics(o.MetricsListen, spool, logger)
	if err != nil {
		c.Close()
		return nil, err
	}
	space := keyspace.New(mogfs.NewClientBackend(c), logger)
	f, err := mogfs.New(mogfs.Config{
		Space: space, Spool: spool, Domain: o.Domain, Class: o.Class, TTL: o.TTL,
		UID: uint32(o.UID), GID: uint32(o.GID), ReadOnly: o.ReadOnly, Logger: logger, Metrics: mt,
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	fsname := strings.Join(o.Trackers, ",")
	if o.Domain != "" {
		fsname += "/" + o.Domain
	}
	mo := fuse.MountOptions{
		FsName:      fsname,
		Name:        "mogfs",
		AllowOther:  o.AllowOther,
		Debug:       o.Debug,
		DirectMount: os.Geteuid() == 0,
		Logger:      log.New(logw, "fuse: ", 0),
	}
	srv, err := f.Mount(dir, mo)
	if err != nil {
		c.Close()
		return nil, err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Type != fuseSuperMagic {
		srv.Unmount()
		c.Close()
		if err == nil {
			err = fmt.Errorf("filesystem type %#x", st.Type)
		}
		return nil, fmt.Errorf("mount on %s does not answer: %v", dir, err)
	}
	logger.Info("mounted", "mountpoint", dir, "trackers", fsname, "domain", o.Domain)
	return &mounted{srv: srv, client: c, dir: dir, log: logger}, nil
}

// serve runs until the filesystem is unmounted; SIGINT and SIGTERM
// unmount it.
func (m *mounted) serve() int {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		m.srv.Wait()
		close(done)
	}()
	for {
		select {
		case s := <-sig:
			m.log.Info("unmounting on signal", "signal", s.String(), "mountpoint", m.dir)
			if err := m.srv.Unmount(); err != nil {
				m.log.Error("unmount failed; still serving", "mountpoint", m.dir, "err", err)
			}
		case <-done:
			signal.Stop(sig)
			m.client.Close()
			m.log.Info("unmounted", "mountpoint", m.dir)
			return 0
		}
	}
}
