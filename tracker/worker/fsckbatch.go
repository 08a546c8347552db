package worker

import (
	"context"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/parallel"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

const (
	// fsckBatchSize is how many leased fids an fsck worker takes from the
	// local queue at once: one FsckFiles read and one DequeueMany serve
	// them all.
	fsckBatchSize = 100
	// fsckCheckers is how many fids of a batch an fsck worker checks at
	// the same time (each check waits mostly for a HEAD per copy).
	fsckCheckers = 16
)

// runFsck is an fsck worker: it takes the queued fids in batches.
func (w *Workers) runFsck(ctx context.Context, wake <-chan struct{}) {
	for ctx.Err() == nil {
		items := w.fsckQ.popN(fsckBatchSize)
		if len(items) == 0 {
			t := time.NewTimer(w.cfg.FsckIdle)
			select {
			case <-ctx.Done():
			case <-wake:
			case <-w.fsckQ.signal:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		w.fsckBatch(ctx, items)
	}
}

// fsckBatch checks a batch of queued fids, each as the original checks
// one: a fid without a file row is dropped from the queue; one whose upload
// is still open is checked again in a minute; the others are checked
// (fsckCheckers at a time) and dropped from the queue unless their check
// stalled on an unreachable device (then the lease brings them back).
// The rows of fids not started when ctx ends are handed back at once.
func (w *Workers) fsckBatch(ctx context.Context, items []store.QueueItem) {
	bg := context.WithoutCancel(ctx)
	fids := make([]int64, len(items))
	for i, it := range items {
		fids[i] = it.FID
	}
	files, err := w.d.Store.FsckFiles(ctx, fids)
	if err != nil {
		w.log.Error("fsck: loading files", "fids", len(fids), "first", fids[0], "err", err)
		w.giveBack(ctx, items)
		return
	}
	var done []int64
	var todo []store.QueueItem
	for _, it := range items {
		ff, ok := files[it.FID]
		switch {
		case !ok:
			done = append(done, it.FID)
		case ff.OpenUpload:
			// Never touch a fid whose upload is still open.
			w.log.Info("fsck: upload still open; checking later", "fid", it.FID)
			if err := w.d.Store.Retry(bg, store.QueueFsck, it.FID, 60, it.FailCount); err != nil {
				w.log.Error("fsck: could not reschedule", "fid", it.FID, "err", err)
			}
		default:
			todo = append(todo, it)
		}
	}
	if len(todo) > 0 {
		opts, err := w.fsckOpts(ctx)
		if err != nil {
			w.log.Error("fsck: reading settings", "err", err)
		} else {
			done = append(done, w.checkMany(ctx, todo, files, opts)...)
		}
	}
	if err := w.d.Store.DequeueMany(bg, store.QueueFsck, done); err != nil {
		w.log.Error("fsck: could not dequeue", "fids", len(done), "err", err)
	}
}

// checkMany runs checkFID over items, fsckCheckers at a time, and returns
// the fids whose check did not stall.
func (w *Workers) checkMany(ctx context.Context, items []store.QueueItem, files map[int64]store.FsckFile, opts fsckOptions) []int64 {
	var mu sync.Mutex
	var done []int64
	started := parallel.Each(ctx, len(items), fsckCheckers, func(i int) {
		if fid := items[i].FID; w.checkFID(ctx, files[fid], opts) {
			mu.Lock()
			done = append(done, fid)
			mu.Unlock()
		}
	})
	w.giveBack(ctx, items[started:])
	return done
}

// giveBack returns leased rows not worked on when the worker is stopping
// (due now, as Stop does with the local queue); otherwise they wait for
// their lease.
func (w *Workers) giveBack(ctx context.Context, items []store.QueueItem) {
	if ctx.Err() != nil && len(items) > 0 {
		w.returnLeases(store.QueueFsck, items)
	}
}

// popN takes up to n items, waking the job master as pop does when the
// queue falls below its low mark or empties.
func (q *workQueue) popN(n int) []store.QueueItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := min(n, len(q.items))
	if k == 0 {
		return nil
	}
	before := len(q.items)
	out := make([]store.QueueItem, k)
	copy(out, q.items)
	clear(q.items[:k])
	q.items = q.items[k:]
	if len(q.items) > 0 {
		q.notify()
	}
	if (before >= q.lowMark && len(q.items) < q.lowMark) || len(q.items) == 0 {
		select {
		case q.refill <- struct{}{}:
		default:
		}
	}
	q.count(q.queued, -int64(k))
	q.count(q.handed, int64(k))
	return out
}
