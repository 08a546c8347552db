package worker

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/fsckstate"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// depthCheck is the original's queue_depth_check: with the local queue
// empty, grow the fetch limit by 50 (up to maxLimit) and fetch; below 70%
// of the limit, fetch; else wait.
func depthCheck(depth, limit, maxLimit int) (bool, int) {
	if depth == 0 {
		if limit < maxLimit {
			limit += 50
		}
		return true, limit
	}
	if float64(depth)/float64(limit) < 0.70 {
		return true, limit
	}
	return false, limit
}

// runJobMaster leases due queue rows and hands them to the local workers,
// and campaigns for the cluster's job-master role (master.go); while it
// holds the role it also injects fsck and rebalance work when a run was
// started (fsck_host / rebal_host set). It goes round again at once when
// it fetched something, else after JobMasterIdle.
func (w *Workers) runJobMaster(ctx context.Context, wake <-chan struct{}) {
	var campaign sync.WaitGroup
	campaign.Add(1)
	go func() {
		defer campaign.Done()
		w.campaign(ctx)
	}()
	defer campaign.Wait()
	type queue struct {
		q     store.Queue
		local *workQueue
		limit int
	}
	queues := []*queue{
		{store.QueueReplicate, w.replQ, 100},
		{store.QueueDelete, w.delQ, 100},
		{store.QueueFsck, w.fsckQ, 100},
		{store.QueueRebalance, w.rebalQ, 100},
	}
	var lastSummary time.Time
	for ctx.Err() == nil {
		snap := w.d.Cluster.Snapshot()
		maxLimit := settingInt(snap.Setting("internal_queue_limit"), 500)
		_, master := w.role.current()
		active := false
		for _, q := range queues {
			if ctx.Err() != nil {
				return
			}
			switch {
			case q.q == store.QueueFsck && master && snap.Setting("fsck_host") != "":
				if time.Since(lastSummary) >= time.Second {
					lastSummary = time.Now()
					if err := fsckstate.Summarize(ctx, w.d.Store); err != nil && ctx.Err() == nil {
						w.log.Warn("job_master: summarizing fsck_log", "err", err)
					}
				}
				if err := w.injectAsMaster(ctx, w.injectFsck); err != nil && ctx.Err() == nil {
					w.log.Error("job_master: fsck injection", "err", err)
				}
			case q.q == store.QueueRebalance && master && snap.Setting("rebal_host") != "":
				if err := w.injectAsMaster(ctx, w.injectRebalance); err != nil && ctx.Err() == nil {
					w.log.Error("job_master: rebalance injection", "err", err)
				}
			}
			if !w.consumed(q.q) {
				// Nobody here works this queue: leave its rows to other
				// trackers rather than lease them for nothing.
				continue
			}
			need, limit := depthCheck(q.local.len(), q.limit, maxLimit)
			if !need {
				continue
			}
			items, err := w.d.Store.Grab(ctx, q.q, limit)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("job_master: leasing queue rows", "queue", queueName(q.q), "err", err)
				}
				continue
			}
			if len(items) == 0 {
				q.limit = 100
				continue
			}
			q.limit = limit
			q.local.setLowMark(int(float64(limit) * 0.70))
			if q.q == store.QueueFsck && q.local.len() == 0 {
				// A new batch: let the fsck workers see settings changed
				// since the last one (fsck_reset --policy-only, ...).
				w.settings.invalidate()
			}
			q.local.push(items)
			active = true
		}
		if !active && !sleepRefill(ctx, wake, w.refill, w.cfg.JobMasterIdle) {
			return
		}
	}
}

// injectAsMaster runs inject with a context that ends if this tracker
// stops being job master meanwhile.
func (w *Workers) injectAsMaster(ctx context.Context, inject func(context.Context) error) error {
	mctx, cancel, ok := w.asMaster(ctx)
	if !ok {
		return nil
	}
	defer cancel()
	return inject(mctx)
}

// sleepRefill is sleep that also ends when a local queue runs low (a
// signal on refill; nil never comes): the original's master looks again
// only after its idle second, which capped replication at
// internal_queue_limit fids per second however many replicate jobs ran.
func sleepRefill(ctx context.Context, wake, refill <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-refill:
	case <-t.C:
	}
	return ctx.Err() == nil
}

// consumed reports whether a local worker takes rows of q.
func (w *Workers) consumed(q store.Queue) bool {
	job := JobReplicate
	switch q {
	case store.QueueDelete:
		job = JobDelete
	case store.QueueFsck:
		job = JobFsck
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.target(w.pools[job]) > 0
}

// injectFsck (after summarizing fsck_log at most once a second) queues
// the next queue_rate_for_fsck fids after
// fsck_highest_fid_checked (up to fsck_fid_at_end) for fsck, unless the
// fsck queue already holds queue_size_for_fsck rows; with none left it
// ends the run (clears fsck_host, sets fsck_stop_time).
func (w *Workers) injectFsck(ctx context.Context) error {
	snap := w.d.Cluster.Snapshot()
	n, err := w.d.Store.QueueLength(ctx, store.QueueFsck)
	if err != nil {
		return err
	}
	if n >= int64(settingInt(snap.Setting("queue_size_for_fsck"), 20000)) {
		return nil
	}
	settings, err := w.d.Store.Settings(ctx)
	if err != nil {
		return err
	}
	if settings["fsck_host"] == "" {
		return nil // stopped meanwhile
	}
	checked, _ := strconv.ParseInt(settings["fsck_highest_fid_checked"], 10, 64)
	rate := settingInt(snap.Setting("queue_rate_for_fsck"), 1000)
	var items []store.QueueItem
	if atEnd, err := strconv.ParseInt(settings["fsck_fid_at_end"], 10, 64); err == nil {
		files, err := w.d.Store.ListFiles(ctx, checked, rate)
		if err != nil {
			return err
		}
		for _, f := range files {
			if f.FID <= atEnd {
				items = append(items, store.QueueItem{FID: f.FID})
			}
		}
	}
	if len(items) == 0 {
		now, err := w.d.Store.Now(ctx)
		if err != nil {
			return err
		}
		if err := w.d.Store.SetSetting(ctx, "fsck_highest_fid_checked", strconv.FormatInt(checked, 10)); err != nil {
			return err
		}
		// Last: scripts and tests take these as "injection done".
		if err := w.d.Store.DeleteSetting(ctx, "fsck_host"); err != nil {
			return err
		}
		if err := w.d.Store.SetSetting(ctx, "fsck_stop_time", strconv.FormatInt(now, 10)); err != nil {
			return err
		}
		w.log.Info("fsck: every file queued; injection finished", "highest_fid", checked)
		return nil
	}
	if err := w.d.Store.EnqueueMany(ctx, store.QueueFsck, items, 0); err != nil {
		return err
	}
	last := items[len(items)-1].FID
	return w.d.Store.SetSetting(ctx, "fsck_highest_fid_checked", strconv.FormatInt(last, 10))
}

var errNoDests = errors.New("rebalance cannot find suitable destination devices")
