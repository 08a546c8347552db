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
	res, unlock := w.replicate(ctx, it.FID, replOpts{source: it.FromDevID})
	defer func() { unlock() }()
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		// Shutting down mid-way: hand the row back as it was.
		if err := w.d.Store.Retry(bg, store.QueueReplicate, it.FID, 0, it.FailCount); err != nil {
			log.Warn("replicate: could not return queue row", "err", err)
		}
		return
	}
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
		log.Error("replicate: file has no copies at all; it waits for a manual replicate_now", "err", res.err)
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
		log.Warn("replicate failed", "code", res.code, "failcount", it.FailCount, "err", res.err)
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
// (a no-op when the lock was not obtained).
func (w *Workers) replicate(ctx context.Context, fid int64, o replOpts) (res replResult, unlock func()) {
	unlock = func() {}
	lock := fidLock(fid)
	got, err := w.d.Store.Lock(ctx, lock, 1)
	if err != nil {
		return replResult{replDBError, err}, unlock
	}
	if !got {
		return replResult{code: replNoLock}, unlock
	}
	unlock = func() { w.unlock(lock) }

	f, err := w.d.Store.FileByFID(ctx, fid)
	if errors.Is(err, store.ErrNotFound) {
		return replResult{code: replNoFID}, unlock
	}
	if err != nil {
		return replResult{replDBError, err}, unlock
	}
	devids, err := w.d.Store.FileDevIDs(ctx, fid)
	if err != nil {
		return replResult{replDBError, err}, unlock
	}
	snap := w.d.Cluster.Snapshot()
	cls := w.classOf(snap, f)

	var onDevs []*cluster.Device // every copy on a known device
	var tellPol []policy.Device  // copies that count for the policy
	var up []int                 // readable copies
	for _, id := range devids {
		d := snap.Device(id)
		if d == nil {
			continue
		}
		onDevs = append(onDevs, d)
		if !d.State().Dead && !o.mask[id] {
			tellPol = append(tellPol, policyDevice(d))
		}
		if d.ShouldReadFrom() {
			up = append(up, id)
		}
	}
	if len(onDevs) == 0 {
		return replResult{replNoSource, fmt.Errorf("no file_on rows on known devices")}, unlock
	}
	if len(up) == 0 {
		return replResult{replSourceDown, fmt.Errorf("no readable copy among devices %v", devids)}, unlock
	}

	candidates := snap.Devices
	if o.targets != nil {
		candidates = nil
		for _, id := range o.targets {
			if d := snap.Device(id); d != nil {
				candidates = append(candidates, d)
			}
		}
	}
	all := PolicyDevices(candidates)

	var known *store.Checksum
	if c, err := w.d.Store.Checksum(ctx, fid); err == nil {
		known = &c
	} else if !errors.Is(err, store.ErrNotFound) {
		return replResult{replDBError, err}, unlock
	}
	alg := cls.hashName()
	if known != nil {
		alg = cluster.HashName(known.HashType)
		if alg == "NONE" {
			alg = ""
		}
	}

	destFailed := map[int]bool{}
	srcFailed := map[int]bool{}
	gotRequest := false
	var rr policy.Result
	var lastErr error
	skipDevcount := snap.SettingBool("skip_devcount")
	for range 1000 {
		if err := ctx.Err(); err != nil {
			return replResult{replDBError, err}, unlock
		}
		rr = cls.pol.ReplicateTo(policy.Request{
			FID: fid, On: tellPol, All: all, Failed: destFailed, Min: cls.min,
		})
		if rr.Happy() {
			break
		}
		var ddevid int
		if len(rr.Ideal) > 0 {
			i := slices.IndexFunc(rr.Ideal, func(id int) bool { return !o.mask[id] })
			if i < 0 {
				// Masking left no ideal place: moving the masked copy
				// elsewhere would make things worse.
				return replResult{code: replWouldWorsen}, unlock
			}
			ddevid = rr.Ideal[i]
		} else if i := slices.IndexFunc(rr.Desperate, func(id int) bool { return !o.mask[id] }); i >= 0 {
			// (The original takes the first desperate device even when
			// it is the masked copy, and then fails the fid.)
			ddevid = rr.Desperate[i]
		} else {
			break
		}
		gotRequest = true
		if destFailed[ddevid] {
			return replResult{replPolicyFailed, fmt.Errorf("policy chose dev%d again", ddevid)}, unlock
		}
		if slices.ContainsFunc(onDevs, func(d *cluster.Device) bool { return d.ID == ddevid }) {
			return replResult{replPolicyThere, fmt.Errorf("policy chose dev%d, which has a copy", ddevid)}, unlock
		}
		choices := slices.DeleteFunc(slices.Clone(up), func(id int) bool { return srcFailed[id] })
		if len(choices) == 0 {
			return replResult{replSourceDown, fmt.Errorf("every readable copy failed: %v", lastErr)}, unlock
		}
		sdevid := choices[rand.IntN(len(choices))]
		if o.source != 0 && slices.Contains(choices, o.source) {
			sdevid = o.source
		}
		src, dst := snap.Device(sdevid), snap.Device(ddevid)
		if dst == nil {
			destFailed[ddevid] = true
			continue
		}
		sum, err := w.httpCopy(ctx, f, src, dst, known, alg)
		if err != nil {
			lastErr = err
			w.log.Warn("replicate: copy failed", "fid", fid, "from", sdevid, "to", ddevid, "err", err)
			if isCopySrcErr(err) {
				srcFailed[sdevid] = true
			} else {
				destFailed[ddevid] = true
			}
			continue
		}
		if err := w.d.Store.AddFileOn(ctx, fid, ddevid, skipDevcount); err != nil {
			return replResult{replDBError, err}, unlock
		}
		if sum != nil && known == nil && cls.hashType != store.HashNone {
			c := store.Checksum{FID: fid, HashType: cls.hashType, Sum: sum}
			if err := w.d.Store.SetChecksum(ctx, c); err != nil {
				return replResult{replDBError, err}, unlock
			}
			known = &c
		}
		w.log.Debug("replicate: copied", "fid", fid, "from", sdevid, "to", ddevid)
		onDevs = append(onDevs, dst)
		tellPol = append(tellPol, policyDevice(dst))
		up = append(up, ddevid)
	}
	switch {
	case rr.TooHappy():
		return replResult{code: replTooHappy}, unlock
	case rr.Happy() && gotRequest:
		return replResult{code: replCopied}, unlock
	case rr.Happy():
		return replResult{code: replLostRace}, unlock
	}
	return replResult{replNoSuggestions, lastErr}, unlock
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
	res, unlock := w.replicate(ctx, fid, replOpts{mask: map[int]bool{devid: true}, targets: targets})
	defer unlock()
	if res.code == replNoLock {
		return false, true
	}
	if !res.ok() && res.code != replTooHappy {
		log.Warn("rebalance: replication failed", "code", res.code, "err", res.err)
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
		log.Warn("rebalance: no suitable destination devices available")
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
	return w.d.Store.RemoveFileOn(ctx, fid, devid, snap.SettingBool("skip_devcount"))
}
