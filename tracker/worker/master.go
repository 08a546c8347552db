package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/fence"
)

// The job-master role.
//
// Every tracker that runs a job_master leases queue rows for its own
// workers, so replication, deletion and fsck spread over the trackers. The
// work that must happen once per cluster — fsck and rebalance injection,
// the dead-device reaper, the stale-tempfile reaper and the move of the
// legacy delete queues — runs only on the tracker that holds the lease
// "mgfs:job_master" (Store.TakeLease). The holder renews the lease every
// third of its lifetime; the others try to take it every standbyPoll and
// get it once it has expired (or its holder released it on a clean stop).
//
// The holder acts only until its local deadline: the time it sent its last
// successful take or renewal, plus the lifetime, minus a safety margin. The
// database set the expiry from its own clock when it ran that statement,
// later than it was sent, so the lease cannot be taken by anyone before the
// deadline plus the margin; the margin covers clock skew between database
// nodes and statements still in flight. A holder that cannot renew (its
// database is gone, or it is cut off from the cluster) therefore stops
// acting as job master before another tracker can start.

const jobMasterLease = "mgfs:job_master"

// Log messages of the role's changes (the fault tests look for them).
const (
	msgBecameMaster = "job master: this tracker is now job master"
	msgLeftMaster   = "job master: this tracker is no longer job master"
)

// leaseTimes are the role's timings, derived from the lease lifetime (the
// deadline computation is fence's, shared with the Galera named locks).
type leaseTimes struct {
	fence.Times
	standby time.Duration // how often a standby tries to take the lease
}

func newLeaseTimes(ttl time.Duration) leaseTimes {
	t := fence.NewTimes(ttl)
	return leaseTimes{Times: t, standby: max(t.TTL/30, 250*time.Millisecond)}
}

// role is this tracker's view of the job-master role: while it holds the
// role, its fence is live; it ends at the deadline unless extended, or when
// the role is given up.
type role struct {
	mu sync.Mutex
	f  *fence.Fence
	// changed is closed (and replaced) whenever the role is taken.
	changed chan struct{}
}

func newRole() *role { return &role{changed: make(chan struct{})} }

// take starts the role until deadline, under parent.
func (r *role) take(parent context.Context, deadline time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f = fence.New(parent, deadline)
	close(r.changed)
	r.changed = make(chan struct{})
}

// extend moves the deadline; false when the role already ended.
func (r *role) extend(deadline time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f != nil && r.f.Extend(deadline)
}

// drop ends the role (its context is cancelled) and reports whether it
// was held.
func (r *role) drop() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return false
	}
	r.f.Stop(nil)
	r.f = nil
	return true
}

// current returns the role's context while this tracker has the role.
func (r *role) current() (context.Context, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil || r.f.Context().Err() != nil {
		return nil, false
	}
	return r.f.Context(), true
}

// wait returns a channel closed the next time the role is taken.
func (r *role) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// IsJobMaster reports whether this tracker holds the job-master role now.
func (w *Workers) IsJobMaster() bool {
	_, ok := w.role.current()
	return ok
}

// asMaster returns a context that ends when ctx does or when this tracker
// stops being job master; ok is false (and nothing to cancel) when it is
// not job master now.
func (w *Workers) asMaster(ctx context.Context) (context.Context, context.CancelFunc, bool) {
	mctx, ok := w.role.current()
	if !ok {
		return nil, nil, false
	}
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(mctx, cancel)
	return c, func() { stop(); cancel() }, true
}

// whileMaster runs fn with a context that ends when ctx does or the role
// is lost, every time this tracker becomes job master, until ctx ends.
func (w *Workers) whileMaster(ctx context.Context, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		changed := w.role.wait()
		if mctx, cancel, ok := w.asMaster(ctx); ok {
			fn(mctx)
			cancel()
			continue
		}
		select {
		case <-ctx.Done():
		case <-changed:
		}
	}
}

// holderID names this Workers in the lease row: host, pid and a random
// part (two trackers on one host, or a restarted one, differ).
func holderID(host string) string {
	var b [4]byte
	rand.Read(b[:])
	if host == "" {
		host, _ = os.Hostname()
	}
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
}

// campaign holds or waits for the job-master role until ctx ends, then
// gives it up and releases the lease.
func (w *Workers) campaign(ctx context.Context) {
	lt := newLeaseTimes(w.cfg.JobMasterLease)
	w.countStat("is_job_master", 0) // shown in !stats from now on
	held := false
	var leaseExp, warned time.Time
	for {
		start := time.Now()
		// A holder's statement may not outlast its deadline.
		until := start.Add(lt.Renew)
		if dl, ok := w.roleDeadline(); held && ok && dl.Before(until) {
			until = dl
		}
		actx, cancel := context.WithDeadline(ctx, until)
		l, err := w.d.Store.TakeLease(actx, jobMasterLease, w.holder, int(lt.TTL/time.Second))
		cancel()
		next := lt.standby
		switch {
		case ctx.Err() != nil:
			w.resign(held, "stopping", leaseExp)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := w.d.Store.ReleaseLease(rctx, jobMasterLease, w.holder); err != nil {
				w.log.Warn("job master: releasing the lease (it expires by itself)", "err", err)
			}
			cancel()
			return
		case err == nil && l.Holder == w.holder:
			deadline := lt.Deadline(start)
			leaseExp = time.Unix(l.Expires, 0)
			if held && !w.role.extend(deadline) {
				w.resign(held, "the lease was not renewed in time", leaseExp)
				held = false
			}
			if !held {
				w.role.take(ctx, deadline)
				held = true
				w.countStat("is_job_master", 1)
				w.log.Info(msgBecameMaster, "tracker", w.holder, "host", w.cfg.Hostname,
					"lease_expires", leaseExp.UTC().Format(time.RFC3339), "acts_until", deadline.UTC().Format(time.RFC3339Nano))
			}
			next = lt.Renew
		case err == nil:
			w.resign(held, "the lease is held by "+l.Holder, leaseExp)
			held = false
		default:
			if held || time.Since(warned) >= lt.TTL {
				// A standby says so once per lease lifetime.
				warned = time.Now()
				w.log.Warn("job master: taking or renewing the lease", "err", err, "job_master", held)
			}
			if held {
				if _, ok := w.role.current(); !ok {
					w.resign(held, "the lease could not be renewed before it could lapse", leaseExp)
					held = false
				}
				next = lt.Retry
			}
		}
		if !w.pauseCampaign(ctx, held, next) {
			continue // ctx ended: resign at the top
		}
	}
}

// roleDeadline is the role's current deadline, if held.
func (w *Workers) roleDeadline() (time.Time, bool) {
	w.role.mu.Lock()
	defer w.role.mu.Unlock()
	if w.role.f == nil {
		return time.Time{}, false
	}
	return w.role.f.Deadline(), true
}

// pauseCampaign waits d, or until ctx ends; a holder also wakes when its
// role's context ends (deadline reached) to notice and say so at once.
func (w *Workers) pauseCampaign(ctx context.Context, held bool, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var lost <-chan struct{}
	if mctx, ok := w.role.current(); held && ok {
		lost = mctx.Done()
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-lost:
	}
	return true
}

// resign ends the role if held, with the log line and stat.
func (w *Workers) resign(held bool, reason string, leaseExp time.Time) {
	if !held || !w.role.drop() {
		return
	}
	w.countStat("is_job_master", -1)
	w.log.Info(msgLeftMaster, "tracker", w.holder, "host", w.cfg.Hostname, "reason", reason,
		"lease_expires", leaseExp.UTC().Format(time.RFC3339))
}

// JobMasterHolder is the name this tracker writes in the job-master lease
// row (tracker_lock.holder of "mgfs:job_master") and its log lines.
func (w *Workers) JobMasterHolder() string { return w.holder }
