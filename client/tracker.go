package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// maxReplyLine bounds one reply line; get_domains and list_keys replies
// are the largest and stay far below it.
const maxReplyLine = 16 << 20

// tracker is one tracker address with its pool of idle connections.
type tracker struct {
	addr      string
	deadUntil atomic.Int64 // unix nanoseconds; 0 = alive

	mu     sync.Mutex
	idle   []*trackerConn
	closed bool
}

// trackerConn is one persistent connection; it is only ever used by one
// request at a time and is dropped on any error.
type trackerConn struct {
	nc  net.Conn
	br  *bufio.Reader
	buf []byte // request line buffer, reused
}

func (t *tracker) isDead(now time.Time) bool {
	d := t.deadUntil.Load()
	return d != 0 && now.UnixNano() < d
}

func (t *tracker) markDead(now time.Time, d time.Duration) {
	t.deadUntil.Store(now.Add(d).UnixNano())
}

// getIdle pops an idle connection, or returns nil.
func (t *tracker) getIdle() *trackerConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.idle)
	if n == 0 {
		return nil
	}
	c := t.idle[n-1]
	t.idle[n-1] = nil
	t.idle = t.idle[:n-1]
	return c
}

// putIdle returns a healthy connection to the pool, or closes it when the
// pool is full or closed.
func (t *tracker) putIdle(c *trackerConn, max int) {
	t.mu.Lock()
	if !t.closed && len(t.idle) < max {
		t.idle = append(t.idle, c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.nc.Close()
}

// dropIdle closes every idle connection (after one of them turned out to
// be stale, the others most likely are too).
func (t *tracker) dropIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.dropIdle()
}

// readOnlyCmds are safe to send again to another tracker after a timeout
// or a broken connection: they change nothing.
var readOnlyCmds = map[string]bool{
	"get_paths": true, "file_info": true, "file_debug": true, "list_keys": true,
	"list_fids": true, "get_domains": true, "get_hosts": true, "get_devices": true,
	"server_setting": true, "server_settings": true, "fsck_status": true,
	"fsck_getlog": true, "rebalance_status": true, "rebalance_test": true, "noop": true,
}

// appendRequest appends "cmd k=v&k=v\r\n" to buf; kv holds name, value
// pairs. Values are escaped with wire.Escape.
func appendRequest(buf []byte, cmd string, kv []string) []byte {
	buf = append(buf, cmd...)
	buf = append(buf, ' ')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			buf = append(buf, '&')
		}
		buf = append(buf, wire.Escape(kv[i])...)
		buf = append(buf, '=')
		buf = append(buf, wire.Escape(kv[i+1])...)
	}
	return append(buf, '\r', '\n')
}

// errStale marks a failure on a reused connection before any byte of the
// reply arrived: the tracker had closed it, and did not see the request.
var errStale = errors.New("stale connection")

// roundTrip sends one request and reads its reply line. On any error the
// caller must close the connection. stale reports a failure that happened
// before any reply byte arrived because the peer had closed the connection.
func (c *trackerConn) roundTrip(ctx context.Context, req []byte, deadline time.Time) (line string, sent, stale bool, err error) {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return "", false, false, err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			// Wake up any blocked read or write; the connection is
			// then closed by the caller, never reused.
			c.nc.SetDeadline(time.Unix(1, 0))
		})
		defer func() {
			if !stop() && err == nil {
				// The context fired while we were finishing: the
				// connection's deadline is poisoned, so report the
				// cancellation and let it be dropped.
				err = ctx.Err()
			}
		}()
	}
	if _, err := c.nc.Write(req); err != nil {
		return "", false, isPeerClosed(err), err
	}
	line, n, err := readLine(c.br)
	if err != nil {
		return "", true, n == 0 && isPeerClosed(err), err
	}
	return line, true, false, nil
}

// readLine reads one "\n"-terminated line without its line ending; n is
// the number of bytes read.
func readLine(br *bufio.Reader) (string, int, error) {
	b, err := br.ReadSlice('\n')
	if err == nil {
		return string(trimEOL(b)), len(b), nil
	}
	if err != bufio.ErrBufferFull {
		return "", len(b), err
	}
	long := append([]byte(nil), b...)
	for {
		b, err = br.ReadSlice('\n')
		long = append(long, b...)
		if len(long) > maxReplyLine {
			return "", len(long), fmt.Errorf("%w: reply longer than %d bytes", ErrBadReply, maxReplyLine)
		}
		switch err {
		case nil:
			return string(trimEOL(long)), len(long), nil
		case bufio.ErrBufferFull:
			continue
		default:
			return "", len(long), err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// isPeerClosed reports errors that mean the other end had closed the
// connection.
func isPeerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// call sends cmd with the name/value pairs kv to a tracker and returns the
// decoded OK reply, a *wire.Error for an ERR reply, or a *TrackerError.
func (c *Client) call(ctx context.Context, cmd string, kv ...string) (wire.Args, error) {
	return c.callTimeout(ctx, c.timeout, cmd, kv...)
}

func (c *Client) callTimeout(ctx context.Context, timeout time.Duration, cmd string, kv ...string) (wire.Args, error) {
	if c.closed.Load() {
		return nil, &TrackerError{Cmd: cmd, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return nil, &TrackerError{Cmd: cmd, Err: err}
	}
	n := len(c.trackers)
	start := int(c.next.Add(1) % uint64(n))
	now := time.Now()
	// Trackers marked dead are tried only when every tracker is dead.
	allDead := true
	for _, t := range c.trackers {
		if !t.isDead(now) {
			allDead = false
			break
		}
	}
	var lastErr error
	var lastAddr string
	for i := 0; i < n; i++ {
		t := c.trackers[(start+i)%n]
		if !allDead && t.isDead(now) {
			continue
		}
		c.counters.command(cmd)
		line, sent, err := c.tryTracker(ctx, t, timeout, cmd, kv)
		if err == nil {
			args, perr := wire.ParseReply(line)
			var we *wire.Error
			if perr != nil && !errors.As(perr, &we) {
				return nil, &TrackerError{Addr: t.addr, Cmd: cmd, Err: fmt.Errorf("%w: %v", ErrBadReply, perr)}
			}
			return args, perr
		}
		lastErr, lastAddr = err, t.addr
		if ctx.Err() != nil {
			return nil, &TrackerError{Addr: t.addr, Cmd: cmd, Err: ctx.Err()}
		}
		c.log.Warn("tracker request failed", "tracker", t.addr, "cmd", cmd, "err", err)
		t.markDead(time.Now(), c.deadRetry)
		if sent && !readOnlyCmds[cmd] {
			// The tracker may have acted on it: never send it twice.
			return nil, &TrackerError{Addr: t.addr, Cmd: cmd, Err: err}
		}
	}
	if lastErr == nil {
		lastErr = ErrNoTracker
	} else if !errors.Is(lastErr, ErrTimeout) {
		lastErr = fmt.Errorf("%w: %w", ErrNoTracker, lastErr)
	}
	return nil, &TrackerError{Addr: lastAddr, Cmd: cmd, Err: lastErr}
}

// tryTracker runs one request against t: on an idle connection if there
// is one (retrying once on a fresh connection if that one turns out stale),
// else on a new connection. sent reports whether the request may have
// reached the tracker.
func (c *Client) tryTracker(ctx context.Context, t *tracker, timeout time.Duration, cmd string, kv []string) (line string, sent bool, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		tc := t.getIdle()
		reused := tc != nil
		if !reused {
			tc, err = c.dial(ctx, t)
			if err != nil {
				return "", false, err
			}
		}
		deadline := time.Now().Add(timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		tc.buf = appendRequest(tc.buf[:0], cmd, kv)
		var stale bool
		line, sent, stale, err = tc.roundTrip(ctx, tc.buf, deadline)
		if err == nil {
			if tc.br.Buffered() == 0 {
				t.putIdle(tc, c.maxIdle)
			} else {
				// More than one reply line arrived: the stream is out
				// of step, never use it again.
				tc.nc.Close()
			}
			return line, true, nil
		}
		tc.nc.Close()
		if reused && stale && ctx.Err() == nil {
			t.dropIdle()
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		return "", sent, err
	}
	return "", sent, err
}

func (c *Client) dial(ctx context.Context, t *tracker) (*trackerConn, error) {
	nc, err := c.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	return &trackerConn{nc: nc, br: bufio.NewReaderSize(nc, 4096), buf: make([]byte, 0, 256)}, nil
}
