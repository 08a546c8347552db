package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// This file holds the store methods only the background workers use.

// enqueueChunk is how many rows one multi-row INSERT of EnqueueMany
// carries (at most 7 parameters a row).
const enqueueChunk = 200

// DeleteTempfile removes fid's tempfile row and nothing else.
func (s *Store) DeleteTempfile(ctx context.Context, fid int64) error {
	var n int64
	err := s.autocommit(ctx, func(r *runner) (err error) {
		n, err = affected(r.exec("DELETE FROM tempfile WHERE fid = ?", fid))
		return err
	})
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete tempfile fid %d: %w", fid, err)
	}
	return nil
}

// FIDsOnDeviceDesc lists fids on devid below before (before <= 0: all),
// descending.
func (s *Store) FIDsOnDeviceDesc(ctx context.Context, devid int, before int64, limit int) ([]int64, error) {
	var out []int64
	err := s.read(ctx, func(r *runner) error {
		var err error
		if before > 0 {
			out, err = r.int64s("SELECT fid FROM file_on WHERE devid = ? AND fid < ? ORDER BY fid DESC LIMIT ?", devid, before, limit)
		} else {
			out, err = r.int64s("SELECT fid FROM file_on WHERE devid = ? ORDER BY fid DESC LIMIT ?", devid, limit)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: fids on device %d newest first: %w", devid, err)
	}
	return out, nil
}

func (r *runner) int64s(tmpl string, args ...any) ([]int64, error) {
	rows, err := r.query(tmpl, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// EnqueueMany queues every item in one transaction, with multi-row
// INSERT IGNOREs (the original's enqueue_many_for_todo).
func (s *Store) EnqueueMany(ctx context.Context, q store.Queue, items []store.QueueItem, delay int64) error {
	if len(items) == 0 {
		return nil
	}
	delay = max(delay, 0)
	head, row, err := enqueueSQL(q, delay)
	if err != nil {
		return fmt.Errorf("sqlstore: enqueue %d fids: %w", len(items), err)
	}
	err = s.write(ctx, func(r *runner) error {
		for start := 0; start < len(items); start += enqueueChunk {
			chunk := items[start:min(start+enqueueChunk, len(items))]
			var b strings.Builder
			b.WriteString(head)
			args := make([]any, 0, 7*len(chunk))
			for i, it := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(row.text)
				args = append(args, row.args(it, delay)...)
			}
			if _, err := r.execDynamic(b.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: enqueue %d fids (first %d): %w", len(items), items[0].FID, err)
	}
	return nil
}

// enqueueRow is one VALUES tuple of a queue's INSERT and its arguments.
type enqueueRow struct {
	text string
	args func(it store.QueueItem, delay int64) []any
}

// enqueueSQL returns the INSERT head and row of queue q, with the same
// values Enqueue writes.
func enqueueSQL(q store.Queue, delay int64) (string, enqueueRow, error) {
	switch q {
	case store.QueueReplicate:
		head := "{ignore} INTO file_to_replicate (fid, nexttry, fromdevid, failcount, flags) VALUES "
		if delay == 0 {
			return head, enqueueRow{"(?, 0, ?, ?, ?)", func(it store.QueueItem, _ int64) []any {
				return []any{it.FID, nullInt(it.FromDevID), it.FailCount, it.Flags}
			}}, nil
		}
		return head, enqueueRow{"(?, {now} + ?, ?, ?, ?)", func(it store.QueueItem, d int64) []any {
			return []any{it.FID, d, nullInt(it.FromDevID), it.FailCount, it.Flags}
		}}, nil
	case store.QueueDelete:
		return "{ignore} INTO file_to_delete2 (fid, nexttry, failcount) VALUES ",
			enqueueRow{"(?, {now} + ?, ?)", func(it store.QueueItem, d int64) []any {
				return []any{it.FID, d, it.FailCount}
			}}, nil
	case store.QueueFsck, store.QueueRebalance:
		typ := 1
		if q == store.QueueRebalance {
			typ = 2
		}
		return "{ignore} INTO file_to_queue (fid, devid, arg, type, nexttry, failcount, flags) VALUES ",
			enqueueRow{"(?, ?, ?, " + strconv.Itoa(typ) + ", {now} + ?, ?, ?)", func(it store.QueueItem, d int64) []any {
				return []any{it.FID, nullInt(it.DevID), nullString(it.Arg), d, it.FailCount, it.Flags}
			}}, nil
	}
	return "", enqueueRow{}, fmt.Errorf("unknown queue %d", int(q))
}

// DrainLegacyDeletes moves rows of file_to_delete (due now) and
// file_to_delete_later (due at delafter) into file_to_delete2, up to
// limit of each, in one transaction.
func (s *Store) DrainLegacyDeletes(ctx context.Context, limit int) (int64, error) {
	if limit <= 0 {
		return 0, nil
	}
	var moved int64
	err := s.write(ctx, func(r *runner) error {
		moved = 0
		fids, err := r.int64s("SELECT fid FROM file_to_delete ORDER BY fid LIMIT ?{forupdate}", limit)
		if err != nil {
			return err
		}
		n, err := r.moveLegacy("file_to_delete", fids, nil)
		if err != nil {
			return err
		}
		moved += n
		rows, err := r.query("SELECT fid, delafter FROM file_to_delete_later ORDER BY delafter LIMIT ?{forupdate}", limit)
		if err != nil {
			return err
		}
		var later, due []int64
		for rows.Next() {
			var fid, at int64
			if err := rows.Scan(&fid, &at); err != nil {
				rows.Close()
				return err
			}
			later, due = append(later, fid), append(due, at)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		n, err = r.moveLegacy("file_to_delete_later", later, due)
		moved += n
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: drain legacy delete queues: %w", err)
	}
	return moved, nil
}

// moveLegacy queues fids in file_to_delete2 (nexttry due[i], or now when
// due is nil) and deletes them from table; it returns the rows deleted.
func (r *runner) moveLegacy(table string, fids, due []int64) (int64, error) {
	if len(fids) == 0 {
		return 0, nil
	}
	var ins strings.Builder
	ins.WriteString("{ignore} INTO file_to_delete2 (fid, nexttry, failcount) VALUES ")
	var in strings.Builder
	args := make([]any, 0, 2*len(fids))
	for i, fid := range fids {
		if i > 0 {
			ins.WriteByte(',')
			in.WriteByte(',')
		}
		in.WriteString(strconv.FormatInt(fid, 10))
		if due == nil {
			ins.WriteString("(?, {now}, 0)")
			args = append(args, fid)
		} else {
			ins.WriteString("(?, ?, 0)")
			args = append(args, fid, due[i])
		}
	}
	if _, err := r.execDynamic(ins.String(), args...); err != nil {
		return 0, err
	}
	return affected(r.execDynamic("DELETE FROM " + table + " WHERE fid IN (" + in.String() + ")"))
}
