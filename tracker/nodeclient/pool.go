package nodeclient

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// poolConn is a pooled connection to a node with its reader.
type poolConn struct {
	nc   net.Conn
	br   *bufio.Reader
	used time.Time // when it went back to the pool
}

// connPool keeps idle connections per host:port, up to max each; with
// maxIdle set, a connection idle longer than that is closed, not reused.
// The zero value (with max set) is ready to use.
type connPool struct {
	max     int
	maxIdle time.Duration

	mu   sync.Mutex
	idle map[string][]*poolConn
}

func (p *connPool) get(addr string) *poolConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := p.idle[addr]; len(l) > 0; l = p.idle[addr] {
		pc := l[len(l)-1]
		p.idle[addr] = l[:len(l)-1]
		if p.maxIdle == 0 || time.Since(pc.used) < p.maxIdle {
			return pc
		}
		pc.nc.Close()
	}
	return nil
}

// dial returns an idle connection to addr, or else a new one (dialled
// within timeout); pooled says which.
func (p *connPool) dial(ctx context.Context, addr string, timeout time.Duration) (pc *poolConn, pooled bool, err error) {
	if pc := p.get(addr); pc != nil {
		return pc, true, nil
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &poolConn{nc: nc, br: bufio.NewReader(nc)}, false, nil
}

func (p *connPool) put(addr string, pc *poolConn) {
	pc.nc.SetDeadline(time.Time{})
	pc.used = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = map[string][]*poolConn{}
	}
	if len(p.idle[addr]) >= p.max {
		pc.nc.Close()
		return
	}
	p.idle[addr] = append(p.idle[addr], pc)
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, l := range p.idle {
		for _, pc := range l {
			pc.nc.Close()
		}
		delete(p.idle, addr)
	}
}
