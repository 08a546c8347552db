package gateway

import (
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// hostHealth remembers storage nodes that could not be reached, so that
// for a while their copies are tried last instead of costing every
// request a failed connect.
type hostHealth struct {
	backoff time.Duration
	mu      sync.Mutex
	down    map[string]time.Time // host:port -> until
	// failures counts the failed paths (metrics: failovers).
	failures atomic.Int64
}

func newHostHealth(backoff time.Duration) *hostHealth {
	return &hostHealth{backoff: backoff, down: map[string]time.Time{}}
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

// failed records the failures of a read: nodes that gave no HTTP answer
// at all are marked down. (A node answering 404 for one copy is healthy.)
func (h *hostHealth) failed(errs []*client.PathError) {
	h.failures.Add(int64(len(errs)))
	for _, pe := range errs {
		if pe.Status != 0 {
			continue
		}
		if host := hostOf(pe.URL); host != "" {
			h.mu.Lock()
			h.down[host] = time.Now().Add(h.backoff)
			h.mu.Unlock()
		}
	}
}

// order returns paths with those on nodes currently marked down moved to
// the end, keeping the tracker's order otherwise. It returns paths itself
// when nothing is marked down.
func (h *hostHealth) order(paths []string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.down) == 0 {
		return paths
	}
	now := time.Now()
	var good, bad []string
	for _, p := range paths {
		host := hostOf(p)
		if until, ok := h.down[host]; ok {
			if now.Before(until) {
				bad = append(bad, p)
				continue
			}
			delete(h.down, host)
		}
		good = append(good, p)
	}
	if len(bad) == 0 {
		return paths
	}
	return append(good, bad...)
}
