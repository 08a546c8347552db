package tracker_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// fromConn is a raw tracker connection from a chosen loopback source
// address, so a test can be a client outside an allow-list.
type fromConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialFrom(t *testing.T, src, addr string) *fromConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return &fromConn{c: c, br: bufio.NewReader(c)}
}

// lines sends line and reads n reply lines.
func (f *fromConn) lines(t *testing.T, line string, n int) []string {
	t.Helper()
	f.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := f.c.Write([]byte(line + "\r\n")); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := 0; i < n; i++ {
		s, err := f.br.ReadString('\n')
		if err != nil {
			t.Fatalf("%q: reply line %d: %v (so far %q)", line, i+1, err, out)
		}
		out = append(out, strings.TrimRight(s, "\r\n"))
	}
	return out
}

func (f *fromConn) line(t *testing.T, line string) string { return f.lines(t, line, 1)[0] }

// TestAdminAllow: with admin_allow set, clients outside it get a clear
// refusal for admin commands ("!" ones and the admin queries) and keep a
// usable connection; file commands and read-only queries still work for
// them; clients inside it can do everything.
func TestAdminAllow(t *testing.T) {
	t.Parallel()
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{Args: []string{"--admin_allow=127.0.0.1/32, 10.0.0.0/8"}})
	out := dialFrom(t, "127.0.0.9", tr.Addr)
	for _, cmd := range []string{"create_domain domain=evil", "set_server_setting key=skip_devcount&value=1",
		"create_host host=h&ip=10.1.1.1&port=7500", "fsck_start", "replicate_now", "set_state host=a&device=1&state=dead"} {
		if got, want := out.line(t, cmd), "ERR access_denied Admin+commands+are+not+allowed+from+your+address"; got != want {
			t.Errorf("%s from outside: %q, want %q", cmd, got, want)
		}
	}
	for _, cmd := range []string{"!shutdown", "!want 0 queryworker", "!stats", "!version"} {
		got := out.lines(t, cmd, 2)
		if got[0] != "ERROR: admin commands are not allowed from your address" || got[1] != "." {
			t.Errorf("%s from outside: %q", cmd, got)
		}
	}
	// Reads and file commands are not admin commands.
	if got := out.line(t, "get_domains"); got != "OK domains=0" {
		t.Errorf("get_domains from outside: %q", got)
	}
	if got := out.line(t, "get_paths domain=none&key=k"); !strings.HasPrefix(got, "ERR unreg_domain") {
		t.Errorf("get_paths from outside: %q", got)
	}
	if got := out.line(t, "noop"); got != "OK " {
		t.Errorf("noop from outside: %q", got)
	}

	in := dialFrom(t, "127.0.0.1", tr.Addr)
	if got := in.line(t, "create_domain domain=good"); got != "OK domain=good" {
		t.Errorf("create_domain from inside: %q", got)
	}
	if got := in.lines(t, "!version", 2); got[1] != "." || got[0] == "" || strings.HasPrefix(got[0], "ERROR") {
		t.Errorf("!version from inside: %q", got)
	}
	if got := out.line(t, "get_domains"); !strings.Contains(got, "domain1=good") || strings.Contains(got, "evil") {
		t.Errorf("domains after the refusals: %q", got)
	}
	tr.Proc.WaitOutput(t, "admin command refused: client not in admin_allow", 10*time.Second)
}

// TestAdminAllowOffByDefault: without admin_allow every client may run
// admin commands, as with the original.
func TestAdminAllowOffByDefault(t *testing.T) {
	t.Parallel()
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	out := dialFrom(t, "127.0.0.9", tr.Addr)
	if got := out.line(t, "create_domain domain=d"); got != "OK domain=d" {
		t.Errorf("create_domain: %q", got)
	}
	if got := out.lines(t, "!want 3 queryworker", 2); !strings.HasPrefix(got[0], "Now desiring 3 children") {
		t.Errorf("!want: %q", got)
	}
}

// TestAdminAllowBadValue: a malformed allow-list stops the tracker at
// start with an error naming the setting.
func TestAdminAllowBadValue(t *testing.T) {
	t.Parallel()
	dsn := mogtest.SQLiteDSN(t)
	mogtest.SetupSchema(t, dsn, "", "")
	for _, v := range []string{"10.0.0.0/33", "localhost", ","} {
		args := []string{"--skipconfig", "--dsn=" + dsn, "--listen=127.0.0.1:0", "--admin_allow=" + v}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd := exec.Command(mogtest.Binary(t, "mogilefsd"), args...)
		outb, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(outb), "--admin_allow: bad value") || !strings.Contains(string(outb), "acl:") {
			t.Errorf("admin_allow=%q: %v\n%s", v, err, outb)
		}
	}
}
