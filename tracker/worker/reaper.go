package worker

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// runReaper is a reaper. It works only while this tracker is job master
// (once per cluster; see master.go): every ReaperScan it looks for
// devices marked dead, and for each one newly seen starts, after
// ReaperStartDelay (so every tracker's view has caught up), a loop that
// queues the device's files for re-replication from their other copies
// and forgets its file_on rows, queue_rate_for_reaper files per pass. A
// tracker that becomes job master starts over with every dead device.
func (w *Workers) runReaper(ctx context.Context, wake <-chan struct{}) {
	w.whileMaster(ctx, func(ctx context.Context) { w.reapDead(ctx, wake) })
}

// reapDead is runReaper's work while this tracker is job master.
func (w *Workers) reapDead(ctx context.Context, wake <-chan struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	seen := map[int]bool{}
	for ctx.Err() == nil {
		for _, d := range w.d.Cluster.Snapshot().Devices {
			if !d.State().Dead || seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			devid := d.ID
			wg.Add(1)
			go func() {
				defer wg.Done()
				if sleep(ctx, nil, w.cfg.ReaperStartDelay) {
					w.reapDevice(ctx, devid)
				}
			}()
		}
		if !sleep(ctx, wake, w.cfg.ReaperScan) {
			return
		}
	}
}

// reapDevice reaps devid until it looks empty for long enough (back-off
// doubling from ReaperBackoffMin past ReaperBackoffMax) or is no longer
// dead.
func (w *Workers) reapDevice(ctx context.Context, devid int) {
	log := w.log.With("devid", devid)
	log.Info("reaper: reaping dead device")
	delay := w.cfg.ReaperInterval
	for ctx.Err() == nil {
		d := w.d.Cluster.Snapshot().Device(devid)
		if d == nil {
			log.Error(fmt.Sprintf("No device row for dev%d, cannot reap", devid), watchlog.Job(JobReaper))
			return
		}
		if !d.State().Dead {
			log.Info("reaper: device is no longer dead")
			return
		}
		limit, err := w.reaperLimit(ctx)
		if err != nil {
			log.Error("reaper: queue length", "err", err)
			delay = w.cfg.ReaperInterval
		} else if limit > 0 {
			var n int
			got, err := w.withLock(ctx, "mgfs:reaper", 60, func(ctx context.Context) error {
				var err error
				n, err = w.reapFIDs(ctx, devid, limit)
				return err
			})
			switch {
			case err != nil:
				log.Error("reaper: pass failed", "err", err)
				delay = w.cfg.ReaperInterval
			case !got || n > 0:
				delay = w.cfg.ReaperInterval
			case delay < w.cfg.ReaperBackoffMin:
				delay = w.cfg.ReaperBackoffMin
			default:
				delay *= 2
				if delay > w.cfg.ReaperBackoffMax {
					log.Info("reaper: device is empty; done")
					return
				}
			}
			if n > 0 {
				log.Info("reaper: queued files for re-replication", "count", n)
			}
		}
		if !sleep(ctx, nil, delay) {
			return
		}
	}
}

// reaperLimit is queue_rate_for_reaper (1000), capped by what
// queue_size_for_reaper leaves room for in the replication queue.
func (w *Workers) reaperLimit(ctx context.Context) (int, error) {
	snap := w.d.Cluster.Snapshot()
	limit := settingInt(snap.Setting("queue_rate_for_reaper"), 1000)
	if size := settingInt(snap.Setting("queue_size_for_reaper"), 0); size > 0 {
		// The original counts only the deferred rows (0 < nexttry <
		// ENDOFTIME); the store offers the whole queue's length, which
		// is a slightly stricter bound.
		n, err := w.d.Store.QueueLength(ctx, store.QueueReplicate)
		if err != nil {
			return 0, err
		}
		limit = min(limit, max(int(int64(size)-n), 0))
	}
	return limit, nil
}

// reapFIDs queues up to limit fids of devid for replication (in 1 s, from
// any copy) and then forgets their file_on rows; devcount is left to the
// replicator and fsck, as in the original.
func (w *Workers) reapFIDs(ctx context.Context, devid, limit int) (int, error) {
	fids, err := w.d.Store.FIDsOnDevice(ctx, devid, 0, limit)
	if err != nil {
		return 0, err
	}
	for i, fid := range fids {
		// Queue first: a crash between the two leaves a file to
		// replicate, never a file forgotten on a dead device.
		if err := w.enqueueReplication(ctx, fid, 1); err != nil {
			return i, err
		}
		if err := w.d.Store.RemoveFileOn(ctx, fid, devid, true); err != nil {
			return i, err
		}
		w.fileChanged(fid)
	}
	return len(fids), nil
}

// settingInt reads a numeric server setting; empty, bad or zero values
// give def (the original's "|| default").
func settingInt(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 {
		return def
	}
	return n
}
