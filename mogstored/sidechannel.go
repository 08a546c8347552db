package mogstored

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// Version is reported by the side channel's "version" command.
const Version = "mogilefs-go mogstored 2.73"

// maxSideLine bounds a side-channel request line.
const maxSideLine = 64 << 10

// shutdownRequest is what the side channel's shutdown command asks of the
// server.
type shutdownRequest struct {
	graceful bool
	timeout  time.Duration // graceful only; 0 = wait for every client
}

// sideChannel serves the management port (see nodeproto for the
// protocol). Each connection is handled by one goroutine, one command at a
// time, in order.
type sideChannel struct {
	root     *docRoot
	log      *slog.Logger
	io       *ioWatcher // nil when iostat is off or unavailable
	shutdown chan<- shutdownRequest
	started  time.Time
	metrics  *nodeMetrics // nil: not counted

	bufs    sync.Pool // 1 MiB digest read buffers
	fsckMu  sync.Mutex
	fsckSem map[uint64]chan struct{} // per filesystem (st_dev): one fsck digest at a time

	done   chan struct{} // closed by close()
	mu     sync.Mutex
	closed bool
	ls     map[net.Listener]struct{}
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newSideChannel(root *docRoot, log *slog.Logger, iow *ioWatcher, shutdown chan<- shutdownRequest) *sideChannel {
	return &sideChannel{
		root: root, log: log, io: iow, shutdown: shutdown, started: time.Now(),
		done: make(chan struct{}), fsckSem: map[uint64]chan struct{}{}, ls: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{},
	}
}

func (s *sideChannel) serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.ls[l] = struct{}{}
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			if isTemporaryNetErr(err) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c)
	}
}

func isTemporaryNetErr(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// close stops the listeners and drops every connection.
func (s *sideChannel) close() {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	for l := range s.ls {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *sideChannel) handle(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	br := bufio.NewReaderSize(c, 4096)
	var line []byte
	for {
		b, err := br.ReadSlice('\n')
		if len(line)+len(b) > maxSideLine {
			io.WriteString(c, "ERROR: line too long\r\n")
			return
		}
		line = append(line, b...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return
		}
		cmdLine := strings.TrimRight(string(line), "\r\n")
		line = line[:0]
		if strings.TrimSpace(cmdLine) == "" {
			continue
		}
		if !s.command(c, cmdLine) {
			return
		}
	}
}

// command runs one request; it returns false when the connection is done.
func (s *sideChannel) command(c net.Conn, line string) bool {
	cmd, err := nodeproto.ParseCommand(line)
	s.metrics.sideCommand(cmd.Kind)
	if err != nil {
		_, werr := io.WriteString(c, nodeproto.FormatError(err))
		return werr == nil
	}
	var reply string
	switch cmd.Kind {
	case nodeproto.CmdSize:
		reply = nodeproto.FormatSizeReply(cmd.URI, s.size(cmd.URI))
	case nodeproto.CmdDigest:
		reply = s.digest(cmd.Alg, cmd.URI, cmd.Reason)
	case nodeproto.CmdWatch:
		if s.io == nil {
			reply = "ERR iostat unavailable\r\n"
			break
		}
		s.watch(c)
		return false
	default:
		var done bool
		reply, done = s.manage(cmd.Line)
		if done {
			return false
		}
	}
	_, err = io.WriteString(c, reply)
	return err == nil
}

// resolve maps a side-channel uri to a docroot-relative path, under the
// same rules as HTTP.
func (s *sideChannel) resolve(uri string) (string, bool) {
	np, err := parseNodePath(uri)
	if err != nil {
		return "", false
	}
	return np.rel, true
}

func (s *sideChannel) size(uri string) int64 {
	rel, ok := s.resolve(uri)
	if !ok {
		return -1
	}
	f, err := s.root.openRead(rel)
	if err != nil {
		return -1
	}
	defer f.Close()
	var st syscall.Stat_t
	if fstat(f.fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return -1
	}
	return st.Size
}

// digest answers "MD5 <uri>" and "SHA-1 <uri>". A file that cannot be
// opened is "-1". With reason "fsck" the digest waits for any other fsck
// digest on the same filesystem, as the original queues them.
func (s *sideChannel) digest(alg, uri, reason string) string {
	rel, ok := s.resolve(uri)
	if !ok {
		return nodeproto.FormatDigestReply(alg, uri, "")
	}
	f, err := s.root.openRead(rel)
	if err != nil {
		return nodeproto.FormatDigestReply(alg, uri, "")
	}
	defer f.Close()
	var st syscall.Stat_t
	if fstat(f.fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nodeproto.FormatDigestReply(alg, uri, "")
	}
	if reason == "fsck" {
		sem := s.fsckQueue(uint64(st.Dev))
		select {
		case sem <- struct{}{}:
		case <-s.done:
			return ""
		}
		defer func() { <-sem }()
	}
	var h hash.Hash
	if alg == nodeproto.AlgSHA1 {
		h = sha1.New()
	} else {
		h = md5.New()
	}
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 1<<20)
		bp = &b
	}
	defer s.bufs.Put(bp)
	buf := *bp
	var off int64
	for {
		select {
		case <-s.done:
			return ""
		default:
		}
		n, err := syscall.Pread(f.fd, buf, off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			s.log.Warn("digest read failed", "uri", uri, "offset", off, "err", err)
			return nodeproto.FormatReadError(uri, off)
		}
		if n == 0 {
			break
		}
		h.Write(buf[:n])
		off += int64(n)
	}
	return nodeproto.FormatDigestReply(alg, uri, hex.EncodeToString(h.Sum(nil)))
}

func (s *sideChannel) fsckQueue(dev uint64) chan struct{} {
	s.fsckMu.Lock()
	defer s.fsckMu.Unlock()
	q, ok := s.fsckSem[dev]
	if !ok {
		q = make(chan struct{}, 1)
		s.fsckSem[dev] = q
	}
	return q
}

// watch streams utilization blocks until the client goes away or the
// server closes. Input is no longer read, as in the original.
func (s *sideChannel) watch(c net.Conn) {
	ch := s.io.subscribe()
	defer s.io.unsubscribe(ch)
	gone := make(chan struct{})
	go func() {
		// Notice a client that hangs up even when no block is due.
		io.Copy(io.Discard, c)
		close(gone)
	}()
	for {
		select {
		case block := <-ch:
			c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.WriteString(c, block); err != nil {
				return
			}
		case <-gone:
			return
		case <-s.done:
			return
		}
	}
}

var shutdownRe = regexp.MustCompile(`^shutdown( ?graceful)? ?(\d+)?$`)

// manage runs a management command the way Perlbal's command interpreter
// answers it on this port (non-verbose: success prints nothing). It
// returns the reply and whether the connection is finished.
func (s *sideChannel) manage(line string) (string, bool) {
	cmd := strings.Join(strings.Fields(line), " ")
	if i := strings.IndexByte(cmd, '#'); i >= 0 {
		cmd = strings.TrimSpace(cmd[:i])
	}
	if eq := strings.IndexByte(cmd, '='); eq >= 0 {
		cmd = strings.ToLower(cmd[:eq]) + cmd[eq:]
	} else {
		cmd = strings.ToLower(cmd)
	}
	if cmd == "" {
		return "\r\n", false
	}
	base := cmd
	if i := strings.IndexFunc(cmd, func(r rune) bool { return !isWordRune(r) }); i >= 0 {
		base = cmd[:i]
	}
	if base == "" {
		return "ERROR: invalid command\r\n", false
	}
	switch base {
	case "shutdown":
		m := shutdownRe.FindStringSubmatch(cmd)
		if m == nil {
			return "ERROR: Invalid syntax to 'shutdown' command\r\n", false
		}
		if m[1] == "" {
			s.log.Info("shutdown requested on the side channel")
			s.requestShutdown(shutdownRequest{})
			return "", true
		}
		var timeout time.Duration
		if m[2] != "" {
			n, _ := strconv.Atoi(m[2])
			timeout = time.Duration(n) * time.Second
		}
		s.log.Info("graceful shutdown requested on the side channel", "timeout", timeout)
		s.requestShutdown(shutdownRequest{graceful: true, timeout: timeout})
		return "\r\n", false
	case "uptime", "version":
		if cmd != base {
			return "ERROR: The '" + base + "' command takes no arguments\r\n", false
		}
		return "starttime " + strconv.FormatInt(s.started.Unix(), 10) + "\r\n" +
			"uptime " + strconv.FormatInt(int64(time.Since(s.started).Seconds()), 10) + "\r\n" +
			"version " + Version + "\r\n.\r\n", false
	}
	return "ERROR: unknown command: " + base + "\r\n", false
}

func isWordRune(r rune) bool {
	return r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

func (s *sideChannel) requestShutdown(r shutdownRequest) {
	select {
	case s.shutdown <- r:
	default: // one is already pending
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}
