package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// runFail runs mogilefsd expecting it to exit non-zero and returns its
// output.
func runFail(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(mogtest.Binary(t, "mogilefsd"), args...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("mogilefsd %v succeeded:\n%s", args, out)
	}
	return string(out)
}

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mogilefsd.conf")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func rootArgs() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=root"}
	}
	return nil
}

func TestConfigErrors(t *testing.T) {
	dsn := mogtest.SQLiteDSN(t)
	mogtest.SetupSchema(t, dsn, "", "")
	cases := []struct{ conf, want string }{
		{"# comment\n\nlisten = 127.0.0.1:0\nbogus_key = 1\n", "config line 4: unknown setting \"bogus_key\""},
		{"query_jobs = many\n", "config line 1: bad value \"many\" for query_jobs"},
		{"\n\nnode_timeout = -2\n", "config line 3: bad value \"-2\" for node_timeout"},
		{"conf_port 99999\n", "config line 1: bad value \"99999\" for conf_port"},
		{"listen = 127.0.0.1:1,not-an-ip\n", "config line 1: bad value"},
		{"db_user\n", "config line 1: no value for \"db_user\""},
	}
	for _, tc := range cases {
		conf := writeConf(t, tc.conf)
		out := runFail(t, append([]string{"-c", conf, "--dsn=" + dsn}, rootArgs()...)...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("config %q: output %q, want it to contain %q", tc.conf, out, tc.want)
		}
	}
	// A bad command-line value names the option.
	out := runFail(t, append([]string{"--skipconfig", "--dsn=" + dsn, "--workers=x"}, rootArgs()...)...)
	if !strings.Contains(out, "--workers: bad value \"x\" for query_jobs") {
		t.Errorf("bad --workers: %q", out)
	}
	// A bad DSN and a missing database.
	out = runFail(t, append([]string{"--skipconfig", "--dsn=DBI:Pg:dbname=x"}, rootArgs()...)...)
	if !strings.Contains(out, "Postgres is not supported") {
		t.Errorf("Pg DSN: %q", out)
	}
	out = runFail(t, append([]string{"--skipconfig", "--dsn=DBI:SQLite:" + filepath.Join(t.TempDir(), "none")}, rootArgs()...)...)
	if !strings.Contains(out, "unable to establish connection") {
		t.Errorf("missing database: %q", out)
	}
	if os.Geteuid() == 0 {
		out = runFail(t, "--skipconfig", "--dsn="+dsn)
		if !strings.Contains(out, "mogilefsd cannot be run as root") {
			t.Errorf("root without user: %q", out)
		}
		out = runFail(t, "--skipconfig", "--dsn="+dsn, "--user=no_such_user_here")
		if !strings.Contains(out, "user no_such_user_here") {
			t.Errorf("unknown user: %q", out)
		}
	}
}

func TestConfigFile(t *testing.T) {
	dsn := mogtest.SQLiteDSN(t)
	mogtest.SetupSchema(t, dsn, "", "")
	port := mogtest.FreePort(t, "127.0.0.1")
	user := ""
	if os.Geteuid() == 0 {
		user = "user = root\n"
	}
	// listen without a port takes conf_port; "key value" works as
	// "key = value"; ignored keys are named in a warning.
	conf := writeConf(t, "# test\ndb_dsn = "+dsn+"\nlisten 127.0.0.1\nconf_port = "+strconv.Itoa(port)+
		"\nquery_jobs = 3\nmax_handles = 4\nmax_disk_age = 9\nnode_timeout = 1.5\nreplicate_jobs = 2\n"+user)
	p := mogtest.Start(t, mogtest.Binary(t, "mogilefsd"), "--config="+conf, "--bogus-flag")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p.WaitPort(t, addr, 30*time.Second)
	c, err := mogtest.DialTracker(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitJobs(t, c, "queryworker count 3", true)
	waitJobs(t, c, "replicate count 2", true)
	p.WaitOutput(t, `config line 6: setting \"max_handles\" is accepted but has no effect`, 10*time.Second)
	p.WaitOutput(t, `setting \"max_disk_age\" is accepted but has no effect`, 10*time.Second)
	p.WaitOutput(t, "Unknown option: bogus-flag", 10*time.Second)
	if out := p.Output(); strings.Contains(out, `\"node_timeout\" is accepted`) {
		t.Fatalf("node_timeout is used, yet a warning says it is not:\n%s", out)
	}
	// -s skips the config file; command-line flags with short forms.
	port2 := mogtest.FreePort(t, "127.0.0.1")
	bad := writeConf(t, "no_such_key = 1\n")
	args := append([]string{"-s", "-c", bad, "--dsn", dsn, "-l", "127.0.0.1:" + strconv.Itoa(port2), "-w", "2", "--dbpass"}, rootArgs()...)
	p2 := mogtest.Start(t, mogtest.Binary(t, "mogilefsd"), args...)
	p2.WaitPort(t, "127.0.0.1:"+strconv.Itoa(port2), 30*time.Second)
	c2, err := mogtest.DialTracker("127.0.0.1:" + strconv.Itoa(port2))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	waitJobs(t, c2, "queryworker count 2", true)
}

// waitJobs polls !jobs until line is (or is not) listed.
func waitJobs(t *testing.T, c *mogtest.TrackerConn, line string, present bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines, err := c.Bang("!jobs")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(lines, line) == present {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("!jobs: %q; want %q present=%v", lines, line, present)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestJobMaster is the original's t/80-job_master.t: with
// --no-job_master no fsck, delete or replicate workers run; "!want 1
// job_master" starts them and "!want 0 job_master" stops them (they stay
// in !jobs at count 0).
func TestJobMaster(t *testing.T) {
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{Args: []string{"--no-job_master"}})
	c := tr.Conn(t)
	jm := []string{"fsck", "delete", "replicate"}
	waitJobs(t, c, "queryworker count 20", true)
	for _, j := range jm {
		waitJobs(t, c, j+" count 1", false)
	}
	if lines, _ := c.Bang("!want 1 job_master"); !slices.Equal(lines, []string{"Now desiring 1 children doing 'job_master'."}) {
		t.Fatalf("!want: %q", lines)
	}
	for _, j := range append(jm, "job_master") {
		waitJobs(t, c, j+" count 1", true)
	}
	if lines, _ := c.Bang("!to replicate :wake_up"); !slices.Equal(lines, []string{"Message sent to 1 children."}) {
		t.Fatalf("!to: %q", lines)
	}
	c.Bang("!want 0 job_master")
	for _, j := range jm {
		// Listed at count 0 from now on, as the original lists every job
		// that had workers.
		waitJobs(t, c, j+" count 0", true)
	}
	waitJobs(t, c, "job_master count 0", true)
}

// TestSignals checks that SIGTERM lets a command in flight answer before
// the tracker exits, and that --daemonize returns once the port answers.
func TestSignals(t *testing.T) {
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	c := tr.Conn(t)
	if err := c.Write([]byte("sleep duration=1\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	tr.Proc.Cmd.Process.Signal(syscall.SIGTERM)
	l, err := c.ReadLine()
	if err != nil || l != "OK " {
		t.Fatalf("in-flight sleep after SIGTERM: %q %v", l, err)
	}
	select {
	case <-tr.Proc.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("tracker did not exit after SIGTERM")
	}
	if err := tr.Proc.Cmd.ProcessState; !err.Success() {
		t.Fatalf("exit status: %v", err)
	}
	if time.Since(t0) > 5*time.Second {
		t.Fatalf("shutdown took %v", time.Since(t0))
	}

	// !shutdown stops the tracker too.
	tr2 := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	c2 := tr2.Conn(t)
	c2.Write([]byte("!shutdown now\r\n"))
	select {
	case <-tr2.Proc.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("tracker did not exit after !shutdown")
	}
	if st := tr2.Proc.Cmd.ProcessState; !st.Success() {
		t.Fatalf("exit status after !shutdown: %v", st)
	}

	// --daemonize with a pidfile.
	dsn := mogtest.SQLiteDSN(t)
	mogtest.SetupSchema(t, dsn, "", "")
	addr := mogtest.FreeAddr(t, "127.0.0.1")
	pidfile := filepath.Join(t.TempDir(), "mogilefsd.pid")
	cmd := exec.Command(mogtest.Binary(t, "mogilefsd"), append([]string{"--skipconfig", "-D", "--dsn=" + dsn, "--listen=" + addr, "--pidfile=" + pidfile}, rootArgs()...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("daemonize: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile content %q", b)
	}
	proc, _ := os.FindProcess(pid)
	t.Cleanup(func() { proc.Signal(syscall.SIGKILL) })
	dc, err := mogtest.DialTracker(addr)
	if err != nil {
		t.Fatalf("daemon not answering: %v", err)
	}
	if r, err := dc.Raw("noop"); r != "OK " || err != nil {
		t.Fatalf("daemon noop: %q %v", r, err)
	}
	dc.Close()
	proc.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(pidfile); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pidfile not removed after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
