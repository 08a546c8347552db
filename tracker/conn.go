package tracker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
)

const (
	// maxLine is the longest request line served. The original has no
	// limit; a longer line is answered with one ERR and skipped, and the
	// connection stays usable.
	maxLine = 64 << 10
	// writeTimeout drops a client that does not read its replies (the
	// original's 120 s write watchdog).
	writeTimeout = 120 * time.Second
	// commandTimeout bounds one command (the original kills a query
	// worker silent for 30 s; a sleep command is bounded separately).
	commandTimeout = 10 * time.Minute
)

type conn struct {
	s        *Server
	nc       net.Conn
	br       *bufio.Reader
	ip       string
	clientIP net.IP

	wmu    sync.Mutex
	bw     *bufio.Writer
	broken bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096)}
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.clientIP = ta.IP
		c.ip = ta.IP.String()
	} else {
		c.ip = "0.0.0.0"
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return c
}

// wake makes a blocked read return (at shutdown).
func (c *conn) wake() { c.nc.SetReadDeadline(time.Now()) }

func (c *conn) serve() {
	defer func() {
		c.s.watchers.remove(c)
		c.wmu.Lock()
		c.bw.Flush()
		c.wmu.Unlock()
		c.nc.Close()
	}()
	for !c.s.closing.Load() {
		line, tooLong, err := c.readLine()
		if err != nil {
			return
		}
		if tooLong {
			c.s.log.Warn("request line too long, skipped", "client", c.ip, "limit", maxLine)
			c.write("ERR bad_params " + wire.Escape("Request line longer than "+strconv.Itoa(maxLine)+" bytes") + "\r\n")
		} else if line != "" {
			c.handleLine(line)
		}
		// Keep replies buffered only while a whole request is already
		// waiting; a partial line may wait for this reply.
		if !c.lineBuffered() {
			if !c.flush() {
				return
			}
		}
	}
}

// lineBuffered reports whether a complete request line is already read.
func (c *conn) lineBuffered() bool {
	n := c.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := c.br.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// readLine returns the next line without its "\r\n" or "\n". A line
// longer than maxLine is consumed and reported as tooLong.
func (c *conn) readLine() (string, bool, error) {
	var buf []byte
	tooLong := false
	for {
		frag, err := c.br.ReadSlice('\n')
		if err == nil {
			if !tooLong {
				if len(buf) == 0 {
					buf = frag
				} else {
					buf = append(buf, frag...)
				}
			}
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong {
				buf = append(buf, frag...)
				if len(buf) > maxLine {
					tooLong, buf = true, nil
				}
			}
			continue
		}
		return "", false, err
	}
	if tooLong || len(buf) > maxLine+2 {
		return "", true, nil
	}
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	return string(buf), false, nil
}

// write queues s for the client; flush sends it.
func (c *conn) write(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken {
		return
	}
	if c.bw.Available() < len(s) {
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	}
	if _, err := c.bw.WriteString(s); err != nil {
		c.broken = true
	}
}

func (c *conn) flush() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken {
		return false
	}
	if c.bw.Buffered() == 0 {
		return true
	}
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.bw.Flush(); err != nil {
		c.broken = true
		c.s.log.Info("client write failed, dropping connection", "client", c.ip, "err", err)
		c.nc.Close()
		return false
	}
	return true
}

// watchMessage pushes a !watch line.
func (c *conn) watchMessage(msg string) {
	c.write(":: " + msg + "\r\n")
	c.flush()
}

// handleLine dispatches one non-empty line.
func (c *conn) handleLine(line string) {
	if line[0] == '!' {
		if cmd, args, ok := parseBang(line); ok {
			c.write(c.s.bang(c, cmd, args))
			return
		}
	}
	c.write(c.s.query(c, line))
}

// parseBang matches the original's ^!(\S+)(?:\s+(.+))?$.
func parseBang(line string) (cmd, args string, ok bool) {
	rest := line[1:]
	i := strings.IndexFunc(rest, isSpace)
	if i < 0 {
		return rest, "", rest != ""
	}
	if i == 0 {
		return "", "", false
	}
	cmd, rest = rest[:i], strings.TrimLeftFunc(rest[i:], isSpace)
	if rest == "" {
		return "", "", false
	}
	return cmd, rest, true
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\f', '\v':
		return true
	}
	return false
}

func isWordByte(b byte) bool {
	return b == '_' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// splitCommand splits a query line as the original's worker does: leading
// whitespace skipped, the command is the leading run of word characters
// (lower-cased), the arguments what follows after whitespace.
func splitCommand(line string) (cmd, args string, ok bool) {
	line = strings.TrimLeftFunc(line, isSpace)
	i := 0
	for i < len(line) && isWordByte(line[i]) {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	return strings.ToLower(line[:i]), strings.TrimLeftFunc(line[i:], isSpace), true
}

// query runs one protocol command and returns its reply line.
func (s *Server) query(c *conn, line string) string {
	started := time.Now()
	cmd, rawArgs, ok := splitCommand(line)
	if !ok {
		return wire.FormatErr("unknown_command", "")
	}
	args, err := wire.DecodeArgs(rawArgs)
	if err != nil {
		return wire.FormatErr("bad_params", "Malformed %-escape in arguments")
	}
	callid, hasCallid := args["callid"]
	h := s.handlers[cmd]
	if h == nil {
		s.metrics.command(cmd, "unknown_command", time.Since(started))
		return formatReply(errReply("unknown_command", ""), callid, hasCallid)
	}
	s.stats.add("queries", 1)
	pend, entered := s.slots.enter(c.ip, line)
	if pend.waited {
		s.stats.add("times_out_of_qworkers", 1)
	}
	if !entered {
		// "!want 0 queryworker" and then a shutdown: it never ran.
		return formatReply(errReply("failure", "Tracker is shutting down"), callid, hasCallid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	// Like the original, no query runs before the monitor's first round.
	if err := s.cl.WaitFirstRound(ctx); err != nil {
		s.leaveSlot(pend)
		return formatReply(errReply("failure", ""), callid, hasCallid)
	}
	workStart := time.Now()
	r := &request{cmd: cmd, args: args, c: c, zone: cluster.Zone{Alt: args["zone"] == "alt", ClientIP: c.clientIP}}
	rep := s.run(ctx, h, r)
	s.leaveSlot(pend)
	now := time.Now()
	s.metrics.command(cmd, rep.code, now.Sub(started))
	s.recent.add(c.ip, line, now.Sub(started), now.Sub(workStart))
	return formatReply(rep, callid, hasCallid)
}

// leaveSlot frees a query slot; one above a lowered limit is a query
// worker going away, which the original announces.
func (s *Server) leaveSlot(p pending) {
	if s.slots.leave(p) {
		s.log.Info("Reducing queryworker headcount by 1.", watchlog.Tracker())
		s.childEnded("queryworker")
	}
}

// run calls a handler, turning a panic into ERR failure.
func (s *Server) run(ctx context.Context, h handler, r *request) (rep reply) {
	defer func() {
		if p := recover(); p != nil {
			// The original's words for a command that died.
			s.log.Error(fmt.Sprintf("Error running command '%s': %v", r.cmd, p), watchlog.Job("queryworker"))
			rep = errReply("failure", "")
		}
	}()
	return h(ctx, r)
}

func formatReply(r reply, callid string, hasCallid bool) string {
	if r.code == "" {
		if hasCallid {
			if r.args == nil {
				r.args = wire.Args{}
			}
			r.args["callid"] = callid
		}
		return wire.FormatOK(r.args)
	}
	line := wire.FormatErr(r.code, r.text)
	if hasCallid {
		line = line[:len(line)-2] + " " + wire.Escape(callid) + "\r\n"
	}
	return line
}

// request is one decoded query.
type request struct {
	cmd  string
	args wire.Args
	zone cluster.Zone
	c    *conn
}

func (r *request) arg(k string) string { return r.args[k] }

// truthy reads an argument as Perl's truth: set, non-empty, not "0".
func (r *request) truthy(k string) bool { return r.args.Bool(k) }

// reply is a handler's answer: code "" is OK with args.
type reply struct {
	code string
	text string
	args wire.Args
}

type handler func(ctx context.Context, r *request) reply

func okReply(a wire.Args) reply { return reply{args: a} }

func errReply(code, text string) reply { return reply{code: code, text: text} }

// numPrefix reads a number the way Perl's +0 does: optional whitespace and
// sign, then leading digits; anything else gives 0.
func numPrefix(s string) int64 {
	s = strings.TrimLeftFunc(s, isSpace)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (1<<62)/10 {
			break
		}
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		n = -n
	}
	return n
}
