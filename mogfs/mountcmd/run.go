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
// the mount answers, or fails. Until then the background process's
// stderr is a pipe copied to ours: its warnings and fusermount3's own
// messages reach the user.
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
	er, ew, err := os.Pipe()
	if err != nil {
		w.Close()
		return fail("%v", err)
	}
	defer er.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		ew.Close()
		return fail("%v", err)
	}
	defer devnull.Close()
	cmd := exec.Command(self, env.Args[1:]...)
	cmd.Args[0] = env.Args[0]
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, ew
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	ew.Close()
	if err != nil {
		return fail("start background process: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The background process lets go of the stderr pipe before it
	// reports, so everything it printed comes before its verdict.
	copied := make(chan struct{})
	go func() {
		io.Copy(env.Stderr, er)
		close(copied)
	}()
	msg := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		msg <- strings.TrimRight(line, "\n")
	}()
	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case <-copied:
	case <-timeout.C:
		cmd.Process.Kill()
		return fail("the mount did not become ready within %v", readyTimeout)
	}
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
	case <-timeout.C:
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
	// stderr is a pipe to the first process until the report: a write
	// after it left must fail, not kill us.
	signal.Ignore(syscall.SIGPIPE)
	logger, logw, closeLog := backgroundLogger(o)
	defer closeLog()
	m, err := mount(o, logger, logw, os.Stderr)
	if rerr := releaseStderr(logw); rerr != nil {
		logger.Error("cannot let go of the stderr pipe; the mogfs command waits for its timeout", "err", rerr)
	}
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
	m, err := mount(o, logger, env.Stderr, nil)
	if err != nil {
		fmt.Fprintf(env.Stderr, "mogfs: %v\n", err)
		return 1
	}
	return m.serve()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// releaseStderr points the background process's stderr (the pipe the
// first process copies to the user's terminal) at its log file, or at
// /dev/null: the first process then sees the end of the pipe. A panic
// of the background process then lands in the log file.
func releaseStderr(logw io.Writer) error {
	f, ok := logw.(*os.File)
	if !ok {
		var err error
		if f, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
			return err
		}
		defer f.Close()
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		return fmt.Errorf("dup3 %s onto stderr: %w", f.Name(), err)
	}
	return nil
}

// userText formats a warning for the terminal: "msg (k=v, k=v)".
func userText(msg string, kv []any) string {
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i+1 < len(kv); i += 2 {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%v=%v", kv[i], kv[i+1])
	}
	if len(kv) >= 2 {
		b.WriteString(")")
	}
	return b.String()
}

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
	fs     *mogfs.FS
	client *client.Client
	dir    string
	log    *slog.Logger
}

// mount checks the mount point, the trackers, the domain and the class,
// then mounts and makes sure the mount answers. Warnings go to the log
// and, when user is set (the background process), to user too.
func mount(o *Options, logger *slog.Logger, logw, user io.Writer) (*mounted, error) {
	warn := func(msg string, kv ...any) {
		logger.Warn(msg, kv...)
		if user != nil {
			fmt.Fprintf(user, "mogfs: warning: %s\n", userText(msg, kv))
		}
	}
	dir, err := canonical(o.Mountpoint)
	if err != nil {
		return nil, err
	}
	if err := prepareMountpoint(dir, warn); err != nil {
		return nil, err
	}
	// mogfs caches attributes (with the fid) itself and asks get_paths
	// when it opens a file: the library's path cache would hand it paths
	// another mount replaced, breaking close-to-open consistency.
	c, err := client.New(client.Config{Trackers: o.Trackers, Timeout: o.Timeout, Logger: logger, PathCacheTTL: -1})
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
	lacking, err := checkDomainClass(o, ds)
	if err != nil {
		c.Close()
		return nil, err
	}
	if len(lacking) > 0 {
		warn("the class of new files does not exist in some domains: opening a file for writing there fails with EIO",
			"class", o.Class, "domains", strings.Join(lacking, ","))
	}
	spool, err := keyspace.NewSpool(o.CacheDir, o.CacheSize)
	if err != nil {
		c.Close()
		return nil, err
	}
	mt, err := startMetrics(o.MetricsListen, spool, c, logger)
	if err != nil {
		c.Close()
		return nil, err
	}
	space := keyspace.New(mogfs.NewClientBackend(c), logger)
	f, err := mogfs.New(mogfs.Config{
		Space: space, Spool: spool, Domain: o.Domain, Class: o.Class, TTL: o.TTL, OpenCache: o.OpenCache,
		UID: uint32(o.UID), GID: uint32(o.GID), ReadOnly: o.ReadOnly, Logger: logger, Metrics: mt,
		MaxNodes: maxNodes(o.MaxNodes), ContentCache: contentCache(o.ContentCache),
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	for _, d := range lacking {
		f.MarkClassMissing(d, o.Class)
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
		if strings.Contains(err.Error(), "fusermount exited") {
			// go-fuse reports a wait status ("code 256"); fusermount3
			// printed the reason on stderr, which the background
			// process passes on.
			return nil, fmt.Errorf("mount %s: fusermount3 failed; its message above says why", dir)
		}
		return nil, errors.New(strings.TrimSpace(err.Error()))
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
	return &mounted{srv: srv, fs: f, client: c, dir: dir, log: logger}, nil
}

// checkDomainClass checks that the domain and the class of a mount
// exist in the listing ds. A mount of every domain needs its class in at
// least one domain; it returns the domains that lack it.
func checkDomainClass(o *Options, ds []client.DomainInfo) (lacking []string, err error) {
	trackers := strings.Join(o.Trackers, ",")
	if o.Domain != "" {
		if !slices.ContainsFunc(ds, func(d client.DomainInfo) bool { return d.Name == o.Domain }) {
			return nil, fmt.Errorf("domain %q does not exist on trackers %s", o.Domain, trackers)
		}
		if !mogfs.DomainHasClass(ds, o.Domain, o.Class) {
			return nil, fmt.Errorf("class %q does not exist in domain %q on trackers %s (mogadm class add %s %s creates it)",
				o.Class, o.Domain, trackers, o.Domain, o.Class)
		}
		return nil, nil
	}
	if o.Class == "" {
		return nil, nil
	}
	for _, d := range ds {
		if !mogfs.DomainHasClass([]client.DomainInfo{d}, d.Name, o.Class) {
			lacking = append(lacking, d.Name)
		}
	}
	if len(lacking) == len(ds) {
		return nil, fmt.Errorf("class %q does not exist in any domain on trackers %s", o.Class, trackers)
	}
	return lacking, nil
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
			// The kernel drops the releases it had not sent when the
			// mount went away: commit the empty files they were for.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if n, failed := m.fs.CommitDue(ctx); n+failed > 0 {
				m.log.Info("committed empty files whose release never came", "mountpoint", m.dir, "committed", n, "failed", failed)
			}
			cancel()
			m.client.Close()
			m.log.Info("unmounted", "mountpoint", m.dir)
			return 0
		}
	}
}

// maxNodes is the Config.MaxNodes of --max-nodes n, where 0 means no cap.
// contentCache maps the option's 0 (none) to mogfs.Config's negative.
func contentCache(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

func maxNodes(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
