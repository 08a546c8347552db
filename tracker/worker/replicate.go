package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Outcome codes of replicate. The first four are successes.
const (
	replCopied      = "copied"       // copies were made and the policy holds
	replLostRace    = "lost_race"    // the policy already held
	replNoFID       = "nofid"        // the file is gone
	replWouldWorsen = "would_worsen" // rebalance: no ideal place but the masked one

	replNoLock        = "failed_getting_lock"
	replNoSource      = "no_source"   // no file_on rows at all
	replSourceDown    = "source_down" // no readable copy
	replTooHappy      = "too_happy"
	replNoSuggestions = "policy_no_suggestions"
	replPolicyFailed  = "policy_error_doing_failed"
	replPolicyThere   = "policy_error_already_there"
	replDBError       = "db_error"
)

type replResult struct {
	code string
	err  error // details of a failure
}

func (r replResult) ok() bool {
	switch r.code {
	case replCopied, replLostRace, replNoFID, replWouldWorsen:
		return true
	}
	return false
}

type replOpts struct {
	source  int          // preferred source device (fromdevid), 0 = any
	mask    map[int]bool // copies that do not count and are never targets
	targets []int        // allowed destinations; nil = all devices
}

// backoff is the original's retry schedule by failcount (then 86400 s).
var backoff = []int64{15, 60, 300, 1800, 3600, 7200, 14400, 28800}

func backoffDelay(failcount int) int64 {
	b := int64(86400)
	if failcount >= 0 && failcount < len(backoff) {
		b = backoff[failcount]
	}
	return int64(float64(b) * (0.8 + rand.Float64()*0.4))
}

// nextFailCount is failcount+1, kept within the TINYINT UNSIGNED column.
func nextFailCount(fc int) int { return min(fc+1, 255) }

// runReplicate is a replicate worker: it takes leased rows of the
// replication queue first, then of the rebalance queue.
func (w *Workers) runReplicate(ctx context.Context, wake <-chan struct{}) {
	for ctx.Err() == nil {
		if it, ok := w.replQ.pop(); ok {
			w.replicateQueued(ctx, it)
			continue
		}
		if it, ok := w.rebalQ.pop(); ok {
			w.rebalanceQueued(ctx, it)
			continue
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-w.replQ.signal:
		case <-w.rebalQ.signal:
		case <-t.C:
		}
		t.Stop()
	}
}

// replicateQueued works one row of file_to_replicate.
func (w *Workers) replicateQueued(ctx context.Context, it store.QueueItem) {
	log := w.log.With("fid", it.FID)
	res, _, unlock := w.replicate(ctx, it.FID, replOpts{source: it.FromDevID})
	defer func() { unlock() }()
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		// Shutting down mid-way: hand the row back as it was.
		if err := w.d.Store.Retry(bg, store.QueueReplicate, it.FID, 0, it.FailCount); err != nil {
			log.Warn("replicate: could not return queue row", "err", err)
		}
		return
	}
	w.replFailed(it.FID, res)
	if res.ok() {
		if err := w.d.Store.Dequeue(bg, store.QueueReplicate, it.FID); err != nil {
			log.Error("replicate: could not dequeue", "err", err)
		}
		if res.code == replCopied {
			log.Debug("replicated")
		}
		return
	}
	switch res.code {
	case replNoLock:
		// Someone else is working on this fid; the lease brings it back.
		return
	case replNoSource:
		// replFailed told the watchers.
		log.Info("replicate: file has no copies at all; it waits for a manual replicate_now")
		now, err := w.d.Store.Now(bg)
		if err == nil {
			err = w.d.Store.Retry(bg, store.QueueReplicate, it.FID, store.EndOfTime-now, nextFailCount(it.FailCount))
		}
		if err != nil {
			log.Error("replicate: could not reschedule", "err", err)
		}
		return
	case replTooHappy:
		unlock()
		unlock = func() {}
		if w.shedCopy(ctx, it.FID) {
			it.FailCount = 0
		}
	default:
		log.Info("replicate failed; retried later", "code", res.code, "failcount", it.FailCount)
	}
	delay := backoffDelay(it.FailCount)
	if err := w.d.Store.Retry(bg, store.QueueReplicate, it.FID, delay, nextFailCount(it.FailCount)); err != nil {
		log.Error("replicate: could not reschedule", "err", err)
	}
}

// shedCopy removes one copy of an over-replicated file: a random copy on a
// device that can be deleted from and is readable, moved away with the
// rebalance logic (which only deletes it when another copy is sound).
func (w *Workers) shedCopy(ctx context.Context, fid int64) bool {
	devids, err := w.d.Store.FileDevIDs(ctx, fid)
	if err != nil {
		w.log.Error("replicate: listing copies", "fid", fid, "err", err)
		return false
	}
	snap := w.d.Cluster.Snapshot()
	for _, id := range shuffled(devids) {
		d := snap.Device(id)
		if d != nil && d.CanDeleteFrom() && d.ShouldReadFrom() {
			moved, _ := w.rebalanceDevFID(ctx, fid, id, nil)
			return moved
		}
	}
	return false
}

// replicate makes copies of fid until its class policy holds. It takes
// the fid's lock and returns with it held: the caller must call unlock
// (a no-op when the lock was not obtained), and do further work under the
// lock with lctx (holdLock; ctx when the lock was not obtained).
func (w *Workers) replicate(ctx context.Context, fid int64, o replOpts) (res replResult, lctx context.Context, unlock func()) {
	lctx, unlock, got, err := w.holdLock(ctx, fidLock(fid), 1)
	if err != nil {
		return replResult{replDBError, err}, lctx, unlock
	}
	if !got {
		return replResult{code: replNoLock}, lctx, unlock
	}
	j, res := w.loadReplJob(lctx, fid, o)
	if res.code != "" {
		return res, lctx, unlock
	}
	return j.run(lctx), lctx, unlock
}

// replJob is one replication of one fid, under its lock.
type replJob struct {
	w          *Workers
	o          replOpts
	f          store.File
	cls        classInfo
	snap       *cluster.Snapshot
	onDevs     []*cluster.Device // every copy on a known device
	tellPol    []policy.Device   // copies that count for the policy
	up         []int             // readable copies
	all        []policy.Device   // candidate destinations
	known      *store.Checksum   // the stored checksum, if any
	alg        string            // digest to compute while copying
	destFailed map[int]bool
	srcFailed  map[int]bool
	lastErr    error
}

// loadReplJob reads what replicating fid needs; a non-empty res.code ends
// the replication at once.
func (w *Workers) loadReplJob(ctx context.Context, fid int64, o replOpts) (*replJob, replResult) {
	f, devids, known, err := w.d.Store.FileCopies(ctx, fid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, replResult{code: replNoFID}
	}
	if err != nil {
		return nil, replResult{replDBError, err}
	}
	snap := w.d.Cluster.Snapshot()
	j := &replJob{w: w, o: o, f: f, cls: w.classOf(snap, f), snap: snap,
		destFailed: map[int]bool{}, srcFailed: map[int]bool{}}
	for _, id := range devids {
		d := snap.Device(id)
		if d == nil {
			continue
		}
		j.onDevs = append(j.onDevs, d)
		if !d.State().Dead && !o.mask[id] {
			j.tellPol = append(j.tellPol, d.PolicyDevice())
		}
		if d.ShouldReadFrom() {
			j.up = append(j.up, id)
		}
	}
	if len(j.onDevs) == 0 {
		return nil, replResult{replNoSource, fmt.Errorf("no file_on rows on known devices")}
	}
	if len(j.up) == 0 {
		return nil, replResult{replSourceDown, fmt.Errorf("no readable copy among devices %v", devids)}
	}
	if o.targets == nil {
		j.all = snap.PolicyDevices()
	} else {
		for _, id := range o.targets {
			if d := snap.Device(id); d != nil {
				j.all = append(j.all, d.PolicyDevice())
			}
		}
	}
	j.known = known
	j.alg = j.cls.hashName()
	if j.known != nil {
		j.alg = cluster.HashName(j.known.HashType)
		if j.alg == "NONE" {
			j.alg = ""
		}
	}
	return j, replResult{}
}

// run asks the policy where to copy, copies, and asks again, until the
// policy is happy or has nothing more to suggest.
func (j *replJob) run(ctx context.Context) replResult {
	gotRequest := false
	var rr policy.Result
	for range 1000 {
		if err := ctx.Err(); err != nil {
			return replResult{replDBError, err}
		}
		rr = j.cls.pol.ReplicateTo(policy.Request{
			FID: j.f.FID, On: j.tellPol, All: j.all, Failed: j.destFailed, Min: j.cls.min,
		})
		if rr.Happy() {
			break
		}
		ddevid, res := j.pickDest(rr)
		if res.code != "" {
			return res
		}
		if ddevid == 0 {
			break
		}
		gotRequest = true
		if j.destFailed[ddevid] {
			return replResult{replPolicyFailed, fmt.Errorf("policy chose dev%d again, which failed", ddevid)}
		}
		if slices.ContainsFunc(j.onDevs, func(d *cluster.Device) bool { return d.ID == ddevid }) {
			return replResult{replPolicyThere, fmt.Errorf("policy chose dev%d, which has a copy", ddevid)}
		}
		choices := slices.DeleteFunc(slices.Clone(j.up), func(id int) bool { return j.srcFailed[id] })
		if len(choices) == 0 {
			return replResult{replSourceDown, fmt.Errorf("every readable copy failed: %v", j.lastErr)}
		}
		sdevid := choices[rand.IntN(len(choices))]
		if j.o.source != 0 && slices.Contains(choices, j.o.source) {
			sdevid = j.o.source
		}
		if err := j.copy(ctx, sdevid, ddevid); err != nil {
			return replResult{replDBError, err}
		}
	}
	switch {
	case rr.TooHappy():
		return replResult{code: replTooHappy}
	case rr.Happy() && gotRequest:
		return replResult{code: replCopied}
	case rr.Happy():
		return replResult{code: replLostRace}
	}
	return replResult{replNoSuggestions, j.lastErr}
}

// pickDest is the first ideal destination not masked (none left:
// would_worsen), else the first desperate one not masked; 0 when the
// policy suggests nothing.
func (j *replJob) pickDest(rr policy.Result) (int, replResult) {
	notMasked := func(id int) bool { return !j.o.mask[id] }
	if len(rr.Ideal) > 0 {
		i := slices.IndexFunc(rr.Ideal, notMasked)
		if i < 0 {
			// Masking left no ideal place: moving the masked copy
			// elsewhere would make things worse.
			return 0, replResult{code: replWouldWorsen}
		}
		return rr.Ideal[i], replResult{}
	}
	// (The original takes the first desperate device even when it is the
	// masked copy, and then fails the fid.)
	if i := slices.IndexFunc(rr.Desperate, notMasked); i >= 0 {
		return rr.Desperate[i], replResult{}
	}
	return 0, replResult{}
}

// copy copies the file from sdevid to ddevid and records the new copy. A
// failed copy marks its culprit and returns nil; only a database error is
// returned.
func (j *replJob) copy(ctx context.Context, sdevid, ddevid int) error {
	w, fid := j.w, j.f.FID
	src, dst := j.snap.Device(sdevid), j.snap.Device(ddevid)
	if dst == nil {
		j.destFailed[ddevid] = true
		return nil
	}
	sum, err := w.httpCopy(ctx, j.f, src, dst, j.known, j.alg)
	if err != nil {
		j.lastErr = err
		errType := "dest_error"
		if isCopySrcErr(err) {
			errType = "src_error"
		}
		w.log.Error(fmt.Sprintf("Failed copying fid %d from devid %d to devid %d (error type: %s)", fid, sdevid, ddevid, errType),
			"err", err, watchlog.Job(JobReplicate))
		if isCopySrcErr(err) {
			j.srcFailed[sdevid] = true
		} else {
			j.destFailed[ddevid] = true
		}
		return nil
	}
	// The checksum learnt from the copy is stored before the copy is
	// recorded, so that whoever sees the new copy also sees the checksum.
	if sum != nil && j.known == nil && j.cls.hashType != store.HashNone {
		c := store.Checksum{FID: fid, HashType: j.cls.hashType, Sum: sum}
		if err := w.d.Store.SetChecksum(ctx, c); err != nil {
			return err
		}
		j.known = &c
	}
	if err := w.d.Store.AddFileOn(ctx, fid, ddevid, j.snap.SettingBool("skip_devcount")); err != nil {
		return err
	}
	w.fileChanged(fid)
	w.log.Debug("replicate: copied", "fid", fid, "from", sdevid, "to", ddevid)
	j.onDevs = append(j.onDevs, dst)
	j.tellPol = append(j.tellPol, dst.PolicyDevice())
	j.up = append(j.up, ddevid)
	return nil
}

// rebalanceQueued works one row of the rebalance queue: move the copy on
// the row's device to one of the devices in its arg. The row is removed
// whatever happens, as in the original (a new run retries what failed),
// except when another worker held the fid: then it is tried again soon.
func (w *Workers) rebalanceQueued(ctx context.Context, it store.QueueItem) {
	var targets []int
	for _, s := range strings.Split(it.Arg, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			targets = append(targets, n)
		}
	}
	_, busy := w.rebalanceDevFID(ctx, it.FID, it.DevID, targets)
	bg := context.WithoutCancel(ctx)
	if busy || ctx.Err() != nil {
		if err := w.d.Store.Retry(bg, store.QueueRebalance, it.FID, 5, it.FailCount); err != nil {
			w.log.Error("rebalance: could not reschedule", "fid", it.FID, "err", err)
		}
		return
	}
	if err := w.d.Store.Dequeue(bg, store.QueueRebalance, it.FID); err != nil {
		w.log.Error("rebalance: could not dequeue", "fid", it.FID, "err", err)
	}
}

// rebalanceDevFID moves fid's copy on devid elsewhere (to one of targets
// if given): replicate with that copy masked, then delete it, which also
// happens when the policy holds without it and another copy has the right
// size. moved reports the copy was deleted; busy that the fid was locked.
func (w *Workers) rebalanceDevFID(ctx context.Context, fid int64, devid int, targets []int) (moved, busy bool) {
	log := w.log.With("fid", fid, "devid", devid)
	f, err := w.d.Store.FileByFID(ctx, fid)
	if errors.Is(err, store.ErrNotFound) {
		return true, false
	}
	if err != nil {
		log.Error("rebalance: loading file", "err", err)
		return false, false
	}
	res, lctx, unlock := w.replicate(ctx, fid, replOpts{mask: map[int]bool{devid: true}, targets: targets})
	defer unlock()
	if ctx.Err() == nil {
		w.replFailed(fid, res)
	}
	ctx = lctx // the rest runs under the fid's lock
	if res.code == replNoLock {
		return false, true
	}
	if !res.ok() && res.code != replTooHappy {
		w.rebalanceFailed(fid, devid, "Replication failed", "code", res.code, "err", res.err)
		return false, false
	}
	shouldDelete := false
	reason := ""
	switch res.code {
	case replTooHappy, replLostRace:
		devids, err := w.d.Store.FileDevIDs(ctx, fid)
		if err != nil {
			log.Error("rebalance: listing copies", "err", err)
			return false, false
		}
		if !slices.Contains(devids, devid) {
			return false, false // someone else moved it
		}
		snap := w.d.Cluster.Snapshot()
		for _, other := range devids {
			if other != devid && w.sizeMatches(ctx, snap.Device(other), f) {
				shouldDelete, reason = true, "over_replicated"
				break
			}
		}
	case replWouldWorsen:
		w.rebalanceFailed(fid, devid, "no suitable destination devices available")
		return false, false
	default:
		shouldDelete, reason = true, "did_rebalance"
	}
	if !shouldDelete {
		return false, false
	}
	if err := w.destroyCopy(ctx, fid, devid); err != nil {
		log.Warn("rebalance: deleting source copy failed", "reason", reason, "err", err)
		return false, false
	}
	log.Debug("rebalance: moved", "reason", reason)
	return true, false
}

// sizeMatches reports whether d is readable and its copy of f has f's
// length.
func (w *Workers) sizeMatches(ctx context.Context, d *cluster.Device, f store.File) bool {
	if d == nil || !d.ShouldReadFrom() {
		return false
	}
	n, err := w.d.Nodes.Size(ctx, d.GetURL(f.FID, cluster.Zone{}))
	return err == nil && n == f.Length
}

// destroyCopy deletes fid's copy on devid over HTTP (204 or any 2xx; 404
// too with rebalance_ignore_missing) and then its file_on row.
func (w *Workers) destroyCopy(ctx context.Context, fid int64, devid int) error {
	snap := w.d.Cluster.Snapshot()
	d := snap.Device(devid)
	if d == nil || d.Host == nil {
		return fmt.Errorf("dev%d is unknown", devid)
	}
	url := d.PutURL(fid, cluster.Zone{})
	code, err := w.httpDelete(ctx, url)
	if err != nil {
		return err
	}
	if !(code >= 200 && code <= 299 || code == 404 && w.cfg.RebalanceIgnoreMissing) {
		return fmt.Errorf("DELETE %s: HTTP %d", url, code)
	}
	if err := w.d.Store.RemoveFileOn(ctx, fid, devid, snap.SettingBool("skip_devcount")); err != nil {
		return err
	}
	w.fileChanged(fid)
	return nil
}

// rebalanceFailed is the original's line when moving fid off devid failed.
func (w *Workers) rebalanceFailed(fid int64, devid int, why string, args ...any) {
	url := ""
	if d := w.d.Cluster.Snapshot().Device(devid); d != nil && d.Host != nil {
		url = d.GetURL(fid, cluster.Zone{})
	}
	w.log.Error(fmt.Sprintf("Rebalance for DevFID[d=%d;f=%d] (%s) failed: %s", devid, fid, url, why),
		append(args, watchlog.Job(JobReplicate))...)
}

// replFailed says why replicating fid failed in the original's words
// ("<errcode>: <message>"), which its watchers see; a lost lock, like
// there, is no news.
func (w *Workers) replFailed(fid int64, res replResult) {
	var msg string
	switch res.code {
	case replNoSource:
		msg = fmt.Sprintf("Source is no longer available replicating %d", fid)
	case replSourceDown:
		msg = fmt.Sprintf("No alive devices available replicating %d", fid)
	case replTooHappy:
		msg = fmt.Sprintf("fid %d is on too many devices", fid)
	case replPolicyFailed:
		msg = fmt.Sprintf("replication policy told us to do something we already told it we failed at while replicating fid %d", fid)
	case replPolicyThere:
		msg = fmt.Sprintf("replication policy told us to put fid %d on a device it is already on", fid)
	case replNoSuggestions:
		msg = fmt.Sprintf("replication policy ran out of suggestions for us replicating fid %d", fid)
	default:
		return
	}
	args := []any{watchlog.Job(JobReplicate)}
	if res.err != nil {
		args = append(args, "err", res.err)
	}
	w.log.Error(res.code+": "+msg, args...)
}
