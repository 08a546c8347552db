package tracker_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestProtocol checks the framing, the ERR paths of malformed input and
// the !-commands against a real tracker on SQLite (the protocol layer does
// not depend on the database).
func TestProtocol(t *testing.T) {
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	c := tr.Conn(t)

	t.Run("framing", func(t *testing.T) {
		if r := raw(t, c, "noop"); r != "OK " {
			t.Fatalf("noop: %q, want %q", r, "OK ")
		}
		for _, l := range []string{"NOOP", "  noop", "noop ", "Noop\t", "noop foo=bar"} {
			if r := raw(t, c, l); r != "OK " {
				t.Errorf("%q: %q", l, r)
			}
		}
		// Bare \n, empty lines skipped, pipelined replies in order.
		if err := c.Write([]byte("\r\n\n\nnoop callid=1\nnoop callid=2\r\nbogus callid=3\nnoop callid=4\n")); err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := 0; i < 4; i++ {
			l, err := c.ReadLine()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, l)
		}
		want := []string{"OK callid=1", "OK callid=2", "ERR unknown_command Unknown+server+command 3", "OK callid=4"}
		if !slices.Equal(got, want) {
			t.Fatalf("pipelined: %q, want %q", got, want)
		}
		// A request followed by the start of the next one: the first
		// reply must not wait for the rest of the second line.
		if err := c.Write([]byte("noop callid=5\r\nno")); err != nil {
			t.Fatal(err)
		}
		if l, err := c.ReadLine(); err != nil || l != "OK callid=5" {
			t.Fatalf("reply before a partial line: %q %v", l, err)
		}
		if err := c.Write([]byte("op callid=6\r\n")); err != nil {
			t.Fatal(err)
		}
		if l, err := c.ReadLine(); err != nil || l != "OK callid=6" {
			t.Fatalf("completed partial line: %q %v", l, err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		wantErr(t, c, "bogus_command", "unknown_command", "Unknown server command")
		wantErr(t, c, "stats", "unknown_command", "")
		wantErr(t, c, "#$%", "unknown_command", "")
		wantErr(t, c, "   ", "unknown_command", "")
		wantErr(t, c, "!stats ", "unknown_command", "")
		wantErr(t, c, "noop key=%zz", "bad_params", "")
		wantErr(t, c, "noop key=%4", "bad_params", "")
		wantErr(t, c, "get_paths key=a%2", "bad_params", "")
		// callid on an error.
		if r := raw(t, c, "get_paths callid=a%20b"); r != "ERR no_domain No+domain+provided a+b" {
			t.Fatalf("callid on ERR: %q", r)
		}
		// A missing argument.
		wantErr(t, c, "create_domain", "no_domain", "No domain provided")
		// An over-long line: one ERR, the rest of the line skipped, the
		// connection still usable.
		long := "noop x=" + strings.Repeat("a", 200<<10)
		wantErr(t, c, long, "bad_params", "")
		if r := raw(t, c, "noop"); r != "OK " {
			t.Fatalf("after long line: %q", r)
		}
		// Binary junk and NUL bytes.
		wantErr(t, c, "\x00\x01\x02", "unknown_command", "")
		if r := raw(t, c, "noop a=\x00\xff"); r != "OK " {
			t.Fatalf("binary args: %q", r)
		}
	})

	t.Run("random junk", func(t *testing.T) {
		// Random lines (no "!", which could shut the tracker down): each
		// gets exactly one reply line and the connection stays usable.
		j := tr.Conn(t)
		r := rand.New(rand.NewPCG(1, 2))
		cmds := []string{"", "get_paths ", "create_open ", "create_close ", "list_keys ", "set_state ", "file_debug "}
		for i := 0; i < 500; i++ {
			b := make([]byte, r.IntN(200))
			for k := range b {
				b[k] = byte(r.IntN(256))
				if b[k] == '\n' || b[k] == '\r' || b[k] == '!' {
					b[k] = 'x'
				}
			}
			line := strings.TrimLeft(cmds[r.IntN(len(cmds))]+string(b), " \t\f\v\x00")
			if strings.TrimSpace(line) == "" || line[0] == '!' {
				continue
			}
			reply := raw(t, j, line)
			if !hasPrefix(reply, "OK ") && !hasPrefix(reply, "ERR ") {
				t.Fatalf("%q: reply %q", line, reply)
			}
		}
		if r := raw(t, j, "noop"); r != "OK " {
			t.Fatalf("after junk: %q", r)
		}
	})

	t.Run("callid", func(t *testing.T) {
		if r := raw(t, c, "noop callid=42"); r != "OK callid=42" {
			t.Fatalf("%q", r)
		}
		a := ok(t, c, "clear_cache all=1&callid=7")
		if a["all"] != "1" || a["callid"] != "7" {
			t.Fatalf("clear_cache echo: %v", a)
		}
	})

	t.Run("test and sleep", func(t *testing.T) {
		wantErr(t, c, "test crash=1", "failure", "Operation failed")
		ok(t, c, "test")
		t0 := time.Now()
		ok(t, c, "sleep duration=1")
		if d := time.Since(t0); d < 900*time.Millisecond {
			t.Fatalf("sleep 1 took %v", d)
		}
		ok(t, c, "sleep duration=abc")
	})

	t.Run("bang", func(t *testing.T) {
		lines, err := c.Bang("!version")
		if err != nil || !slices.Equal(lines, []string{"2.73"}) {
			t.Fatalf("!version: %q %v", lines, err)
		}
		lines, _ = c.Bang("!stats")
		if len(lines) < 4 || !hasPrefix(lines[0], "uptime ") || !hasPrefix(lines[1], "pending_queries ") ||
			!hasPrefix(lines[2], "processing_queries ") || !hasPrefix(lines[3], "bored_queryworkers ") {
			t.Fatalf("!stats: %q", lines)
		}
		if !slices.ContainsFunc(lines, func(l string) bool { return hasPrefix(l, "queries ") }) {
			t.Fatalf("!stats without queries counter: %q", lines)
		}
		lines, _ = c.Bang("!jobs")
		if !slices.Contains(lines, "queryworker count 20") || !slices.Contains(lines, "monitor count 1") {
			t.Fatalf("!jobs: %q", lines)
		}
		lines, _ = c.Bang("!want 5 queryworker")
		if !slices.Equal(lines, []string{"Now desiring 5 children doing 'queryworker'."}) {
			t.Fatalf("!want: %q", lines)
		}
		lines, _ = c.Bang("!jobs")
		if !slices.Contains(lines, "queryworker desired 5") {
			t.Fatalf("!jobs after !want: %q", lines)
		}
		c.Bang("!want 20 queryworker")
		lines, _ = c.Bang("!want 2 bogus")
		if len(lines) != 1 || !hasPrefix(lines[0], "ERROR: Invalid class 'bogus'.  Valid classes: delete, fsck, job_master") {
			t.Fatalf("!want bogus: %q", lines)
		}
		lines, _ = c.Bang("!want x")
		if !slices.Equal(lines, []string{"ERROR: usage: !want <count> <jobclass>"}) {
			t.Fatalf("!want usage: %q", lines)
		}
		lines, _ = c.Bang("!to")
		if !slices.Equal(lines, []string{"ERROR: usage: !to <jobclass> <message>"}) {
			t.Fatalf("!to: %q", lines)
		}
		lines, _ = c.Bang("!to nosuchjob :wake_up")
		if !slices.Equal(lines, []string{"Message sent to 0 children."}) {
			t.Fatalf("!to: %q", lines)
		}
		lines, _ = c.Bang("!to replicate :wake_up")
		if len(lines) != 1 || !regexp.MustCompile(`^Message sent to \d+ children\.$`).MatchString(lines[0]) {
			t.Fatalf("!to: %q", lines)
		}
		lines, _ = c.Bang("!queue")
		if len(lines) != 0 {
			t.Fatalf("!queue: %q", lines)
		}
		lines, _ = c.Bang("!recent")
		if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], "127.0.0.1 ") {
			t.Fatalf("!recent: %q", lines)
		}
		lines, _ = c.Bang("!help")
		if len(lines) == 0 || lines[0] != "Mogilefsd admin commands:" {
			t.Fatalf("!help: %q", lines)
		}
	})

	t.Run("watch", func(t *testing.T) {
		w := tr.Conn(t)
		lines, _ := w.Bang("!watch")
		if !slices.Equal(lines, []string{"Added you to watcher list."}) {
			t.Fatalf("!watch: %q", lines)
		}
		// An error elsewhere is pushed as ":: <message>".
		wantErr(t, c, "test crash=1", "failure", "")
		l, err := w.ReadLine()
		if err != nil || !hasPrefix(l, ":: ") {
			t.Fatalf("watch line: %q %v", l, err)
		}
		for {
			lines, err = w.Bang("!watch")
			if err != nil {
				t.Fatal(err)
			}
			// Watch lines queued before the toggle may come first.
			lines = slices.DeleteFunc(lines, func(s string) bool { return hasPrefix(s, ":: ") })
			if len(lines) > 0 {
				break
			}
		}
		if !slices.Equal(lines, []string{"Removed you from watcher list."}) {
			t.Fatalf("!watch off: %q", lines)
		}
	})

	t.Run("pending queue", func(t *testing.T) {
		// With one query slot, a sleeping query makes the next one wait;
		// !queue shows it and !stats counts it.
		c.Bang("!want 1 queryworker")
		defer c.Bang("!want 20 queryworker")
		a, b := tr.Conn(t), tr.Conn(t)
		if err := a.Write([]byte("sleep duration=2\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // let the sleep take the slot
		if err := b.Write([]byte("noop\r\n")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		var q []string
		for time.Now().Before(deadline) {
			q, _ = c.Bang("!queue")
			if len(q) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(q) != 1 || !strings.HasSuffix(q[0], " noop") {
			t.Fatalf("!queue: %q", q)
		}
		if l, _ := a.ReadLine(); l != "OK " {
			t.Fatalf("sleep: %q", l)
		}
		if l, _ := b.ReadLine(); l != "OK " {
			t.Fatalf("queued noop: %q", l)
		}
		stats, _ := c.Bang("!stats")
		if !slices.ContainsFunc(stats, func(l string) bool { return hasPrefix(l, "times_out_of_qworkers ") }) {
			t.Fatalf("!stats: %q", stats)
		}
	})

	t.Run("many connections", func(t *testing.T) {
		const n = 2000
		conns := make([]net.Conn, 0, n)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := 0; i < n; i++ {
			nc, err := net.DialTimeout("tcp", tr.Addr, 5*time.Second)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			conns = append(conns, nc)
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i, nc := range conns {
			wg.Add(1)
			go func(i int, nc net.Conn) {
				defer wg.Done()
				nc.SetDeadline(time.Now().Add(60 * time.Second))
				if _, err := fmt.Fprintf(nc, "noop callid=%d\r\n", i); err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 64)
				m, err := nc.Read(buf)
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("OK callid=%d\r\n", i); string(buf[:m]) != want {
					errs <- fmt.Errorf("conn %d: %q", i, buf[:m])
				}
			}(i, nc)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})

	t.Run("disconnect mid-command", func(t *testing.T) {
		// A client that leaves during a command or mid-line does no harm.
		for i := 0; i < 20; i++ {
			nc, err := net.Dial("tcp", tr.Addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(nc, "sleep duration=0.2\r\ncreate_domain domain=half")
			nc.Close()
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			stats, _ := c.Bang("!stats")
			if slices.Contains(stats, "processing_queries 0") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("queries still running: %q", stats)
			}
			time.Sleep(50 * time.Millisecond)
		}
		a := ok(t, c, "get_domains")
		for k, v := range a {
			if v == "half" {
				t.Fatalf("a half-sent command ran: %s=%s", k, v)
			}
		}
	})
}
