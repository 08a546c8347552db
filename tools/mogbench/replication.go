package mogbench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// listPage is list_fids' largest page.
const listPage = 500

// maxCommittedFID returns the highest fid of a committed file, found with
// O(log fid) list_fids requests. Every fid the tracker hands out later is
// larger (the allocator keeps ahead of the file table), so the files of
// the coming write phase are all above it.
func maxCommittedFID(ctx context.Context, c *client.Client) (int64, error) {
	// first returns the smallest committed fid above after, or 0.
	first := func(after int64) (int64, error) {
		rows, err := c.ListFids(ctx, after, 1)
		if err != nil {
			return 0, fmt.Errorf("list_fids from %d: %w", after, err)
		}
		if len(rows) == 0 {
			return 0, nil
		}
		return rows[0].FID, nil
	}
	lo, err := first(0) // lo: a committed fid (or 0)
	if err != nil || lo == 0 {
		return 0, err
	}
	hi := lo * 2 // hi: no committed fid above it
	for {
		f, err := first(hi)
		if err != nil {
			return 0, err
		}
		if f == 0 {
			break
		}
		lo, hi = f, f*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		f, err := first(mid)
		if err != nil {
			return 0, err
		}
		if f == 0 {
			hi = mid
		} else {
			lo = f
		}
	}
	// No committed fid is above hi, and hi itself may be one.
	f, err := first(lo)
	if err != nil {
		return 0, err
	}
	return max(lo, f), nil
}

// minDevCount returns the mindevcount of class ("" = default) in domain.
func minDevCount(ctx context.Context, c *client.Client, domain, class string) (int, error) {
	if class == "" {
		class = "default"
	}
	doms, err := c.Domains(ctx)
	if err != nil {
		return 0, fmt.Errorf("get_domains: %w", err)
	}
	for _, d := range doms {
		if d.Name != domain {
			continue
		}
		for _, cl := range d.Classes {
			if cl.Name == class {
				return cl.MinDevCount, nil
			}
		}
		return 0, fmt.Errorf("class %q not found in domain %q", class, domain)
	}
	return 0, fmt.Errorf("domain %q not found", domain)
}

// waitReplication polls list_fids (pages of 500 from above floor) until
// every written file has at least minDev copies, or until timeout after
// since (the end of the write phase). The phase's Seconds is the time
// from since to the end of the round that first saw every file complete:
// an upper bound, LastRoundSeconds its resolution. The phase has no
// rate: the copies were made while the files were being written too.
func (b *bench) waitReplication(ctx context.Context, written []int, floor int64, minDev int, since time.Time, timeout, pause time.Duration, procs []proc) PhaseResult {
	res := PhaseResult{Name: "replication", MinDevCount: minDev}
	cpu0 := takeCPU(procs)
	pending := make(map[int]bool, len(written))
	for _, i := range written {
		pending[i] = true
	}
	fids := map[int]int64{} // index -> fid, once seen
	var errs errorLog
	for {
		roundStart := time.Now()
		res.Rounds++
		// Start below the lowest pending fid; before a file is seen,
		// start from the floor.
		from := int64(-1)
		for i := range pending {
			f, ok := fids[i]
			if !ok {
				from = floor
				break
			}
			if from < 0 || f-1 < from {
				from = f - 1
			}
		}
		if err := b.scanFids(ctx, from, pending, fids, minDev); err != nil {
			if ctx.Err() != nil {
				res.Interrupted = true
				break
			}
			errs.add(err)
		}
		now := time.Now()
		res.LastRoundSeconds = now.Sub(roundStart).Seconds()
		if len(pending) == 0 || now.Sub(since) > timeout {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		if ctx.Err() != nil {
			res.Interrupted = true
			break
		}
	}
	res.Seconds = time.Since(since).Seconds()
	res.Ops = int64(len(written) - len(pending))
	res.setCPU(cpuSince(procs, cpu0))
	if len(pending) > 0 && !res.Interrupted {
		errs.add(fmt.Errorf("%d of %d files below %d copies after %v", len(pending), len(written), minDev, timeout))
		errs.n.Add(int64(len(pending)) - 1)
	}
	res.Errors = errs.n.Load()
	res.ErrorSamples = errs.samples
	return res
}

// scanFids reads list_fids pages from above from to the end of the file
// table and removes from pending every file of this run with at least
// minDev copies.
func (b *bench) scanFids(ctx context.Context, from int64, pending map[int]bool, fids map[int]int64, minDev int) error {
	for len(pending) > 0 {
		rows, err := b.c.ListFids(ctx, from, listPage)
		if err != nil {
			return fmt.Errorf("list_fids from %d: %w", from, err)
		}
		for _, r := range rows {
			from = max(from, r.FID)
			if r.Domain != b.domain || !strings.HasPrefix(r.Key, b.prefix) {
				continue
			}
			i, err := strconv.Atoi(r.Key[len(b.prefix):])
			if err != nil || !pending[i] {
				continue
			}
			fids[i] = r.FID
			if r.DevCount >= minDev {
				delete(pending, i)
			}
		}
		if len(rows) < listPage {
			return nil
		}
	}
	return nil
}
