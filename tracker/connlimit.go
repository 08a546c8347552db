package tracker

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// The tracker serves at most connLimit client connections at once: its
// open-file limit less a reserve (an eighth of the limit, at least 256)
// for the database, the storage nodes and the listeners, so that a flood
// of clients can never take the descriptors the tracker needs to work.
// (Without a limit, accept fails with EMFILE once the descriptors run out
// and further clients hang unanswered in the listen backlog.) A
// connection beyond the limit gets "ERR too_many_connections <text>" and
// is closed at once; the refusals are logged at most once a minute.

var refusedLine = wire.FormatErr("too_many_connections", "Too many connections to this tracker; try another or later")

type connLimiter struct {
	once    sync.Once
	max     int
	refused atomic.Int64
	lastLog atomic.Int64 // unix nanoseconds of the last refusal logged
}

// connLimit computes the limit from RLIMIT_NOFILE (the Go runtime has
// already raised the soft limit to the hard one).
func connLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 1 << 30
	}
	n := int(r.Cur)
	return max(n-max(256, n/8), 16)
}

// admit reports whether nc may be served; if not, it answers and closes
// it.
func (s *Server) admit(nc net.Conn) bool {
	l := &s.climit
	l.once.Do(func() { l.max = connLimit() })
	s.connMu.Lock()
	n := len(s.conns)
	s.connMu.Unlock()
	if n < l.max {
		return true
	}
	total := l.refused.Add(1)
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write([]byte(refusedLine))
	nc.Close()
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last > int64(time.Minute) && l.lastLog.CompareAndSwap(last, now) {
		s.log.Warn("connection refused: too many client connections", "client", nc.RemoteAddr().String(),
			"limit", l.max, "refused_total", total)
	}
	return false
}
