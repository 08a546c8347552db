package faulttest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// rawConn is a bare tracker connection for hostile input.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}, nil
}

func (r *rawConn) send(t testing.TB, b []byte) {
	t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := r.c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (r *rawConn) readLine(timeout time.Duration) (string, error) {
	r.c.SetReadDeadline(time.Now().Add(timeout))
	s, err := r.br.ReadString('\n')
	return strings.TrimRight(s, "\r\n"), err
}

func (r *rawConn) expect(t testing.TB, what, prefix string) {
	t.Helper()
	line, err := r.readLine(30 * time.Second)
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("%s: got %q, %v; want a line starting %q", what, line, err, prefix)
	}
}

// alive checks that the tracker still answers a new connection.
func alive(t testing.TB, addr string) {
	t.Helper()
	r, err := dialRaw(addr)
	if err != nil {
		t.Fatalf("tracker not answering: %v", err)
	}
	defer r.c.Close()
	r.send(t, []byte("noop\r\n"))
	r.expect(t, "noop on a new connection", "OK")
}

// rssKB reads a process's resident set size.
func rssKB(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestTrackerHostileLines: over-long lines, binary garbage, NUL bytes,
// bare CRs and a flood of pipelined requests each get a clear ERR line
// (or their OK) on a connection that stays usable, and the tracker keeps
// serving everyone.
func TestTrackerHostileLines(t *testing.T) {
	parallelUnlessSoak(t)
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	r, err := dialRaw(tr.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.c.Close()

	// Over-long lines: 1 MiB (and 64 MiB in soak mode) without and with
	// a valid command in front.
	for _, n := range []int{maxLine + 1, 1 << 20, scale(4<<20, 64<<20)} {
		line := append([]byte("get_paths domain=d&key="), bytes.Repeat([]byte("k"), n)...)
		r.send(t, append(line, "\r\n"...))
		r.expect(t, fmt.Sprintf("%d-byte line", len(line)), "ERR bad_params Request+line+longer+than")
		r.send(t, []byte("noop\r\n"))
		r.expect(t, "noop after an over-long line", "OK")
	}
	// Binary garbage: lines that start with a byte that is neither a word
	// character nor "!", so each is one unknown command.
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < scale(200, 5000); i++ {
		b := make([]byte, 1+rnd.IntN(300))
		for j := range b {
			b[j] = byte(rnd.UintN(256))
			if b[j] == '\n' {
				b[j] = 0
			}
		}
		b[0] = 0x80 | b[0]
		r.send(t, append(b, '\n'))
		r.expect(t, fmt.Sprintf("garbage line %d", i), "ERR unknown_command")
	}
	for l, want := range map[string]string{
		"\x00noop":               "ERR unknown_command",
		"noop\x00garbage=1":      "OK ", // the command is the leading word; the rest decodes as arguments
		"\xff\xfe\xfd":           "ERR unknown_command",
		"create_open domain=%zz": "ERR bad_params",
		"get_paths \x00=\x00":    "ERR no_domain",
		"\r\r\rnoop":             "OK ",
		"CREATE_OPEN":            "ERR no_domain",
		"!":                      "ERR unknown_command",
	} {
		r.send(t, []byte(l+"\r\n"))
		r.expect(t, strconv.Quote(l), want)
	}
	r.send(t, []byte("noop\r\n"))
	r.expect(t, "noop after the garbage", "OK")

	// A flood of pipelined requests is answered in order.
	n := scale(20000, 200000)
	go func() {
		var b bytes.Buffer
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "noop callid=%d\r\n", i)
		}
		r.c.SetWriteDeadline(time.Now().Add(2 * time.Minute))
		r.c.Write(b.Bytes())
	}()
	for i := 0; i < n; i++ {
		r.expect(t, "pipelined noop", "OK callid="+strconv.Itoa(i))
	}
	// A partial line, then the connection closed.
	p, err := dialRaw(tr.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p.send(t, []byte("create_open domain=d&key=half"))
	p.c.Close()
	alive(t, tr.Addr)
	figure(t, "over-long lines (up to %d MiB), %d garbage lines and %d pipelined requests answered; tracker up", scale(4, 64), scale(200, 5000), n)
}

// maxLine is the tracker's longest request line.
const maxLine = 64 << 10

// TestTrackerIdleConnections: thousands of idle connections do not stop
// the tracker from serving a new client promptly, and each of them still
// works when it finally sends something.
func TestTrackerIdleConnections(t *testing.T) {
	parallelUnlessSoak(t)
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	n := scale(3000, 15000)
	rss0 := rssKB(t, tr.Proc.Cmd.Process.Pid)
	conns := make([]*rawConn, 0, n)
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := dialRaw(tr.Addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// Every connection is accepted and served (one noop each, in
	// batches), then left idle.
	for _, c := range conns {
		c.send(t, []byte("noop\r\n"))
	}
	for i, c := range conns {
		c.expect(t, fmt.Sprintf("noop on connection %d", i), "OK")
	}
	rss1 := rssKB(t, tr.Proc.Cmd.Process.Pid)
	// A new client is served promptly while they are all open.
	var lat []time.Duration
	r, err := dialRaw(tr.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.c.Close()
	for i := 0; i < 200; i++ {
		start := time.Now()
		r.send(t, []byte("noop\r\n"))
		r.expect(t, "noop", "OK")
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	if p99 > time.Second {
		t.Errorf("p99 noop latency with %d idle connections: %v", n, p99)
	}
	// The idle ones still work.
	for i := 0; i < len(conns); i += max(1, len(conns)/100) {
		conns[i].send(t, []byte("noop\r\n"))
		conns[i].expect(t, "noop on an idle connection", "OK")
	}
	figure(t, "idle_connections=%d new_client_p50=%v p99=%v tracker_rss=%dMiB->%dMiB (%.1f KiB per connection)",
		n, lat[len(lat)/2].Round(10*time.Microsecond), p99.Round(10*time.Microsecond), rss0>>10, rss1>>10, float64(rss1-rss0)/float64(n))
}

// TestTrackerConnectionLimit: a tracker whose open-file limit is 1024
// (8192 in soak mode)
// takes connections until it refuses one; the figure is how many it
// holds. The next one must be turned away cleanly and at once ("ERR
// too_many_connections", or the connection closed or reset if that line
// was lost to the race with the client's request), not left hanging in
// the listen backlog; the tracker must keep serving the connections it
// holds, including commands that need the database, and take new ones
// again once some are closed.
func TestTrackerConnectionLimit(t *testing.T) {
	parallelUnlessSoak(t)
	if _, err := os.Stat("/usr/bin/prlimit"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("/usr/bin/prlimit is missing but CI=true (Debian: util-linux)")
		}
		t.Skip("SKIPPING connection limit test: /usr/bin/prlimit is missing (Debian: util-linux)")
	}
	limit := scale(1024, 8192)
	// env(1) runs prlimit(1), which runs mogilefsd with the limit; the
	// process is mogilefsd in the end.
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{Env: []string{"MOGTEST_NOFILE=" + strconv.Itoa(limit), "/usr/bin/prlimit",
		"--nofile=" + strconv.Itoa(limit) + ":" + strconv.Itoa(limit), "--"}})
	var conns []*rawConn
	defer func() {
		for _, c := range conns {
			c.c.Close()
		}
	}()
	refusal := ""
	for len(conns) < 4*limit {
		c, err := dialRaw(tr.Addr)
		if err != nil {
			refusal = "connect: " + err.Error()
			break
		}
		c.send(t, []byte("noop\r\n"))
		line, err := c.readLine(3 * time.Second)
		if err == nil && strings.HasPrefix(line, "OK") {
			conns = append(conns, c)
			continue
		}
		switch {
		case err == nil:
			refusal = "reply " + strconv.Quote(line)
		case errors.Is(err, io.EOF):
			refusal = "connection closed"
		case errors.Is(err, syscall.ECONNRESET):
			refusal = "connection reset"
		default:
			refusal = "no answer: " + err.Error()
		}
		c.c.Close()
		break
	}
	held := len(conns)
	t.Logf("held %d connections; the next one: %s", held, refusal)
	clean := strings.HasPrefix(refusal, "reply \"ERR too_many_connections") || refusal == "connection closed" ||
		refusal == "connection reset"
	if !clean {
		t.Errorf("connection %d was not refused cleanly: %s", held+1, refusal)
	}
	// The held ones still work, including a command that needs the
	// database.
	for i := 0; i < held; i += max(1, held/20) {
		conns[i].send(t, []byte("get_domains\r\n"))
		conns[i].expect(t, "get_domains on a held connection", "OK")
	}
	// Closing some lets new ones in.
	for _, c := range conns[:10] {
		c.c.Close()
	}
	conns = conns[10:]
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := dialRaw(tr.Addr)
		if err == nil {
			r.send(t, []byte("noop\r\n"))
			line, err := r.readLine(2 * time.Second)
			r.c.Close()
			if err == nil && strings.HasPrefix(line, "OK") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no new connection served after closing some")
		}
		time.Sleep(100 * time.Millisecond)
	}
	figure(t, "open_file_limit=%d connections_held=%d next_connection=%s clean=%v", limit, held, refusal, clean)
}

// TestTrackerClientNeverReads: a client pipelines requests and never
// reads a reply. The tracker stops reading from it once its replies
// cannot be sent (so its memory stays bounded), keeps serving everyone
// else, and (soak mode, which waits out the 120 s write timeout) drops
// the connection.
func TestTrackerClientNeverReads(t *testing.T) {
	parallelUnlessSoak(t)
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	pid := tr.Proc.Cmd.Process.Pid
	rss0 := rssKB(t, pid)
	bad, err := dialRaw(tr.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.c.Close()
	bad.c.(*net.TCPConn).SetReadBuffer(4096)
	// Write requests until the tracker stops taking them (the socket
	// buffers are full both ways). "!help" asks for a reply a hundred
	// times its size, so the tracker's replies back up first.
	req := bytes.Repeat([]byte("!help\r\n"), 1000)
	sent := 0
	for {
		bad.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := bad.c.Write(req)
		sent += n
		if err != nil {
			break
		}
		if sent > 1<<30 {
			t.Fatal("the tracker took 1 GiB of requests without anyone reading its replies")
		}
	}
	stuck := time.Now()
	rss1 := rssKB(t, pid)
	if rss1-rss0 > 64<<10 {
		t.Errorf("tracker RSS grew from %d to %d KiB", rss0, rss1)
	}
	// Everyone else is served.
	for i := 0; i < 20; i++ {
		alive(t, tr.Addr)
	}
	dropped := "not waited for (soak mode waits for the 120 s write timeout)"
	if soak() {
		// Wait out the write timeout without reading (reading would let
		// the tracker go on), then the connection must be at its end:
		// the replies sent before the drop, then EOF or a reset, with no
		// more requests served.
		time.Sleep(130*time.Second - time.Since(stuck))
		bad.c.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := io.Copy(io.Discard, bad.c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("the stuck connection was not dropped after 130 s: %v (read %d bytes)", err, n)
		}
		dropped = fmt.Sprintf("by %v", time.Since(stuck).Round(time.Second))
	}
	figure(t, "requests_sent_before_blocked=%dKiB tracker_rss=%dMiB->%dMiB others_served=true dropped=%s",
		sent>>10, rss0>>10, rss1>>10, dropped)
}
