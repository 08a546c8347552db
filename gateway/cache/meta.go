// Package cache holds the gateway's cache of tracker answers, shared by
// the /<domain>/<key> gateway and its S3 API: Meta keeps answers about
// keys for a short time and merges concurrent lookups of a key. Small
// files' bytes are kept by fid in internal/contentcache.
package cache

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Key names a cached answer: a key of a domain.
type Key struct{ Domain, Key string }

type cacheEntry[V comparable] struct {
	m       V
	refresh time.Time // from then on, a hit also starts a new lookup
	expires time.Time
}

// flight is one tracker lookup that concurrent requests for the same key
// share.
type flight[V comparable] struct {
	done    chan struct{}
	m       V
	err     error
	refresh bool // a background refresh (counted in refreshing)
}

// Meta keeps tracker answers (V, a pointer type) for a short time and
// merges concurrent lookups of one key into a single one. Only successful
// answers are kept.
type Meta[V comparable] struct {
	ttl time.Duration // <= 0: nothing is kept
	max int

	mu      sync.Mutex
	entries map[Key]cacheEntry[V]
	flights map[Key]*flight[V]
	// gen counts forget calls: a lookup that overlapped one is not
	// kept, as it may have seen the state before the change.
	gen uint64
	// refreshing counts the background refreshes running; at most
	// maxRefreshes run at once.
	refreshing int
}

// maxRefreshes bounds the background refreshes running at once. Keys
// first read together come due together: without a bound, a thousand hot
// keys would open a thousand tracker connections at once every second (a
// burst that overflows the tracker's listen queue). A refresh skipped for
// want of a slot is tried again by the next hit, and the entry stays
// valid until it expires.
const maxRefreshes = 32

// NewMeta returns a cache keeping answers for ttl (<= 0: none kept), at
// most max of them.
func NewMeta[V comparable](ttl time.Duration, max int) *Meta[V] {
	return &Meta[V]{ttl: ttl, max: max, entries: map[Key]cacheEntry[V]{}, flights: map[Key]*flight[V]{}}
}

// refreshAt is when an entry made now is due for a refresh: in the second
// half of its life, at a random point of its third quarter, so that keys
// looked up together spread their refreshes.
func (c *Meta[V]) refreshAt(now time.Time) time.Time {
	d := c.ttl / 2
	if q := int64(c.ttl / 4); q > 0 {
		d += time.Duration(rand.Int64N(q))
	}
	return now.Add(d)
}

// get returns the cached answer for k or calls lookup, once for all the
// concurrent callers asking for k. lookup runs with a context detached from
// any one caller's cancellation, bounded by timeout; a caller whose ctx
// ends stops waiting. cached reports whether the answer came from the
// cache (rather than from a lookup started for this call or joined).
//
// A key that is read often never waits for the trackers: a hit in the
// second half of an entry's life starts a lookup in the background, whose
// answer replaces the entry before it expires. No answer older than the
// TTL is ever used.
func (c *Meta[V]) Get(ctx context.Context, k Key, timeout time.Duration, lookup func(context.Context) (V, error)) (m V, cached bool, err error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		now := time.Now()
		if now.Before(e.expires) {
			if !now.Before(e.refresh) && c.refreshing < maxRefreshes {
				if _, running := c.flights[k]; !running {
					c.refreshing++
					c.start(ctx, k, timeout, lookup, true)
				}
			}
			c.mu.Unlock()
			return e.m, true, nil
		}
		delete(c.entries, k)
	}
	f, joined := c.flights[k]
	if !joined {
		f = c.start(ctx, k, timeout, lookup, false)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.m, false, f.err
	case <-ctx.Done():
		var zero V
		return zero, false, ctx.Err()
	}
}

// start runs a lookup for k in the background. Called with mu held.
func (c *Meta[V]) start(ctx context.Context, k Key, timeout time.Duration, lookup func(context.Context) (V, error), refresh bool) *flight[V] {
	f := &flight[V]{done: make(chan struct{}), refresh: refresh}
	c.flights[k] = f
	go c.run(context.WithoutCancel(ctx), k, f, c.gen, timeout, lookup)
	return f
}

func (c *Meta[V]) run(ctx context.Context, k Key, f *flight[V], gen uint64, timeout time.Duration, lookup func(context.Context) (V, error)) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f.m, f.err = lookup(ctx)
	c.mu.Lock()
	if f.refresh {
		c.refreshing--
	}
	if c.flights[k] == f {
		delete(c.flights, k)
	}
	if f.err == nil && c.ttl > 0 && c.gen == gen {
		c.makeRoom()
		now := time.Now()
		c.entries[k] = cacheEntry[V]{m: f.m, refresh: c.refreshAt(now), expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	close(f.done)
}

// makeRoom drops expired entries, and then arbitrary ones, when the cache
// is full. Called with mu held.
func (c *Meta[V]) makeRoom() {
	if len(c.entries) < c.max {
		return
	}
	now := time.Now()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max*9/10 {
			break
		}
		delete(c.entries, k)
	}
}

// forget drops what is known about k: after this gateway changed it, the
// next request asks the trackers again. A lookup already running is left
// to its callers, but new callers do not join it and its answer is not
// kept.
func (c *Meta[V]) Forget(k Key) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, k)
	delete(c.flights, k)
	c.mu.Unlock()
}

// drop removes k's entry if it is still m (after m's paths turned out to
// be stale).
func (c *Meta[V]) Drop(k Key, m V) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && e.m == m {
		delete(c.entries, k)
	}
	c.mu.Unlock()
}

// peek returns k's current entry, fresh or due for a refresh, or nil.
func (c *Meta[V]) Peek(k Key) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok && time.Now().Before(e.expires) {
		return e.m
	}
	var zero V
	return zero
}

// Len is the number of entries kept.
func (c *Meta[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Clear forgets every entry. Lookups running now still answer their
// callers, but their answers are not kept.
func (c *Meta[V]) Clear() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	clear(c.flights)
	c.mu.Unlock()
}
