package parallel

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryIndexOnce(t *testing.T) {
	for _, c := range []struct{ n, workers int }{{0, 4}, {1, 4}, {10, 1}, {100, 7}, {5, 0}} {
		var mu sync.Mutex
		seen := make([]int, c.n)
		var running, peak atomic.Int32
		got := Each(context.Background(), c.n, c.workers, func(i int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			mu.Lock()
			seen[i]++
			mu.Unlock()
			running.Add(-1)
		})
		if got != c.n {
			t.Errorf("n=%d workers=%d: started %d", c.n, c.workers, got)
		}
		for i, k := range seen {
			if k != 1 {
				t.Errorf("n=%d workers=%d: index %d called %d times", c.n, c.workers, i, k)
			}
		}
		if limit := int32(max(c.workers, 1)); peak.Load() > limit {
			t.Errorf("n=%d workers=%d: %d calls at once", c.n, c.workers, peak.Load())
		}
	}
}

func TestEachStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	got := Each(ctx, 100, 1, func(i int) {
		if calls.Add(1) == 3 {
			cancel()
		}
	})
	// One worker: the third call cancels, so at most one more index may
	// already be handed out when the feeder sees it.
	if n := calls.Load(); got != int(n) || n < 3 || n > 4 {
		t.Fatalf("started %d, calls %d; want 3 or 4 of each", got, n)
	}
}
