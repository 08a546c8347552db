package worker

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// tempfileBatch is how many stale tempfiles one pass reaps.
const tempfileBatch = 50

// legacyBatch is how many rows of each legacy delete queue one pass
// moves.
const legacyBatch = 1000

// runDelete is a delete worker: it works leased rows of file_to_delete2
// and, between them and only while this tracker is job master, reaps
// stale tempfiles and moves rows an older tracker left in the legacy
// queues file_to_delete and file_to_delete_later into file_to_delete2
// (at first, then every LegacyDeleteScan while there are none). When idle it pauses 1 s, then
// a second longer each time up to DeleteMaxSleep.
func (w *Workers) runDelete(ctx context.Context, wake <-chan struct{}) {
	pause := time.Duration(0)
	var lastTemp, nextLegacy time.Time
	for ctx.Err() == nil {
		did := false
		if mctx, cancel, ok := w.asMaster(ctx); ok {
			// Sweeps done once per cluster, by the job master.
			if time.Since(lastTemp) >= max(pause, time.Second) {
				lastTemp = time.Now()
				did = w.reapTempfiles(mctx)
			}
			if !time.Now().Before(nextLegacy) {
				if w.drainLegacyDeletes(mctx) {
					did = true
				} else {
					nextLegacy = time.Now().Add(w.cfg.LegacyDeleteScan)
				}
			}
			cancel()
		}
		for ctx.Err() == nil {
			it, ok := w.delQ.pop()
			if !ok {
				break
			}
			w.deleteQueued(ctx, it)
			did = true
		}
		if did {
			pause = 0
			continue
		}
		pause = min(pause+time.Second, w.cfg.DeleteMaxSleep)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-w.delQ.signal:
		case <-t.C:
		}
		t.Stop()
	}
}

// deleteQueued removes every copy of one deleted fid (spec §4.3).
func (w *Workers) deleteQueued(ctx context.Context, it store.QueueItem) {
	fid := it.FID
	log := w.log.With("fid", fid)
	bg := context.WithoutCancel(ctx)
	lctx, release, got, err := w.holdLock(ctx, fidLock(fid), 1)
	if err != nil || !got {
		// Being replicated (or the database is unwell): try again soon.
		if err := w.d.Store.Retry(bg, store.QueueDelete, fid, 1, nextFailCount(it.FailCount)); err != nil {
			log.Error("delete: could not reschedule", "err", err)
		}
		return
	}
	defer release()
	ctx = lctx // the deletion runs under the fid's lock

	if err := w.d.Store.DeleteChecksum(ctx, fid); err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("delete: removing checksum row", "err", err)
		return
	}
	if err := w.d.Store.DeleteTempfile(ctx, fid); err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Error("delete: removing tempfile row", "err", err)
		return
	}
	devids, err := w.d.Store.FileDevIDs(ctx, fid)
	if err != nil {
		log.Error("delete: listing copies", "err", err)
		return
	}
	snap := w.d.Cluster.Snapshot()
	left := len(devids)
	var delay int64 = -1
	for _, devid := range devids {
		dev := snap.Device(devid)
		if dev == nil {
			// A device row that vanished: leave the row for an operator.
			continue
		}
		switch {
		case dev.State().Dead:
		case !dev.ObservedWriteable():
			delay = 60 * int64(10+it.FailCount)
			continue
		case !dev.CanDeleteFrom():
			delay = 3600 * int64(1+it.FailCount)
			continue
		default:
			url := dev.PutURL(fid, cluster.Zone{})
			code, err := w.httpDelete(ctx, url)
			if err != nil || !(code >= 200 && code <= 299 || code == 404) {
				status := strconv.Itoa(code) + " " + http.StatusText(code)
				if err != nil {
					status = "500 " + err.Error()
				}
				log.Error("Error: unlink failure: "+url+": HTTP code "+status, "devid", devid, watchlog.Job(JobDelete))
				delay = 1800 * int64(1+it.FailCount)
				continue
			}
		}
		if err := w.d.Store.RemoveFileOn(ctx, fid, devid, true); err != nil {
			log.Error("delete: removing file_on row", "devid", devid, "err", err)
			return
		}
		w.fileChanged(fid)
		left--
	}
	switch {
	case left == 0:
		if err := store.DeleteMogfsAttrOf(bg, w.d.Store, fid); err != nil {
			log.Warn("delete: removing mogfs attributes", "err", err)
		}
		if err := store.DeleteS3MetaOf(bg, w.d.Store, fid); err != nil {
			log.Warn("delete: removing s3 metadata", "err", err)
		}
		if err := w.d.Store.Dequeue(bg, store.QueueDelete, fid); err != nil {
			log.Error("delete: could not dequeue", "err", err)
		}
		log.Debug("deleted")
	case delay >= 0:
		if err := w.d.Store.Retry(bg, store.QueueDelete, fid, delay, nextFailCount(it.FailCount)); err != nil {
			log.Error("delete: could not reschedule", "err", err)
		}
	}
}

// reapTempfiles turns uploads never closed into deletions, under the
// tracker-wide lock "mgfs:tempfiles" (not waited for: one reaper at a time
// is enough). It reports whether it found any.
func (w *Workers) reapTempfiles(ctx context.Context) bool {
	did := false
	got, err := w.withLock(ctx, "mgfs:tempfiles", 0, func(ctx context.Context) error {
		now, err := w.d.Store.Now(ctx)
		if err != nil {
			return err
		}
		old, err := w.d.Store.OldTempfiles(ctx, now-int64(w.cfg.TempfileTooOld/time.Second), tempfileBatch)
		if err != nil {
			return err
		}
		for _, t := range old {
			_, err := w.d.Store.FileByFID(ctx, t.FID)
			switch {
			case err == nil:
				// A real file owns this fid (a bug or race elsewhere):
				// drop only the tempfile row, never the file.
				err := w.d.Store.DeleteTempfile(ctx, t.FID)
				if errors.Is(err, store.ErrNotFound) {
					continue // gone meanwhile
				}
				if err != nil {
					return err
				}
				w.log.Warn("delete: dropped a stale tempfile row of an existing file", "fid", t.FID)
				did = true
			case errors.Is(err, store.ErrNotFound):
				err := w.d.Store.DiscardTempfile(ctx, t.FID, t.DevIDs)
				if errors.Is(err, store.ErrNotFound) {
					continue // closed meanwhile
				}
				if err != nil {
					return err
				}
				w.log.Debug("delete: reaped stale tempfile", "fid", t.FID, "devids", t.DevIDs)
				did = true
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.log.Error("delete: reaping tempfiles", "err", err)
	}
	return got && did
}

// drainLegacyDeletes moves rows of the legacy delete queues into
// file_to_delete2, where this worker deletes them like any other (the
// original works file_to_delete with the same per-device rules and puts
// failures in file_to_delete_later for 10 min, 2 h or 30 min; here a
// failure follows file_to_delete2's back-off instead). It reports whether
// it moved any.
func (w *Workers) drainLegacyDeletes(ctx context.Context) bool {
	n, err := w.d.Store.DrainLegacyDeletes(ctx, legacyBatch)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("delete: moving legacy delete queue rows", "err", err)
		}
		return false
	}
	if n > 0 {
		w.log.Info("delete: moved legacy file_to_delete/file_to_delete_later rows into file_to_delete2", "count", n)
	}
	return n > 0
}
