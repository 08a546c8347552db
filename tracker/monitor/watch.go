package monitor

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/cluster"
)

// setWatchHosts keeps one watch connection per polled host address and
// stops those of hosts no longer polled.
func (m *Monitor) setWatchHosts(ctx context.Context, hosts []*cluster.Host) {
	want := map[string]bool{}
	for _, h := range hosts {
		want[h.IP(cluster.Zone{})] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for ip, cancel := range m.watches {
		if !want[ip] {
			cancel()
			delete(m.watches, ip)
		}
	}
	for ip := range want {
		if _, ok := m.watches[ip]; ok || ctx.Err() != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		m.watches[ip] = cancel
		go m.watch(wctx, ip)
	}
}

// watch reads "<devid>\t<util>" lines (each sample ended by ".") from the
// host's side channel until ctx ends, reconnecting after errors.
func (m *Monitor) watch(ctx context.Context, ip string) {
	addr := net.JoinHostPort(ip, strconv.Itoa(m.o.StreamPort))
	for {
		err := m.watchOnce(ctx, addr)
		if ctx.Err() != nil {
			return
		}
		m.log.Debug("iostat watch ended", "addr", addr, "err", err)
		t := time.NewTimer(m.o.WatchRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) watchOnce(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: m.o.ConnTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := io.WriteString(c, "watch\r\n"); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	sample := map[int]string{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "." {
			m.mu.Lock()
			for id, u := range sample {
				m.util[id] = u
			}
			m.mu.Unlock()
			clear(sample)
			continue
		}
		id, u, ok := strings.Cut(line, "\t")
		if !ok {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			id, u = f[0], f[1]
		}
		devid, err := strconv.Atoi(strings.TrimSpace(id))
		if err != nil {
			continue
		}
		u = strings.TrimSpace(u)
		if u == "-" {
			u = ""
		}
		sample[devid] = u
	}
}
