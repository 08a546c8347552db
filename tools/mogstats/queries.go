package mogstats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// endOfTime is the queues' "never" (manual intervention needed).
const endOfTime = 2147483647

// openReadOnly opens the database of t for reading only. The SQL drivers
// are registered by package sqlstore.
func openReadOnly(ctx context.Context, t sqlstore.Target) (*sql.DB, error) {
	var db *sql.DB
	var err error
	switch t.Backend {
	case sqlstore.MySQL:
		db, err = sql.Open("mysql", t.MySQL.FormatDSN())
	case sqlstore.SQLite:
		if t.Memory() {
			return nil, errors.New("an in-memory database holds no statistics")
		}
		dsn := "file:" + (&url.URL{Path: t.Path}).EscapedPath() + "?mode=ro&"
		if t.URI {
			dsn = t.Path + "?"
			if strings.Contains(t.Path, "?") {
				dsn = t.Path + "&"
			}
		}
		db, err = sql.Open("sqlite", dsn+"_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	default:
		return nil, fmt.Errorf("unsupported database %v", t.Backend)
	}
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// queries is the read-only accessor mogstats needs: plain SELECTs on
// the original schema, which the store interface has no reason to offer.
type queries struct {
	db      *sql.DB
	backend sqlstore.Backend
	verbose io.Writer

	domains map[int]string         // dmid -> name
	classes map[int]map[int]string // dmid -> classid -> name
}

func (q *queries) logf(format string, args ...any) {
	if q.verbose != nil {
		fmt.Fprintf(q.verbose, format+"\n", args...)
	}
}

func (q *queries) now(ctx context.Context) (int64, error) {
	expr := "UNIX_TIMESTAMP()"
	if q.backend == sqlstore.SQLite {
		expr = "CAST(strftime('%s','now') AS INTEGER)"
	}
	var n int64
	err := q.db.QueryRowContext(ctx, "SELECT "+expr).Scan(&n)
	return n, err
}

func (q *queries) className(dmid, classid int) (string, string) {
	d := q.domains[dmid]
	c := q.classes[dmid][classid]
	if classid == 0 {
		c = "default"
	}
	return d, c
}

// collect runs the queries for the statistics in want.
func (q *queries) collect(ctx context.Context, want map[string]bool) (*Stats, error) {
	all := want["all"]
	st := &Stats{}
	if err := q.loadNames(ctx); err != nil {
		return nil, err
	}
	var err error
	if want["replication"] || all {
		q.logf("... replication stats...")
		if st.Replication, err = q.replication(ctx); err != nil {
			return nil, err
		}
	}
	if want["replication-queue"] || all {
		q.logf("... replication queue stats...")
		if st.ToReplicate, err = q.queueStatus(ctx, "SELECT nexttry, COUNT(*) FROM file_to_replicate GROUP BY nexttry", "newfile"); err != nil {
			return nil, err
		}
	}
	if want["delete-queue"] || all {
		q.logf("... delete queue stats...")
		if st.ToDelete, err = q.queueStatus(ctx, "SELECT nexttry, COUNT(*) FROM file_to_delete2 GROUP BY nexttry", "new"); err != nil {
			return nil, err
		}
	}
	if want["files"] || all {
		q.logf("... files stats...")
		if st.Files, err = q.files(ctx, true); err != nil {
			return nil, err
		}
	}
	if want["domains"] && !(want["files"] || all) {
		q.logf("... domains stats...")
		if st.Domains, err = q.files(ctx, false); err != nil {
			return nil, err
		}
	}
	if want["devices"] || all {
		q.logf("... per-device stats...")
		if st.Devices, err = q.devices(ctx); err != nil {
			return nil, err
		}
	}
	if want["fids"] || all {
		q.logf("... fid stats...")
		if err := q.db.QueryRowContext(ctx, "SELECT MAX(fid) FROM file").Scan(&st.MaxFID); err != nil {
			return nil, fmt.Errorf("max fid: %w", err)
		}
	}
	if want["general-queues"] || all {
		q.logf("... queue stats...")
		if st.Queues, err = q.generalQueues(ctx); err != nil {
			return nil, err
		}
	}
	q.logf("... done")
	return st, nil
}

func (q *queries) loadNames(ctx context.Context) error {
	q.domains = map[int]string{}
	q.classes = map[int]map[int]string{}
	rows, err := q.db.QueryContext(ctx, "SELECT d.dmid, d.namespace, c.classid, c.classname FROM domain d LEFT JOIN class c ON c.dmid = d.dmid")
	if err != nil {
		return fmt.Errorf("domains and classes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dmid int
		var name string
		var classid sql.NullInt64
		var cname sql.NullString
		if err := rows.Scan(&dmid, &name, &classid, &cname); err != nil {
			return fmt.Errorf("domains and classes: %w", err)
		}
		q.domains[dmid] = name
		if q.classes[dmid] == nil {
			q.classes[dmid] = map[int]string{}
		}
		if classid.Valid && cname.Valid {
			q.classes[dmid][int(classid.Int64)] = cname.String
		}
	}
	return rows.Err()
}

func (q *queries) devices(ctx context.Context) ([]DeviceStat, error) {
	info := map[int][2]string{}
	rows, err := q.db.QueryContext(ctx, "SELECT device.devid, host.hostname, device.status FROM device, host WHERE device.hostid = host.hostid")
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	for rows.Next() {
		var id int
		var host, status sql.NullString
		if err := rows.Scan(&id, &host, &status); err != nil {
			rows.Close()
			return nil, fmt.Errorf("devices: %w", err)
		}
		info[id] = [2]string{host.String, status.String}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	rows, err = q.db.QueryContext(ctx, "SELECT devid, COUNT(devid) FROM file_on GROUP BY devid")
	if err != nil {
		return nil, fmt.Errorf("files per device: %w", err)
	}
	defer rows.Close()
	var out []DeviceStat
	for rows.Next() {
		var d DeviceStat
		if err := rows.Scan(&d.DevID, &d.Files); err != nil {
			return nil, fmt.Errorf("files per device: %w", err)
		}
		d.Host, d.Status = info[d.DevID][0], info[d.DevID][1]
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DevID < out[j].DevID })
	return out, rows.Err()
}

// files counts files per domain and class; sizes only when withSizes.
func (q *queries) files(ctx context.Context, withSizes bool) ([]FileStat, error) {
	query := "SELECT dmid, classid, COUNT(classid), 0, 0 FROM file GROUP BY dmid, classid"
	if withSizes {
		query = "SELECT dmid, classid, COUNT(classid), SUM(length), SUM(length * devcount) FROM file GROUP BY dmid, classid"
	}
	rows, err := q.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	defer rows.Close()
	var out []FileStat
	for rows.Next() {
		var dmid, classid int
		var f FileStat
		var bytes, full sql.NullInt64
		if err := rows.Scan(&dmid, &classid, &f.Files, &bytes, &full); err != nil {
			return nil, fmt.Errorf("files: %w", err)
		}
		f.Domain, f.Class = q.className(dmid, classid)
		f.Bytes, f.FullBytes = bytes.Int64, full.Int64
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].Class < out[j].Class
	})
	return out, rows.Err()
}

func (q *queries) replication(ctx context.Context) ([]ReplStat, error) {
	rows, err := q.db.QueryContext(ctx, "SELECT dmid, classid, devcount, COUNT(devcount) FROM file GROUP BY dmid, classid, devcount")
	if err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	defer rows.Close()
	var out []ReplStat
	for rows.Next() {
		var dmid, classid int
		var r ReplStat
		if err := rows.Scan(&dmid, &classid, &r.DevCount, &r.Files); err != nil {
			return nil, fmt.Errorf("replication: %w", err)
		}
		r.Domain, r.Class = q.className(dmid, classid)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		return a.DevCount < b.DevCount
	})
	return out, rows.Err()
}

// status names a queue row's nexttry: below 1000 a state (0 = newName,
// 1 = redo), end of time = manual, else overdue or deferred.
func status(nexttry, now int64, newName string) string {
	switch {
	case nexttry == 0:
		return newName
	case nexttry == 1:
		return "redo"
	case nexttry < 1000:
		return "unknown"
	case nexttry == endOfTime:
		return "manual"
	case nexttry < now:
		return "overdue"
	}
	return "deferred"
}

func (q *queries) queueStatus(ctx context.Context, query, newName string) (map[string]int64, error) {
	now, err := q.now(ctx)
	if err != nil {
		return nil, fmt.Errorf("database time: %w", err)
	}
	rows, err := q.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var nexttry, n int64
		if err := rows.Scan(&nexttry, &n); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		out[status(nexttry, now, newName)] += n
	}
	return out, rows.Err()
}

func (q *queries) generalQueues(ctx context.Context) (map[string]map[string]int64, error) {
	now, err := q.now(ctx)
	if err != nil {
		return nil, fmt.Errorf("database time: %w", err)
	}
	rows, err := q.db.QueryContext(ctx, "SELECT type, nexttry, COUNT(*) FROM file_to_queue GROUP BY type, nexttry")
	if err != nil {
		return nil, fmt.Errorf("general queues: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var typ int
		var nexttry, n int64
		if err := rows.Scan(&typ, &nexttry, &n); err != nil {
			return nil, fmt.Errorf("general queues: %w", err)
		}
		name := map[int]string{1: "FSCK_QUEUE", 2: "REBAL_QUEUE"}[typ]
		if name == "" {
			name = "UNKNOWN_QUEUE"
		}
		if out[name] == nil {
			out[name] = map[string]int64{}
		}
		// The original compares the queue type, not nexttry, with the
		// clock here, so every row showed as overdue.
		out[name][status(nexttry, now, "new")] += n
	}
	return out, rows.Err()
}
