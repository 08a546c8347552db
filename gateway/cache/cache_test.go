package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheMergesConcurrentLookups(t *testing.T) {
	c := NewMeta[*fileMeta](time.Minute, 100)
	k := Key{Domain: "d", Key: "k"}
	var calls atomic.Int32
	release := make(chan struct{})
	lookup := func(ctx context.Context) (*fileMeta, error) {
		calls.Add(1)
		<-release
		return &fileMeta{fid: 7}, nil
	}
	const n = 20
	var wg sync.WaitGroup
	results := make([]*fileMeta, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := c.Get(context.Background(), k, time.Second, lookup)
			if err != nil {
				t.Error(err)
			}
			results[i] = m
		}()
	}
	// Wait until the lookup is running.
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	// Callers arriving while the lookup runs join it; those arriving
	// after it finished find its answer in the cache.
	if calls.Load() != 1 {
		t.Errorf("%d lookups for %d concurrent callers", calls.Load(), n)
	}
	for i, m := range results {
		if m == nil || m.fid != 7 {
			t.Fatalf("caller %d got %+v", i, m)
		}
	}
	m, cached, err := c.Get(context.Background(), k, time.Second, lookup)
	if err != nil || !cached || m.fid != 7 {
		t.Errorf("after the lookup: %+v cached=%v err=%v", m, cached, err)
	}
}

// entry returns k's cache entry, if any.
func (c *Meta[V]) entry(k Key) (cacheEntry[V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	return e, ok
}

// waitUntil waits for the wall clock to pass t.
func waitUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		<-time.After(d)
	}
}

func TestCacheExpiresAndForgets(t *testing.T) {
	c := NewMeta[*fileMeta](100*time.Millisecond, 100)
	k := Key{Domain: "d", Key: "k"}
	var fid atomic.Int64
	lookup := func(ctx context.Context) (*fileMeta, error) {
		return &fileMeta{fid: fid.Add(1)}, nil
	}
	ctx := context.Background()
	m1, _, _ := c.Get(ctx, k, time.Second, lookup)
	m2, cached, _ := c.Get(ctx, k, time.Second, lookup)
	if m1.fid != 1 || m2.fid != 1 || !cached {
		t.Fatalf("second get: fid %d cached=%v, want the cached fid 1", m2.fid, cached)
	}
	c.Forget(k)
	if m, cached, _ := c.Get(ctx, k, time.Second, lookup); m.fid != 2 || cached {
		t.Fatalf("after forget: fid %d cached=%v, want a fresh lookup", m.fid, cached)
	}
	// Unread until it expires: the next get waits for a new lookup.
	e, _ := c.entry(k)
	waitUntil(e.expires)
	if m, cached, _ := c.Get(ctx, k, time.Second, lookup); m.fid != 3 || cached {
		t.Fatalf("after expiry: fid %d cached=%v, want a fresh lookup", m.fid, cached)
	}
	// Another key is independent.
	if m, _, _ := c.Get(ctx, Key{Domain: "d", Key: "other"}, time.Second, lookup); m.fid != 4 {
		t.Fatalf("other key: fid %d", m.fid)
	}
}

// A key read in the second half of its entry's life is looked up again
// in the background: readers get the cached answer at once, and the new
// one replaces it before it expires.
func TestCacheRefreshAhead(t *testing.T) {
	c := NewMeta[*fileMeta](time.Second, 100)
	k := Key{Domain: "d", Key: "k"}
	var fid atomic.Int64
	lookup := func(ctx context.Context) (*fileMeta, error) {
		return &fileMeta{fid: fid.Add(1)}, nil
	}
	ctx := context.Background()
	c.Get(ctx, k, time.Second, lookup)
	e, _ := c.entry(k)
	waitUntil(e.refresh)
	m, cached, _ := c.Get(ctx, k, time.Second, lookup)
	if m.fid != 1 || !cached {
		t.Fatalf("hit after the refresh time: fid %d cached=%v, want the cached fid 1 at once", m.fid, cached)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if e2, ok := c.entry(k); ok && e2.m.fid == 2 {
			if !e2.expires.After(e.expires) {
				t.Errorf("refreshed entry expires %v, not after %v", e2.expires, e.expires)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no refresh in the background")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if m, cached, _ := c.Get(ctx, k, time.Second, lookup); m.fid != 2 || !cached {
		t.Errorf("after the refresh: fid %d cached=%v", m.fid, cached)
	}
}

// A lookup that overlaps a forget (a PUT by this gateway) must not be
// kept, and callers arriving after the forget must not join it.
func TestCacheForgetDuringLookup(t *testing.T) {
	c := NewMeta[*fileMeta](time.Minute, 100)
	k := Key{Domain: "d", Key: "k"}
	started := make(chan struct{})
	release := make(chan struct{})
	old := func(ctx context.Context) (*fileMeta, error) {
		close(started)
		<-release
		return &fileMeta{fid: 1}, nil
	}
	done := make(chan *fileMeta)
	go func() {
		m, _, _ := c.Get(context.Background(), k, time.Second, old)
		done <- m
	}()
	<-started
	c.Forget(k)
	fresh := func(ctx context.Context) (*fileMeta, error) { return &fileMeta{fid: 2}, nil }
	if m, _, _ := c.Get(context.Background(), k, time.Second, fresh); m.fid != 2 {
		t.Fatalf("caller after forget joined the old lookup: fid %d", m.fid)
	}
	close(release)
	if m := <-done; m.fid != 1 {
		t.Fatalf("first caller got fid %d", m.fid)
	}
	if m, cached, _ := c.Get(context.Background(), k, time.Second, fresh); m.fid != 2 {
		t.Fatalf("stale answer kept: fid %d cached=%v", m.fid, cached)
	}
}

func TestCacheErrorsNotKeptAndCallerCancel(t *testing.T) {
	c := NewMeta[*fileMeta](time.Minute, 100)
	k := Key{Domain: "d", Key: "k"}
	boom := errors.New("boom")
	var calls atomic.Int32
	failing := func(ctx context.Context) (*fileMeta, error) { calls.Add(1); return nil, boom }
	for range 2 {
		if _, _, err := c.Get(context.Background(), k, time.Second, failing); !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("failed lookup was cached: %d calls", calls.Load())
	}

	// A caller that gives up returns at once; the lookup still
	// completes for the others and is kept.
	release := make(chan struct{})
	slow := func(ctx context.Context) (*fileMeta, error) { <-release; return &fileMeta{fid: 9}, nil }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Get(ctx, k, time.Second, slow); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	close(release)
	m, _, err := c.Get(context.Background(), k, time.Second, slow)
	if err != nil || m.fid != 9 {
		t.Fatalf("after cancel: %+v %v", m, err)
	}
}

func TestCacheBounded(t *testing.T) {
	c := NewMeta[*fileMeta](time.Minute, 10)
	for i := range 100 {
		k := Key{"d", string(rune('a' + i))}
		c.Get(context.Background(), k, time.Second, func(context.Context) (*fileMeta, error) { return &fileMeta{fid: int64(i)}, nil })
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 10 {
		t.Errorf("%d entries, bound 10", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	c := NewMeta[*fileMeta](-1, 10)
	var calls atomic.Int32
	f := func(context.Context) (*fileMeta, error) { calls.Add(1); return &fileMeta{}, nil }
	c.Get(context.Background(), Key{Domain: "d", Key: "k"}, time.Second, f)
	c.Get(context.Background(), Key{Domain: "d", Key: "k"}, time.Second, f)
	if calls.Load() != 2 {
		t.Errorf("disabled cache: %d lookups, want 2", calls.Load())
	}
}

// Background refreshes are bounded: keys all due at once start at most
// maxRefreshes lookups; the others keep their valid entries and are
// refreshed by later hits once slots are free.
func TestCacheRefreshesBounded(t *testing.T) {
	const ttl = 4 * time.Second
	c := NewMeta[*fileMeta](ttl, 1000)
	ctx := context.Background()
	release := make(chan struct{})
	var running, most atomic.Int64
	slow := func(ctx context.Context) (*fileMeta, error) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		defer running.Add(-1)
		select {
		case <-release:
			return &fileMeta{fid: 2}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fast := func(context.Context) (*fileMeta, error) { return &fileMeta{fid: 1}, nil }
	const keys = 3 * maxRefreshes
	var last time.Time
	for i := range keys {
		k := Key{"d", fmt.Sprint(i)}
		c.Get(ctx, k, time.Second, fast)
		e, _ := c.entry(k)
		if e.refresh.After(last) {
			last = e.refresh
		}
		if d := e.refresh.Sub(e.expires.Add(-ttl)); d < ttl/2 || d >= ttl*3/4 {
			t.Fatalf("refresh %v after the lookup, want in [ttl/2, 3ttl/4)", d)
		}
	}
	waitUntil(last)
	for i := range keys {
		m, cached, err := c.Get(ctx, Key{"d", fmt.Sprint(i)}, time.Second, slow)
		if err != nil || !cached || m.fid != 1 {
			t.Fatalf("hit %d: %+v %v %v", i, m, cached, err)
		}
	}
	c.mu.Lock()
	n := c.refreshing
	c.mu.Unlock()
	if n != maxRefreshes {
		t.Errorf("%d refreshes started, want %d", n, maxRefreshes)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n = c.refreshing
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refreshes still counted", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if most.Load() > maxRefreshes {
		t.Errorf("%d lookups ran at once", most.Load())
	}
	// A key skipped before is refreshed by its next hit.
	k := Key{"d", fmt.Sprint(keys - 1)}
	c.Get(ctx, k, time.Second, slow)
	for {
		if e, ok := c.entry(k); ok && e.m.fid == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("skipped key never refreshed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fileMeta stands for what the gateway caches: any pointer type.
type fileMeta struct{ fid int64 }
