package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Fsck event codes (fsck_log.evcode).
const (
	EvNoPaths      = "NOPA" // no file_on rows
	EvPolicy       = "POVI" // replication policy violated
	EvMissing      = "MISS" // a copy is missing (devid set)
	EvBadLength    = "BLEN" // a copy has the wrong length (devid set)
	EvCantFix      = "GONE" // no good copy anywhere
	EvSearch       = "SRCH" // searching every device for a copy
	EvFound        = "FOND" // the search found a copy
	EvReplicate    = "REPL" // replication queued
	EvBadCount     = "BCNT" // file.devcount corrected
	EvBadChecksum  = "BSUM" // checksum mismatch
	EvNoChecksum   = "NSUM" // missing checksum stored
	EvMultiSum     = "MSUM" // copies disagree, no reference checksum
	EvBadAlgorithm = "BALG" // stored checksum of another algorithm
)

// fsckOptions are the settings an fsck pass follows.
type fsckOptions struct {
	policyOnly bool   // fsck_opt_policy_only
	checksum   string // fsck_checksum: "" (class), "off", "MD5" or "SHA-1"
}

// settingsCache keeps a fresh copy of server_settings for up to a second
// (and no longer than until the job master hands out a new fsck batch),
// so fsck follows fsck_reset/fsck_start at once without a query per fid.
type settingsCache struct {
	mu   sync.Mutex
	at   time.Time
	vals map[string]string
}

func (c *settingsCache) invalidate() {
	c.mu.Lock()
	c.vals = nil
	c.mu.Unlock()
}

func (w *Workers) freshSettings(ctx context.Context) (map[string]string, error) {
	c := &w.settings
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vals != nil && time.Since(c.at) < time.Second {
		return c.vals, nil
	}
	v, err := w.d.Store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	c.vals, c.at = v, time.Now()
	return v, nil
}

func (w *Workers) fsckOpts(ctx context.Context) (fsckOptions, error) {
	s, err := w.freshSettings(ctx)
	if err != nil {
		return fsckOptions{}, err
	}
	o := fsckOptions{policyOnly: s["fsck_opt_policy_only"] != "" && s["fsck_opt_policy_only"] != "0"}
	switch v := s["fsck_checksum"]; v {
	case "off", "MD5", "SHA-1":
		o.checksum = v
	}
	return o, nil
}

// fsckLog writes one fsck_log row (devid 0 = none).
func (w *Workers) fsckLog(ctx context.Context, fid int64, code string, devid int) {
	// UTime 0: the store stamps the row with the database clock.
	if err := w.d.Store.AddFsckEvent(ctx, store.FsckEvent{FID: fid, EvCode: code, DevID: devid}); err != nil {
		w.log.Error("fsck: writing fsck_log", "fid", fid, "evcode", code, "devid", devid, "err", err)
		return
	}
	w.log.Debug("fsck: event", "fid", fid, "evcode", code, "devid", devid)
}

// checkFID is the fast, lock-free check of one file, from what
// FsckFiles read of it; anything amiss goes to fix. It returns false when
// the check stalled.
func (w *Workers) checkFID(ctx context.Context, ff store.FsckFile, opts fsckOptions) bool {
	snap := w.d.Cluster.Snapshot()
	f, devids := ff.File, ff.DevIDs
	cls := w.classOf(snap, f)
	fix := func(reason string, recheck func() bool) bool {
		return w.fsckFix(ctx, f.FID, opts, reason, recheck)
	}
	if len(devids) == 0 {
		return fix(EvNoPaths, func() bool {
			ids, err := w.d.Store.FileDevIDs(ctx, f.FID)
			return err == nil && len(ids) > 0
		})
	}
	if !w.meetsPolicy(snap, cls, f.FID, devids) {
		return fix(EvPolicy, func() bool {
			ids, err := w.d.Store.FileDevIDs(ctx, f.FID)
			return err == nil && w.meetsPolicy(w.d.Cluster.Snapshot(), cls, f.FID, ids)
		})
	}
	w.maybeFixDevcount(ctx, snap, f, len(devids))
	if cls.hashType != store.HashNone && !ff.HasChecksum {
		return fix("", nil)
	}
	if opts.policyOnly {
		return true
	}
	if opts.checksum != "" && opts.checksum != "off" {
		return fix("", nil)
	}
	stalled, needFix := w.checkSizes(ctx, snap, f, devids)
	switch {
	case stalled:
		return false
	case needFix:
		return fix("", nil)
	case cls.hashType != store.HashNone && opts.checksum != "off":
		return fix("", nil)
	}
	return true
}

// checkSizes HEADs every copy in parallel. A copy on a dead device or with
// the wrong size needs a fix; an unreachable live device stalls the check.
func (w *Workers) checkSizes(ctx context.Context, snap *cluster.Snapshot, f store.File, devids []int) (stalled, needFix bool) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range devids {
		d := snap.Device(id)
		if d == nil || d.State().Dead {
			needFix = true
			continue
		}
		if !d.ShouldReadFrom() {
			w.connectivityProblem(d)
			stalled = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.d.Nodes.Size(ctx, d.GetURL(f.FID, cluster.Zone{}))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, nodeclient.ErrMissing):
				needFix = true
			case err != nil:
				w.connectivityProblem(d)
				stalled = true
			case n != f.Length:
				needFix = true
			}
		}()
	}
	wg.Wait()
	return stalled, needFix
}

func (w *Workers) connectivityProblem(d *cluster.Device) {
	ip := ""
	if d.Host != nil {
		ip = d.Host.IP(cluster.Zone{})
	}
	w.log.Error(fmt.Sprintf("Connectivity problem reaching device %d on host %s", d.ID, ip), "devid", d.ID, watchlog.Job(JobFsck))
}

// maybeFixDevcount corrects file.devcount (unless skip_devcount) and logs
// BCNT when it was wrong.
func (w *Workers) maybeFixDevcount(ctx context.Context, snap *cluster.Snapshot, f store.File, n int) {
	if snap.SettingBool("skip_devcount") || f.DevCount == n {
		return
	}
	w.fsckLog(ctx, f.FID, EvBadCount, 0)
	if err := w.d.Store.UpdateDevcount(ctx, f.FID); err != nil {
		w.log.Error("fsck: updating devcount", "fid", f.FID, "err", err)
	}
}

// fsckFix is the slow path, under the fid's lock: re-check (recheck, if
// given, logging reason when it still fails), then repair. It returns
// false when it stalled.
func (w *Workers) fsckFix(ctx context.Context, fid int64, opts fsckOptions, reason string, recheck func() bool) bool {
	lctx, release, got, err := w.holdLock(ctx, fidLock(fid), 1)
	if err != nil || !got {
		w.log.Error(fmt.Sprintf("Fsck stalled for fid FID[f=%d]: failed to acquire lock", fid), "err", err, watchlog.Job(JobFsck))
		return false
	}
	defer release()
	ctx = lctx // the check and repair run under the fid's lock
	f, err := w.d.Store.FileByFID(ctx, fid)
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	if err != nil {
		w.log.Error(fmt.Sprintf("Fsck stalled for fid FID[f=%d]: %v", fid, err), watchlog.Job(JobFsck))
		return false
	}
	if recheck != nil {
		if recheck() {
			return true
		}
		w.fsckLog(ctx, fid, reason, 0)
	}
	fixed, err := w.fixFID(ctx, f, opts)
	if err != nil {
		w.log.Error(fmt.Sprintf("Fsck stalled for fid FID[f=%d]: %v", fid, err), watchlog.Job(JobFsck))
		return false
	}
	if !fixed {
		w.fsckLog(ctx, fid, EvCantFix, 0)
	}
	return true
}

// errUnreachable stalls a fix.
var errUnreachable = errors.New("unreachable")

// fixFID checks every copy (size, and digest when an algorithm applies),
// searches every device when no copy is good, forgets bad copies,
// reconciles checksums and queues replication when the policy is not met.
// It returns false when no good copy exists anywhere, an error when a
// device could not be reached.
func (w *Workers) fixFID(ctx context.Context, f store.File, opts fsckOptions) (bool, error) {
	snap := w.d.Cluster.Snapshot()
	cls := w.classOf(snap, f)
	devids, err := w.d.Store.FileDevIDs(ctx, f.FID)
	if err != nil {
		return false, err
	}
	alg := cls.hashName()
	if alg == "" {
		alg = opts.checksum
	}
	fx := &fixer{w: w, f: f, snap: snap, checked: map[int]bool{}, sums: map[string][]int{}}
	if alg != "off" {
		fx.alg = alg
	}
	if err := fx.check(ctx, devids, false); err != nil {
		return false, err
	}
	skipDevcount := snap.SettingBool("skip_devcount")
	if len(fx.good) == 0 {
		w.fsckLog(ctx, f.FID, EvSearch, 0)
		var all []int
		for _, d := range snap.Devices {
			if !d.State().Dead {
				all = append(all, d.ID)
			}
		}
		if err := fx.check(ctx, shuffled(all), true); err != nil {
			return false, err
		}
		if len(fx.good) == 0 {
			if err := w.forgetCopies(ctx, f.FID, fx.bad); err != nil {
				return false, err
			}
			if !skipDevcount {
				if err := w.d.Store.UpdateDevcount(ctx, f.FID); err != nil {
					return false, err
				}
			}
			return false, nil
		}
		if err := w.d.Store.AddFileOn(ctx, f.FID, fx.good[0], skipDevcount); err != nil {
			return false, err
		}
		w.fileChanged(f.FID)
		w.fsckLog(ctx, f.FID, EvFound, 0)
	}
	if err := w.forgetCopies(ctx, f.FID, fx.bad); err != nil {
		return false, err
	}
	if fx.alg != "" {
		if err := w.fixChecksums(ctx, f, cls, fx.alg, opts, fx.sums); err != nil {
			return false, err
		}
	}
	if len(fx.bad) > 0 || len(fx.sums) > 1 || len(devids) == 0 {
		// Rows were added or dropped: read them again.
		if devids, err = w.d.Store.FileDevIDs(ctx, f.FID); err != nil {
			return false, err
		}
	}
	if !w.meetsPolicy(w.d.Cluster.Snapshot(), cls, f.FID, devids) {
		if err := w.enqueueReplication(ctx, f.FID, 1); err != nil {
			return false, err
		}
		w.fsckLog(ctx, f.FID, EvReplicate, 0)
		return true, nil
	}
	// f was read under the fid's lock, so its devcount is current.
	w.maybeFixDevcount(ctx, snap, f, len(devids))
	return true, nil
}

// fixer sorts a fid's copies into good and bad ones for fixFID.
type fixer struct {
	w       *Workers
	f       store.File
	snap    *cluster.Snapshot
	alg     string // digest to check, "" for none
	checked map[int]bool
	good    []int
	bad     []int
	sums    map[string][]int // digest -> devids of good copies
}

// check checks each not yet checked device of ids: a dead or unknown
// device is bad; a copy of the right size (and readable digest) is good;
// a missing or wrong-sized copy is bad (logged MISS or BLEN unless
// searching, where most devices are expected to miss it; a search stops at
// the first good copy). An unreachable device stalls the fix.
func (fx *fixer) check(ctx context.Context, ids []int, desperate bool) error {
	w, f := fx.w, fx.f
	for _, id := range ids {
		if fx.checked[id] {
			continue
		}
		fx.checked[id] = true
		d := fx.snap.Device(id)
		if d == nil || d.State().Dead {
			fx.bad = append(fx.bad, id)
			continue
		}
		if !d.ShouldReadFrom() {
			w.connectivityProblem(d)
			return fmt.Errorf("dev%d %w", id, errUnreachable)
		}
		size, err := w.d.Nodes.Size(ctx, d.GetURL(f.FID, cluster.Zone{}))
		if errors.Is(err, nodeclient.ErrMissing) {
			size, err = -1, nil
		}
		if err != nil {
			w.connectivityProblem(d)
			return fmt.Errorf("dev%d %w: %v", id, errUnreachable, err)
		}
		if size != f.Length {
			if !desperate {
				code := EvBadLength
				if size == -1 {
					code = EvMissing
				}
				w.fsckLog(ctx, f.FID, code, id)
			}
			fx.bad = append(fx.bad, id)
			continue
		}
		if fx.alg != "" {
			sum, err := w.d.Nodes.Digest(ctx, d.Host.IP(cluster.Zone{}), d.Path(f.FID), d.GetURL(f.FID, cluster.Zone{}), fx.alg, "fsck", f.Length)
			if errors.Is(err, nodeclient.ErrMissing) {
				// Deleted right after the size check.
				if !desperate {
					w.fsckLog(ctx, f.FID, EvMissing, id)
				}
				fx.bad = append(fx.bad, id)
				continue
			}
			if err != nil {
				return fmt.Errorf("dev%d %w: %v", id, errUnreachable, err)
			}
			fx.sums[string(sum)] = append(fx.sums[string(sum)], id)
		}
		fx.good = append(fx.good, id)
		if desperate {
			return nil // one is enough
		}
	}
	return nil
}

// forgetCopies drops file_on rows (devcount is fixed later, as in the
// original).
func (w *Workers) forgetCopies(ctx context.Context, fid int64, devids []int) error {
	for _, id := range devids {
		w.log.Error(fmt.Sprintf("removing file_on mapping for fid=%d, dev=%d", fid, id), watchlog.Job(JobFsck))
		if err := w.d.Store.RemoveFileOn(ctx, fid, id, true); err != nil {
			return err
		}
		w.fileChanged(fid)
	}
	return nil
}

// fixChecksums reconciles the copies' digests with the stored checksum
// (spec §4.5): one digest everywhere → compare (BSUM/BALG) or store it
// for a class with a hash type (NSUM); several digests → keep the copies
// matching the stored checksum and forget the others (replication then
// restores them), else BSUM, or MSUM in fsck_checksum mode.
func (w *Workers) fixChecksums(ctx context.Context, f store.File, cls classInfo, alg string, opts fsckOptions, sums map[string][]int) error {
	var cur *store.Checksum
	if c, err := w.d.Store.Checksum(ctx, f.FID); err == nil {
		cur = &c
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	allBad := func() {
		if cls.hashType == store.HashNone {
			return
		}
		expected := "No known valid checksum"
		if cur != nil {
			expected = "Expected: " + checksumString(*cur)
		}
		w.log.Error(fmt.Sprintf("all checksums bad: %s. %s", badChecksums(cluster.HashName(cls.hashType), sums), expected), watchlog.Job(JobFsck))
		w.fsckLog(ctx, f.FID, EvBadChecksum, 0)
	}
	switch {
	case len(sums) == 1:
		var disk []byte
		for k := range sums {
			disk = []byte(k)
		}
		if cur != nil {
			if !bytes.Equal(cur.Sum, disk) {
				w.log.Error(fmt.Sprintf("%s does not match disk: %s:%x", checksumString(*cur), alg, disk), watchlog.Job(JobFsck))
				if alg != cluster.HashName(cur.HashType) {
					w.fsckLog(ctx, f.FID, EvBadAlgorithm, 0)
				} else {
					w.fsckLog(ctx, f.FID, EvBadChecksum, 0)
				}
			}
			return nil
		}
		if cls.hashType != store.HashNone {
			w.fsckLog(ctx, f.FID, EvNoChecksum, 0)
			return w.d.Store.SetChecksum(ctx, store.Checksum{FID: f.FID, HashType: cls.hashType, Sum: disk})
		}
	case cur != nil:
		good := sums[string(cur.Sum)]
		if len(good) == 0 {
			allBad()
			return nil
		}
		for k, ids := range sums {
			if k == string(cur.Sum) {
				continue
			}
			if err := w.forgetCopies(ctx, f.FID, ids); err != nil {
				return err
			}
		}
	case opts.checksum != "":
		w.log.Error(fmt.Sprintf("FID[f=%d] has multiple checksums: %s", f.FID, badChecksums(alg, sums)), watchlog.Job(JobFsck))
		w.fsckLog(ctx, f.FID, EvMultiSum, 0)
	default:
		allBad()
	}
	return nil
}

// checksumString is a checksum row as the original's messages show it.
func checksumString(c store.Checksum) string {
	return fmt.Sprintf("Checksum[f=%d;%s=%x]", c.FID, cluster.HashName(c.HashType), c.Sum)
}

// badChecksums lists the copies' digests as the original's messages do:
// "<alg>:<hex> on devids=[1,2]", joined by "; " (sorted by digest).
func badChecksums(alg string, sums map[string][]int) string {
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		ids := make([]string, len(sums[k]))
		for j, id := range sums[k] {
			ids[j] = strconv.Itoa(id)
		}
		parts[i] = fmt.Sprintf("%s:%x on devids=[%s]", alg, k, strings.Join(ids, ","))
	}
	return strings.Join(parts, "; ")
}
