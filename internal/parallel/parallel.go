// Package parallel runs a function over a range of indexes on a bounded
// number of goroutines: the fan-out that fsck's checks, the S3 gateway's
// part lookups and its part deletions share.
package parallel

import (
	"context"
	"sync"
)

// Each calls f(i) for every i in [0, n), on at most workers goroutines at
// once, and returns when every call it started has returned. Once ctx is
// done it starts no more calls; it returns how many it started, so that
// the caller can tell which indexes were never handed out (those from
// the returned count on).
func Each(ctx context.Context, n, workers int, f func(i int)) (started int) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(workers, 1), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for started < n && ctx.Err() == nil {
		next <- started
		started++
	}
	close(next)
	wg.Wait()
	return started
}
