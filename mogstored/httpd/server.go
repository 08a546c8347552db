package httpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Handler answers requests.
type Handler interface {
	ServeHTTP(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeHTTP calls f(w, r).
func (f HandlerFunc) ServeHTTP(w *ResponseWriter, r *Request) { f(w, r) }

// Defaults for the zero values of Server's limits.
const (
	DefaultMaxHeaderBytes = 16 << 10
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultBodyTimeout    = 60 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("httpd: server closed")

// Server serves HTTP/1.x on listeners. Set its fields before Serve.
type Server struct {
	Handler        Handler
	Logger         *slog.Logger  // nil: slog.Default()
	MaxConns       int           // connections served at once; 0 = no limit
	MaxHeaderBytes int           // request line + headers; 0 = DefaultMaxHeaderBytes
	HeaderTimeout  time.Duration // to receive a request head; 0 = default, <0 = none
	IdleTimeout    time.Duration // keep-alive wait for the next request; 0 = default, <0 = none
	BodyTimeout    time.Duration // longest stall while reading a body; 0 = default, <0 = none
	WriteTimeout   time.Duration // longest stall while writing; 0 = default, <0 = none

	initOnce  sync.Once
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	inShut    atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	wg        sync.WaitGroup
	bufs      sync.Pool
	date      atomic.Pointer[dateCache]
}

func dur(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

func (s *Server) headerTimeout() time.Duration { return dur(s.HeaderTimeout, DefaultHeaderTimeout) }
func (s *Server) idleTimeout() time.Duration   { return dur(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Server) bodyTimeout() time.Duration   { return dur(s.BodyTimeout, DefaultBodyTimeout) }
func (s *Server) writeTimeout() time.Duration  { return dur(s.WriteTimeout, DefaultWriteTimeout) }
func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}
func (s *Server) shuttingDown() bool { return s.inShut.Load() }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.MaxConns > 0 {
			s.sem = make(chan struct{}, s.MaxConns)
		}
		s.done = make(chan struct{})
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.bufs.New = func() any { b := make([]byte, 0, smallBody+1024); return &b }
	})
}

// Serve accepts connections on l until Shutdown or Close, and then
// returns ErrServerClosed. It closes l.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.shuttingDown() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	var backoff time.Duration
	for {
		if s.sem != nil {
			select {
			case s.sem <- struct{}{}:
			case <-s.done:
				return ErrServerClosed
			}
		}
		rwc, err := l.Accept()
		if err != nil {
			if s.sem != nil {
				<-s.sem
			}
			if s.shuttingDown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("http accept failed; retrying", "err", err, "delay", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
					return ErrServerClosed
				}
				continue
			}
			return fmt.Errorf("httpd: accept: %w", err)
		}
		backoff = 0
		c := s.newConn(rwc)
		if c == nil {
			continue
		}
		go c.serve()
	}
}

// isTemporary reports accept errors worth retrying (EMFILE, ENFILE,
// ECONNABORTED and the like).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

const (
	stateIdle int32 = iota
	stateActive
)

type conn struct {
	srv     *Server
	rwc     net.Conn
	remote  net.Addr
	br      *bufio.Reader
	req     *Request
	w       ResponseWriter
	state   atomic.Int32
	sent100 bool
}

// readBufSize is a connection's read buffer: large enough that a small
// PUT (headers and a body of up to about 16 KiB, which clients send in
// one write) arrives in one read system call.
const readBufSize = 16 << 10

func (s *Server) newConn(rwc net.Conn) *conn {
	c := &conn{srv: s, rwc: rwc, remote: rwc.RemoteAddr(), br: bufio.NewReaderSize(rwc, readBufSize), req: &Request{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		rwc.Close()
		if s.sem != nil {
			<-s.sem
		}
		return nil
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

func (c *conn) peekBuffered() []byte {
	b, _ := c.br.Peek(c.br.Buffered())
	return b
}

func (c *conn) serve() {
	s := c.srv
	defer func() {
		c.rwc.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		if s.sem != nil {
			<-s.sem
		}
		s.wg.Done()
	}()
	for {
		c.state.Store(stateIdle)
		if s.shuttingDown() {
			return
		}
		r := c.req
		err := c.readRequest(r)
		c.state.Store(stateActive)
		if err != nil {
			c.answerBadRequest(r, err)
			return
		}
		c.sent100 = false
		c.w.reset(c, r)
		if !c.handle(r) {
			return
		}
		if c.w.close || c.w.err != nil {
			if c.w.err == nil && !r.BodyDone() {
				c.linger()
			}
			return
		}
	}
}

// After an answer given before the request body was read (a refused or
// failed PUT), closing at once would reset the connection while the client
// is still sending: the reset can destroy the answer before the client
// reads it. linger sends FIN instead and reads what still arrives, for a
// moment and a bounded number of bytes, before the close (nginx's
// lingering close does the same, for up to 30 s).
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

func (c *conn) linger() {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if c.rwc.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	io.CopyN(io.Discard, c.rwc, lingerBytes)
}

// answerBadRequest answers a request the server could not parse (or
// nothing, if the client went away or stalled before sending anything).
func (c *conn) answerBadRequest(r *Request, err error) {
	var se *statusError
	switch {
	case errors.As(err, &se):
	case IsTimeout(err) && len(r.hdr) > 0:
		se = &statusError{408, "request head not received in time"}
	default:
		return // EOF, reset or idle timeout: nothing to answer
	}
	c.srv.logger().Debug("bad request", "remote", c.remote.String(), "status", se.code, "err", se.msg)
	if r.Method == "" {
		r.Method = "GET"
	}
	r.keepAlive = false
	r.chunked, r.fixed.remain = false, 0
	c.w.reset(c, r)
	c.w.Header("Content-Type", "text/html")
	body := "<h1>" + fmt.Sprint(se.code) + " - " + StatusText(se.code) + "</h1>\n" + se.msg
	c.w.Respond(se.code, []byte(body))
	if c.w.err == nil && se.code != 408 {
		// The client may still be sending the rest of an oversized head
		// (a client too slow to send its head gets no more time).
		c.linger()
	}
}

// handle runs the handler for r; it returns false when the connection
// must be dropped.
func (c *conn) handle(r *Request) (ok bool) {
	w := &c.w
	defer func() {
		if p := recover(); p != nil {
			c.srv.logger().Error("http handler panic", "method", r.Method, "path", r.Path, "panic", p,
				"stack", string(debug.Stack()))
			if !w.wrote {
				w.close = true
				w.hdr = w.hdr[:0]
				w.Respond(500, []byte("<h1>500 - Internal Server Error</h1>\n"))
			}
			ok = false
		}
	}()
	c.srv.Handler.ServeHTTP(w, r)
	w.finishStream()
	if !w.wrote {
		w.close = true
		w.Respond(500, []byte("<h1>500 - Internal Server Error</h1>\n"))
	}
	return true
}

// Shutdown stops accepting, closes idle connections, lets active ones
// finish their current request, and returns when all are gone or ctx is
// done (then it closes the rest and returns ctx's error).
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.stopAccepting()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for c := range s.conns {
			if c.state.Load() == stateIdle {
				// Wake the reader; it sees the shutdown and leaves.
				c.rwc.SetReadDeadline(time.Unix(1, 0))
			}
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			s.wg.Wait()
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.init()
	s.stopAccepting()
	s.mu.Lock()
	for c := range s.conns {
		c.rwc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) stopAccepting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inShut.Store(true)
	s.closeOnce.Do(func() { close(s.done) })
	for l := range s.listeners {
		l.Close()
	}
}
