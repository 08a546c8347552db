// Package dist holds what installs the project: the example configuration
// files (config/), the Debian maintainer scripts (debian/) and the
// systemd units (systemd/). Its tests run `make install`, `make
// uninstall` and `make deb` from this tree, start every daemon from the
// installed paths with the installed example configuration, and, as
// root, install the package on the machine, mount through it and remove
// it again.
package dist_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// binDir holds the binaries `make build` makes for every test here (so
// the deb reuses them); TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "mogilefs-dist-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// repoRoot is the top of the source tree (tests run in dist/).
func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs a command and returns its combined output; it fails the test
// when the command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// makeTarget runs make in the source tree with the shared binary
// directory.
func makeTarget(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed (apt-get install make)")
	}
	return run(t, repoRoot(t), nil, "make", append(args, "BIN="+binDir)...)
}

// binaries are the programs of cmd/.
func binaries(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(repoRoot(t), "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d binaries under cmd/: %v", len(out), out)
	}
	return out
}

// listFiles returns the base names of the files matching a glob below
// the source tree.
func listFiles(t *testing.T, glob string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(repoRoot(t), glob))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s in the tree (%v)", glob, err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// checkVersion runs bin --version and returns the version it reports.
func checkVersion(t *testing.T, bin, name string) string {
	t.Helper()
	out := strings.TrimSpace(run(t, "", nil, bin, "--version"))
	f := strings.Fields(out)
	if len(f) < 4 || f[0] != name || !strings.Contains(out, "(commit ") {
		t.Fatalf("%s --version printed %q, want %q VERSION (commit ...)", bin, out, name)
	}
	return f[1]
}

// checkUnits checks that each installed unit runs a binary that exists
// under root at the path the unit names, in dir bindir.
func checkUnits(t *testing.T, root, unitDir, bindir string) {
	t.Helper()
	for _, u := range listFiles(t, "dist/systemd/*.service") {
		b, err := os.ReadFile(filepath.Join(root, unitDir, u))
		if err != nil {
			t.Fatalf("unit %s: %v", u, err)
		}
		exec := ""
		for _, l := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(l, "ExecStart="); ok {
				exec = strings.Fields(s)[0]
			}
		}
		if filepath.Dir(exec) != bindir {
			t.Errorf("%s runs %q, not a binary in %s", u, exec, bindir)
		}
		if st, err := os.Stat(filepath.Join(root, exec)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s runs %s, which is not an installed executable (%v)", u, exec, err)
		}
		if strings.Contains(string(b), "/usr/local/bin/") && bindir != "/usr/local/bin" {
			t.Errorf("%s still names /usr/local/bin", u)
		}
	}
}

// rewriteConf copies an installed configuration file to dir with the
// given keys set (the lines naming them replaced, missing ones added);
// every other line stays, so the daemon parses the example as shipped.
func rewriteConf(t *testing.T, src, dir string, set map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		s := strings.TrimSpace(line)
		key := ""
		if f := strings.FieldsFunc(s, func(r rune) bool { return r == '=' || r == ' ' || r == '\t' }); len(f) > 0 {
			key = f[0]
		}
		if v, ok := set[key]; ok && !strings.HasPrefix(s, "#") {
			line, done[key] = key+" = "+v, true
		}
		out.WriteString(line + "\n")
	}
	for k, v := range set {
		if !done[k] {
			fmt.Fprintf(&out, "%s = %s\n", k, v)
		}
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// cluster is what startFromConfigs started.
type cluster struct {
	bin, tracker, domain, work string
}

// startFromConfigs starts mogilefsd, mogstored and mogproxy from bindir
// with the example configuration files in confDir (ports, paths and the
// user rewritten), registers a host, a device and a domain with mogadm,
// and stores and fetches a file through mogproxy. The tracker runs as
// runAs (it switches to it when started as root).
func startFromConfigs(t *testing.T, bindir, confDir, runAs string) *cluster {
	t.Helper()
	// Not t.TempDir: its parent is closed to the user the tracker
	// switches to.
	work, err := os.MkdirTemp("", "mogilefs-dist-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &cluster{bin: bindir, work: work, domain: "files"}
	// The tracker's database directory belongs to the user it runs as.
	dbDir := filepath.Join(work, "db")
	if err := os.Mkdir(dbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dbDir, "mogilefs.sqlite")
	run(t, "", nil, filepath.Join(bindir, "mogdbsetup"), "--type=SQLite", "--dbname="+db, "--yes")
	chownTo(t, runAs, dbDir, db)
	c.tracker = mogtest.FreeAddr(t, "127.0.0.1")
	tconf := rewriteConf(t, filepath.Join(confDir, "mogilefsd.conf"), work,
		map[string]string{"db_dsn": "DBI:SQLite:dbname=" + db, "listen": c.tracker, "user": runAs})
	tr := mogtest.Start(t, filepath.Join(bindir, "mogilefsd"), "--config="+tconf)
	tr.WaitPort(t, c.tracker, 30*time.Second)

	docroot := filepath.Join(work, "docroot")
	if err := os.MkdirAll(filepath.Join(docroot, "dev1"), 0o755); err != nil {
		t.Fatal(err)
	}
	httpAddr, mgmtAddr := mogtest.FreeAddr(t, "127.0.0.1"), mogtest.FreeAddr(t, "127.0.0.1")
	sconf := rewriteConf(t, filepath.Join(confDir, "mogstored.conf"), work,
		map[string]string{"docroot": docroot, "httplisten": httpAddr, "mgmtlisten": mgmtAddr})
	st := mogtest.Start(t, filepath.Join(bindir, "mogstored"), "--config="+sconf)
	st.WaitPort(t, httpAddr, 30*time.Second)
	st.WaitPort(t, mgmtAddr, 30*time.Second)

	port := httpAddr[strings.LastIndexByte(httpAddr, ':')+1:]
	c.adm(t, "host", "add", "store1", "--ip=127.0.0.1", "--port="+port, "--status=alive")
	c.adm(t, "device", "add", "store1", "1")
	c.adm(t, "domain", "add", c.domain)

	// The tracker accepts files once its monitor has seen the device.
	src := filepath.Join(work, "hello.txt")
	if err := os.WriteFile(src, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := runErr("", nil, filepath.Join(bindir, "mogupload"), "--trackers="+c.tracker,
			"--domain="+c.domain, "--key=hello.txt", "--file="+src)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mogupload never succeeded: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	proxy := mogtest.FreeAddr(t, "127.0.0.1")
	pconf := rewriteConf(t, filepath.Join(confDir, "mogproxy.conf"), work,
		map[string]string{"trackers": c.tracker, "listen": proxy})
	px := mogtest.Start(t, filepath.Join(bindir, "mogproxy"), "--config="+pconf)
	px.WaitPort(t, proxy, 30*time.Second)
	url := "http://" + proxy + "/" + c.domain + "/via-proxy.txt"
	mogtest.Put(t, url, []byte("through the gateway\n"))
	if got := c.get(t, proxy, "hello.txt"); got != "hello\n" {
		t.Fatalf("GET hello.txt through mogproxy: %q", got)
	}
	if got := c.fetch(t, "via-proxy.txt"); got != "through the gateway\n" {
		t.Fatalf("mogfetch via-proxy.txt: %q", got)
	}
	return c
}

func (c *cluster) adm(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "", nil, filepath.Join(c.bin, "mogadm"), append([]string{"--trackers=" + c.tracker}, args...)...)
}

// get reads a key through mogproxy.
func (c *cluster) get(t *testing.T, proxy, key string) string {
	t.Helper()
	resp, err := http.Get("http://" + proxy + "/" + c.domain + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", key, resp.Status, err)
	}
	return string(b)
}

// fetch reads a key with mogfetch.
func (c *cluster) fetch(t *testing.T, key string) string {
	t.Helper()
	dst := filepath.Join(c.work, "fetched")
	run(t, "", nil, filepath.Join(c.bin, "mogfetch"), "--trackers="+c.tracker, "--domain="+c.domain,
		"--key="+key, "--file="+dst)
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(dst)
	return string(b)
}

// chownTo gives paths to the user name (nothing to do unless root).
func chownTo(t *testing.T, name string, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// currentUser is the name of the user running the test.
func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
