package mogstored

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

type sideConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialSide(t *testing.T, addr string) *sideConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &sideConn{c: c, br: bufio.NewReader(c)}
}

// cmd sends a line and returns the reply line without "\r\n".
func (s *sideConn) cmd(t *testing.T, line string) string {
	t.Helper()
	if _, err := io.WriteString(s.c, line+"\r\n"); err != nil {
		t.Fatal(err)
	}
	return s.line(t)
}

func (s *sideConn) line(t *testing.T) string {
	t.Helper()
	l, err := s.br.ReadString('\n')
	if err != nil {
		t.Fatalf("side channel read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func TestSideChannel(t *testing.T) {
	n := startNode(t, 2, nil)
	data := strings.Repeat("mogilefs ", 300000) // > 1 MiB: several reads
	p := "/dev2/0/000/000/0000000123.fid"
	os.MkdirAll(n.path("/dev2/0/000/000"), 0o755)
	os.WriteFile(n.path(p), []byte(data), 0o644)
	m := md5.Sum([]byte(data))
	s1 := sha1.Sum([]byte(data))
	sc := dialSide(t, n.mgmt)
	for _, tc := range []struct{ req, want string }{
		{"size " + p, p + " " + strconv.Itoa(len(data))},
		{"size /dev2/missing", "/dev2/missing -1"},
		{"MD5 " + p, p + " MD5=" + hex.EncodeToString(m[:])},
		{"MD5 " + p + " fsck", p + " MD5=" + hex.EncodeToString(m[:])},
		{"SHA-1 " + p, p + " SHA-1=" + hex.EncodeToString(s1[:])},
		{"MD5 /dev2/missing fsck", "/dev2/missing MD5=-1"},
		{"MD5 /dev1/../dev2" + p[5:], "ERROR: uri invalid (contains ..)"},
		{"size ../etc/passwd", "ERROR: uri invalid (contains ..)"},
		{"MD5 /etc/passwd", "/etc/passwd MD5=-1"},
		{"md5 " + p, "ERROR: unknown command: md5"},
		{"frobnicate now", "ERROR: unknown command: frobnicate"},
		{"shutdown now", "ERROR: Invalid syntax to 'shutdown' command"},
	} {
		if got := sc.cmd(t, tc.req); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.req, got, tc.want)
		}
	}
	// Pipelined requests, "\n" line ends, an empty line in between.
	io.WriteString(sc.c, "size "+p+"\n\nMD5 "+p+"\n")
	if a, b := sc.line(t), sc.line(t); a != p+" "+strconv.Itoa(len(data)) || b != p+" MD5="+hex.EncodeToString(m[:]) {
		t.Errorf("pipelined: %q %q", a, b)
	}
	if got := sc.cmd(t, "uptime"); !strings.HasPrefix(got, "starttime ") {
		t.Errorf("uptime: %q", got)
	}
	sc.line(t) // uptime
	sc.line(t) // version
	if got := sc.line(t); got != "." {
		t.Errorf("uptime end: %q", got)
	}
	// The reply the tracker's parser expects.
	hexd, err := nodeproto.ParseDigestReply("MD5", p, sc.cmd(t, "MD5 "+p)+"\r\n")
	if err != nil || hexd != hex.EncodeToString(m[:]) {
		t.Errorf("ParseDigestReply: %q %v", hexd, err)
	}
}

func TestWatch(t *testing.T) {
	n := startNode(t, 2, nil)
	sc := dialSide(t, n.mgmt)
	io.WriteString(sc.c, "watch\r\n")
	// Two blocks: the first sample only primes the counters.
	for i := 0; i < 2; i++ {
		var lines []string
		for {
			l := sc.line(t)
			if l == "." {
				break
			}
			lines = append(lines, l)
		}
		block, err := nodeproto.ParseWatchBlock(lines)
		if err != nil || len(block) != 2 {
			t.Fatalf("block %q: %v", lines, err)
		}
		for id, u := range block {
			if id != 1 && id != 2 {
				t.Fatalf("unexpected device %d", id)
			}
			if u != "-" {
				if f, err := strconv.ParseFloat(u, 64); err != nil || f < 0 || f > 100 || !strings.Contains(u, ".") {
					t.Fatalf("utilization %q", u)
				}
			}
		}
	}
	// iostat off: the original's answer, and the connection stays usable.
	m := startNode(t, 1, func(c *Config) { c.IOStat = false })
	sc2 := dialSide(t, m.mgmt)
	if got := sc2.cmd(t, "WATCH"); got != "ERR iostat unavailable" {
		t.Fatalf("watch without iostat: %q", got)
	}
	if got := sc2.cmd(t, "size /dev1/usage"); !strings.HasPrefix(got, "/dev1/usage ") {
		t.Fatalf("after watch refusal: %q", got)
	}
}

func TestSideChannelShutdown(t *testing.T) {
	n := startNode(t, 1, nil)
	sc := dialSide(t, n.mgmt)
	io.WriteString(sc.c, "shutdown\r\n")
	if _, err := sc.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown: %v, want EOF", err)
	}
	select {
	case err := <-n.done:
		n.done <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("still running 4 s after shutdown")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(n.url, "http://"), time.Second); err == nil {
		t.Fatal("HTTP still accepting")
	}

	g := startNode(t, 1, nil)
	sc = dialSide(t, g.mgmt)
	if got := sc.cmd(t, "shutdown graceful 5"); got != "" {
		t.Fatalf("shutdown graceful: %q", got)
	}
	select {
	case err := <-g.done:
		g.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("still running after shutdown graceful")
	}
}

func TestUsageFile(t *testing.T) {
	n := startNode(t, 2, nil)
	n.srv.usage.refresh()
	b, err := os.ReadFile(n.path("/dev1/usage"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := nodeproto.ParseUsage(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(u.Format()) != string(b) {
		t.Fatalf("not in the original's format:\n%s", b)
	}
	if u.Disk != n.path("/dev1") || u.Total != u.Used+u.Available || time.Since(time.Unix(u.Time, 0)) > time.Minute {
		t.Fatalf("usage %+v", u)
	}
	// Compare with df, as the original computes it.
	out, err := exec.Command("df", "-P", "-l", "-k", n.path("/dev1")).Output()
	if err != nil {
		t.Skipf("df: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	used, _ := strconv.ParseUint(f[2], 10, 64)
	avail, _ := strconv.ParseUint(f[3], 10, 64)
	if f[0] != u.Device {
		t.Errorf("device %q, df says %q", u.Device, f[0])
	}
	near := func(a, b uint64) bool { d := int64(a) - int64(b); return d < 1<<20 && d > -(1<<20) } // 1 GiB of churn
	if !near(used, u.Used) || !near(avail, u.Available) {
		t.Errorf("used %d avail %d, df says %d %d", u.Used, u.Available, used, avail)
	}
	// Served over HTTP like any file.
	if code, _, body := do(t, "GET", n.url+"/dev2/usage", nil); code != 200 || !strings.Contains(body, "used: ") {
		t.Fatalf("GET usage: %d %q", code, body)
	}
	// Via du: the files under the device.
	m := startNode(t, 1, func(c *Config) { c.DevUsageViaDU = true })
	os.WriteFile(m.path("/dev1/blob"), make([]byte, 1<<20), 0o644)
	m.srv.usage.refresh()
	b, _ = os.ReadFile(m.path("/dev1/usage"))
	if u, err := nodeproto.ParseUsage(b); err != nil || u.Used < 1024 || u.Used > 4096 {
		t.Fatalf("du usage: %+v %v", u, err)
	}
}
