package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheMergesConcurrentLookups(t *testing.T) {
	c := newMetaCache(time.Minute, 100)
	k := cacheKey{"d", "k"}
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
			m, _, err := c.get(context.Background(), k, time.Second, lookup)
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
	m, cached, err := c.get(context.Background(), k, time.Second, lookup)
	if err != nil || !cached || m.fid != 7 {
		t.Errorf("after the lookup: %+v cached=%v err=%v", m, cached, err)
	}
}

func TestCacheExpiresAndForgets(t *testing.T) {
	c := newMetaCache(50*time.Millisecond, 100)
	k := cacheKey{"d", "k"}
	var fid atomic.Int64
	lookup := func(ctx context.Context) (*fileMeta, error) {
		return &fileMeta{fid: fid.Add(1)}, nil
	}
	ctx := context.Background()
	m1, _, _ := c.get(ctx, k, time.Second, lookup)
	m2, cached, _ := c.get(ctx, k, time.Second, lookup)
	if m1.fid != 1 || m2.fid != 1 || !cached {
		t.Fatalf("second get: fid %d cached=%v, want the cached fid 1", m2.fid, cached)
	}
	c.forget(k)
	if m, cached, _ := c.get(ctx, k, time.Second, lookup); m.fid != 2 || cached {
		t.Fatalf("after forget: fid %d cached=%v, want a fresh lookup", m.fid, cached)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, cached, _ := c.get(ctx, k, time.Second, lookup)
		if !cached {
			if m.fid != 3 {
				t.Fatalf("after expiry: fid %d, want 3", m.fid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("entry never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Another key is independent.
	if m, _, _ := c.get(ctx, cacheKey{"d", "other"}, time.Second, lookup); m.fid != 4 {
		t.Fatalf("other key: fid %d", m.fid)
	}
}

// A lookup that overlaps a forget (a PUT by this gateway) must not be
// kept, and callers arriving after the forget must not join it.
func TestCacheForgetDuringLookup(t *testing.T) {
	c := newMetaCache(time.Minute, 100)
	k := cacheKey{"d", "k"}
	started := make(chan struct{})
	release := make(chan struct{})
	old := func(ctx context.Context) (*fileMeta, error) {
		close(started)
		<-release
		return &fileMeta{fid: 1}, nil
	}
	done := make(chan *fileMeta)
	go func() {
		m, _, _ := c.get(context.Background(), k, time.Second, old)
		done <- m
	}()
	<-started
	c.forget(k)
	fresh := func(ctx context.Context) (*fileMeta, error) { return &fileMeta{fid: 2}, nil }
	if m, _, _ := c.get(context.Background(), k, time.Second, fresh); m.fid != 2 {
		t.Fatalf("caller after forget joined the old lookup: fid %d", m.fid)
	}
	close(release)
	if m := <-done; m.fid != 1 {
		t.Fatalf("first caller got fid %d", m.fid)
	}
	if m, cached, _ := c.get(context.Background(), k, time.Second, fresh); m.fid != 2 {
		t.Fatalf("stale answer kept: fid %d cached=%v", m.fid, cached)
	}
}

func TestCacheErrorsNotKeptAndCallerCancel(t *testing.T) {
	c := newMetaCache(time.Minute, 100)
	k := cacheKey{"d", "k"}
	boom := errors.New("boom")
	var calls atomic.Int32
	failing := func(ctx context.Context) (*fileMeta, error) { calls.Add(1); return nil, boom }
	for range 2 {
		if _, _, err := c.get(context.Background(), k, time.Second, failing); !errors.Is(err, boom) {
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
	if _, _, err := c.get(ctx, k, time.Second, slow); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	close(release)
	m, _, err := c.get(context.Background(), k, time.Second, slow)
	if err != nil || m.fid != 9 {
		t.Fatalf("after cancel: %+v %v", m, err)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newMetaCache(time.Minute, 10)
	for i := range 100 {
		k := cacheKey{"d", string(rune('a' + i))}
		c.get(context.Background(), k, time.Second, func(context.Context) (*fileMeta, error) { return &fileMeta{fid: int64(i)}, nil })
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 10 {
		t.Errorf("%d entries, bound 10", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	c := newMetaCache(-1, 10)
	var calls atomic.Int32
	f := func(context.Context) (*fileMeta, error) { calls.Add(1); return &fileMeta{}, nil }
	c.get(context.Background(), cacheKey{"d", "k"}, time.Second, f)
	c.get(context.Background(), cacheKey{"d", "k"}, time.Second, f)
	if calls.Load() != 2 {
		t.Errorf("disabled cache: %d lookups, want 2", calls.Load())
	}
}
