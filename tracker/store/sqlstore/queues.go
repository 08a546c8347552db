package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// leaseSeconds is how far Grab pushes nexttry of the rows it hands out.
const leaseSeconds = store.LeaseSeconds

// queueSQL is the per-queue SQL: table, columns read, and the type filter
// of file_to_queue.
type queueSQL struct {
	table string
	cols  string // fid, nexttry, failcount, then the queue's extras
	where string // " AND type = N" or ""
}

func queueOf(q store.Queue) (queueSQL, error) {
	switch q {
	case store.QueueReplicate:
		return queueSQL{"file_to_replicate", "fid, nexttry, failcount, flags, fromdevid, NULL, NULL", ""}, nil
	case store.QueueDelete:
		return queueSQL{"file_to_delete2", "fid, nexttry, failcount, 0, NULL, NULL, NULL", ""}, nil
	case store.QueueFsck:
		return queueSQL{"file_to_queue", "fid, nexttry, failcount, flags, NULL, devid, arg", " AND type = 1"}, nil
	case store.QueueRebalance:
		return queueSQL{"file_to_queue", "fid, nexttry, failcount, flags, NULL, devid, arg", " AND type = 2"}, nil
	}
	return queueSQL{}, fmt.Errorf("unknown queue %d", int(q))
}

func (q queueSQL) String() string {
	if q.where != "" {
		return q.table + " type " + strings.TrimPrefix(q.where, " AND type = ")
	}
	return q.table
}

func scanQueueItem(sc interface{ Scan(...any) error }) (store.QueueItem, error) {
	var it store.QueueItem
	var from, dev sql.NullInt64
	var arg sql.NullString
	err := sc.Scan(&it.FID, &it.NextTry, &it.FailCount, &it.Flags, &from, &dev, &arg)
	it.FromDevID, it.DevID, it.Arg = int(from.Int64), int(dev.Int64), arg.String
	return it, err
}

func (r *runner) queueItem(q store.Queue, fid int64) (store.QueueItem, error) {
	qs, err := queueOf(q)
	if err != nil {
		return store.QueueItem{}, err
	}
	return scanQueueItem(r.queryRow("SELECT "+qs.cols+" FROM "+qs.table+" WHERE fid = ?"+qs.where, fid))
}

// Enqueue inserts item unless its fid is already queued.
func (s *Store) Enqueue(ctx context.Context, q store.Queue, item store.QueueItem, delay int64) error {
	delay = max(delay, 0)
	err := s.autocommit(ctx, func(r *runner) error {
		var err error
		switch q {
		case store.QueueReplicate:
			if delay == 0 {
				_, err = r.exec("{ignore} INTO file_to_replicate (fid, nexttry, fromdevid, failcount, flags) VALUES (?, 0, ?, ?, ?)",
					item.FID, nullInt(item.FromDevID), item.FailCount, item.Flags)
			} else {
				_, err = r.exec("{ignore} INTO file_to_replicate (fid, nexttry, fromdevid, failcount, flags) VALUES (?, {now} + ?, ?, ?, ?)",
					item.FID, delay, nullInt(item.FromDevID), item.FailCount, item.Flags)
			}
		case store.QueueDelete:
			_, err = r.exec("{ignore} INTO file_to_delete2 (fid, nexttry, failcount) VALUES (?, {now} + ?, ?)",
				item.FID, delay, item.FailCount)
		case store.QueueFsck, store.QueueRebalance:
			typ := 1
			if q == store.QueueRebalance {
				typ = 2
			}
			_, err = r.exec("{ignore} INTO file_to_queue (fid, devid, arg, type, nexttry, failcount, flags) VALUES (?, ?, ?, ?, {now} + ?, ?, ?)",
				item.FID, nullInt(item.DevID), nullString(item.Arg), typ, delay, item.FailCount, item.Flags)
		default:
			err = fmt.Errorf("unknown queue %d", int(q))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: enqueue fid %d: %w", item.FID, err)
	}
	return nil
}

// Grab leases up to limit due rows, oldest nexttry first, by pushing their
// nexttry leaseSeconds ahead in the same transaction (SELECT ... FOR
// UPDATE on MySQL; SQLite's write transaction is exclusive anyway).
func (s *Store) Grab(ctx context.Context, q store.Queue, limit int) ([]store.QueueItem, error) {
	qs, err := queueOf(q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: grab: %w", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	var items []store.QueueItem
	err = s.write(ctx, func(r *runner) error {
		items = items[:0]
		rows, err := r.query("SELECT "+qs.cols+" FROM "+qs.table+" WHERE nexttry <= {now}"+qs.where+" ORDER BY nexttry LIMIT ?{forupdate}", limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, err := scanQueueItem(rows)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		var in strings.Builder
		for i, it := range items {
			if i > 0 {
				in.WriteByte(',')
			}
			in.WriteString(strconv.FormatInt(it.FID, 10))
		}
		_, err = r.execDynamic("UPDATE " + qs.table + " SET nexttry = {now} + " + strconv.Itoa(leaseSeconds) +
			" WHERE fid IN (" + in.String() + ")" + qs.where)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: grab from %s: %w", qs, err)
	}
	return items, nil
}

// Retry reschedules a queued fid: nexttry = now+delay (capped at
// store.EndOfTime), failcount as given. A row no longer queued is no error.
func (s *Store) Retry(ctx context.Context, q store.Queue, fid int64, delay int64, failCount int) error {
	qs, err := queueOf(q)
	if err != nil {
		return fmt.Errorf("sqlstore: retry fid %d: %w", fid, err)
	}
	delay = max(delay, 0)
	err = s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("UPDATE "+qs.table+" SET nexttry = CASE WHEN {now} + ? > "+strconv.Itoa(store.EndOfTime)+
			" THEN "+strconv.Itoa(store.EndOfTime)+" ELSE {now} + ? END, failcount = ? WHERE fid = ?"+qs.where,
			delay, delay, failCount, fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: retry fid %d in %s: %w", fid, qs, err)
	}
	return nil
}

// Dequeue removes fid from the queue.
func (s *Store) Dequeue(ctx context.Context, q store.Queue, fid int64) error {
	qs, err := queueOf(q)
	if err != nil {
		return fmt.Errorf("sqlstore: dequeue fid %d: %w", fid, err)
	}
	err = s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM "+qs.table+" WHERE fid = ?"+qs.where, fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: dequeue fid %d from %s: %w", fid, qs, err)
	}
	return nil
}

// QueueLength counts the rows of a queue.
func (s *Store) QueueLength(ctx context.Context, q store.Queue) (int64, error) {
	qs, err := queueOf(q)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: queue length: %w", err)
	}
	var n int64
	err = s.read(ctx, func(r *runner) error {
		return r.queryRow("SELECT COUNT(*) FROM " + qs.table + " WHERE 1 = 1" + qs.where).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: length of %s: %w", qs, err)
	}
	return n, nil
}

// ReplicateNow makes every deferred replication due now.
func (s *Store) ReplicateNow(ctx context.Context) (int64, error) {
	var n int64
	err := s.autocommit(ctx, func(r *runner) (err error) {
		n, err = affected(r.exec("UPDATE file_to_replicate SET nexttry = {now} WHERE nexttry > {now}"))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: replicate now: %w", err)
	}
	return n, nil
}

// ---- fsck log ----

// AddFsckEvent appends to fsck_log; UTime 0 means the database clock.
func (s *Store) AddFsckEvent(ctx context.Context, e store.FsckEvent) error {
	err := s.autocommit(ctx, func(r *runner) error {
		var err error
		if e.UTime > 0 {
			_, err = r.exec("INSERT INTO fsck_log (utime, fid, evcode, devid) VALUES (?, ?, ?, ?)",
				e.UTime, nullFID(e.FID), e.EvCode, nullInt(e.DevID))
		} else {
			_, err = r.exec("INSERT INTO fsck_log (utime, fid, evcode, devid) VALUES ({now}, ?, ?, ?)",
				nullFID(e.FID), e.EvCode, nullInt(e.DevID))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: fsck event %s fid %d: %w", e.EvCode, e.FID, err)
	}
	return nil
}

func nullFID(fid int64) any {
	if fid == 0 {
		return nil
	}
	return fid
}

// FsckEvents lists fsck_log rows with logid > afterLogID, ascending.
func (s *Store) FsckEvents(ctx context.Context, afterLogID int64, limit int) ([]store.FsckEvent, error) {
	var out []store.FsckEvent
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT logid, utime, fid, evcode, devid FROM fsck_log WHERE logid > ? ORDER BY logid LIMIT ?", afterLogID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e store.FsckEvent
			var fid, dev sql.NullInt64
			var code sql.NullString
			if err := rows.Scan(&e.LogID, &e.UTime, &fid, &code, &dev); err != nil {
				return err
			}
			e.FID, e.EvCode, e.DevID = fid.Int64, code.String, int(dev.Int64)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: fsck log after %d: %w", afterLogID, err)
	}
	return out, nil
}

// ClearFsckLog empties fsck_log.
func (s *Store) ClearFsckLog(ctx context.Context) error {
	if err := s.d.clearFsckLog(ctx, s); err != nil {
		return fmt.Errorf("sqlstore: clear fsck log: %w", err)
	}
	return nil
}

// MaxFsckLogID returns the highest logid, 0 when the log is empty.
func (s *Store) MaxFsckLogID(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := s.read(ctx, func(r *runner) error {
		return r.queryRow("SELECT MAX(logid) FROM fsck_log").Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: max fsck logid: %w", err)
	}
	return n.Int64, nil
}

// FsckEventCounts counts events by code with afterLogID < logid <= upTo.
func (s *Store) FsckEventCounts(ctx context.Context, afterLogID, upTo int64) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.read(ctx, func(r *runner) error {
		clear(out)
		rows, err := r.query("SELECT evcode, COUNT(*) FROM fsck_log WHERE logid > ? AND logid <= ? GROUP BY evcode", afterLogID, upTo)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var code sql.NullString
			var n int64
			if err := rows.Scan(&code, &n); err != nil {
				return err
			}
			out[code.String] += n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: fsck event counts: %w", err)
	}
	return out, nil
}

// ---- named locks ----

// Lock takes a named lock shared by every tracker on the database, waiting
// up to timeout seconds; it reports whether it got the lock. A lock this
// store already holds is not taken twice.
func (s *Store) Lock(ctx context.Context, name string, timeout int) (bool, error) {
	return s.d.lock(ctx, s, name, max(timeout, 0))
}

// Unlock releases a named lock this store holds; others are left alone.
func (s *Store) Unlock(ctx context.Context, name string) error {
	return s.d.unlock(ctx, s, name)
}
