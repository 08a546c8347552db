package main

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// errVerify marks an answer whose bytes are not the ones written.
var errVerify = errors.New("content differs from what was written")

// fill writes the content of (object, part) into buf: pseudo-random bytes
// that depend only on the two numbers and the offset.
func fill(buf []byte, object, part uint64) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], object)
	binary.LittleEndian.PutUint64(seed[8:], part)
	copy(seed[16:], "s3bench content.")
	rand.NewChaCha8(seed).Read(buf)
}

// runPhase calls op(i) for every i of order, c at a time, and measures it.
// op returns errVerify (wrapped) for content that does not match.
func runPhase(ctx context.Context, name string, order []int, c int, bytesPerOp int64,
	op func(ctx context.Context, worker, i int) error) phase {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lats     []time.Duration
		errs     int
		verrs    int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range min(c, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var e, ve int
			var first error
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(order) {
					break
				}
				t := time.Now()
				err := op(ctx, w, order[k])
				mine = append(mine, time.Since(t))
				switch {
				case err == nil:
				case errors.Is(err, errVerify):
					ve++
				default:
					e++
				}
				if err != nil && first == nil {
					first = err
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			errs, verrs = errs+e, verrs+ve
			if firstErr == nil {
				firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	p := phase{Name: name, Requests: len(lats), Errors: errs, VerifyErrors: verrs, Seconds: secs}
	if missing := len(order) - len(lats); missing > 0 { // interrupted
		p.Errors += missing
		if firstErr == nil {
			firstErr = ctx.Err()
		}
	}
	if firstErr != nil {
		p.FirstError = firstErr.Error()
	}
	if secs > 0 {
		p.ReqPerSec = float64(len(lats)) / secs
		if bytesPerOp > 0 {
			p.MiBPerSec = float64(bytesPerOp) * float64(len(lats)) / secs / (1 << 20)
		}
	}
	slices.Sort(lats)
	p.P50ms, p.P99ms = percentile(lats, 0.50), percentile(lats, 0.99)
	return p
}

// percentile of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(q*float64(len(sorted))), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}
