package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// On MySQL every statement is a network round trip, and round trips, not
// the statements themselves, are most of an upload's cost to the tracker
// and to mysqld. The upload path therefore sends its statements in
// batches over a pool of its own whose connections allow several
// statements per request (multiStatements; parameters are still escaped
// client side by interpolateParams). The statements are the ones the
// generic code runs, in the same order and in the same transaction; only
// their packing differs. Anything unusual (a duplicate key, a fid behind
// the file table) is handed to the generic code, which handles it as
// before.

// openMultiPool opens the pool for batched statements.
func openMultiPool(sv *servers, cfgs []*mysql.Config) (*sql.DB, error) {
	multi := make([]*mysql.Config, len(cfgs))
	for i, cfg := range cfgs {
		multi[i] = cfg.Clone()
		multi[i].MultiStatements = true
	}
	conn, err := sv.connector(multi)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

// errFallback sends a batched operation to the generic code.
var errFallback = errors.New("sqlstore: use the generic path")

// multiDB is the batching pool, or nil (SQLite).
func (s *Store) multiDB() *sql.DB {
	if d, ok := s.d.(*mysqlDialect); ok {
		return d.multi
	}
	return nil
}

// firstRow scans the first row of the first result set that has one.
func firstRow(rows *sql.Rows, dest ...any) error {
	defer rows.Close()
	for !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		if !rows.NextResultSet() {
			if err := rows.Err(); err != nil {
				return err
			}
			return errors.New("sqlstore: batched query returned no row")
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// registerTempfileMySQL is RegisterTempfile's common case, an
// auto-increment fid, in one round trip: the insert and the check that
// the new fid is not in the file table.
func (s *Store) registerTempfileMySQL(ctx context.Context, db *sql.DB, t store.Tempfile, devids string) (int64, error) {
	var fid int64
	err := s.retry(ctx, func() error {
		var inFile bool
		rows, err := db.QueryContext(ctx, "INSERT INTO tempfile (dmid, dkey, classid, devids, createtime) VALUES (?, ?, ?, ?, UNIX_TIMESTAMP()); "+
			"SELECT LAST_INSERT_ID(), EXISTS(SELECT 1 FROM file WHERE fid = LAST_INSERT_ID())",
			t.DomainID, t.Key, t.ClassID, devids)
		if err != nil {
			return err
		}
		if err := firstRow(rows, &fid, &inFile); err != nil {
			return err
		}
		if fid <= 0 {
			return fmt.Errorf("database returned fid %d", fid)
		}
		if inFile || fid <= s.minFID {
			// The counter is behind the file table: drop the row and
			// let the generic code move the counter on.
			if _, err := db.ExecContext(ctx, "DELETE FROM tempfile WHERE fid = ?", fid); err != nil {
				return err
			}
			return errFallback
		}
		return nil
	})
	return fid, err
}

// commitFileMySQL is CommitFile in two round trips: the tempfile row's
// delete with the key lookup, then the inserts with the commit.
func (s *Store) commitFileMySQL(ctx context.Context, db *sql.DB, f store.CloseFile) (int64, error) {
	var replaced int64
	err := s.batchedTx(ctx, db, func(conn *sql.Conn) error {
		replaced = 0
		var deleted int64
		var old sql.NullInt64
		var named sql.NullString
		// mogfs_name is read only for mogfs_create_close (the table may
		// not exist otherwise).
		first := "START TRANSACTION; DELETE FROM tempfile WHERE fid = ?; " +
			"SELECT ROW_COUNT(), (SELECT fid FROM file WHERE dmid = ? AND dkey = ?), NULL"
		firstArgs := []any{f.FID, f.DomainID, f.Key}
		if f.ResolveNames {
			first = strings.TrimSuffix(first, "NULL") + "(SELECT dkey FROM mogfs_name WHERE dmid = ? AND hash = ?)"
			firstArgs = append(firstArgs, f.DomainID, nameHash(f.Key))
		}
		rows, err := conn.QueryContext(ctx, first, firstArgs...)
		if err != nil {
			return err
		}
		if err := firstRow(rows, &deleted, &old, &named); err != nil {
			return err
		}
		if named.Valid {
			return errFallback // a hard link: the generic code writes its file
		}
		if deleted == 0 {
			return store.ErrNotFound
		}
		if old.Valid && old.Int64 == f.FID {
			return store.ErrFIDExists
		}
		var q strings.Builder
		var args []any
		if old.Valid {
			q.WriteString("DELETE FROM file WHERE fid = ?; INSERT IGNORE INTO file_to_delete2 (fid, nexttry) VALUES (?, UNIX_TIMESTAMP()); ")
			args = append(args, old.Int64, old.Int64)
		}
		q.WriteString("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, ?, ?, 1); " +
			"INSERT IGNORE INTO file_on (fid, devid) VALUES (?, ?); ")
		args = append(args, f.FID, f.DomainID, f.Key, f.Length, f.ClassID, f.FID, f.DevID)
		if f.Checksum != nil {
			q.WriteString("REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?); ")
			args = append(args, f.FID, int(f.Checksum.HashType), f.Checksum.Sum)
		}
		if f.Attr != nil {
			q.WriteString(replaceMogfsAttr + "; ")
			args = append(args, mogfsAttrValues(f.FID, *f.Attr)...)
		}
		if f.S3 != nil {
			q.WriteString(replaceS3Meta + "; ")
			args = append(args, f.FID, f.S3.ETag, []byte(f.S3.Headers))
		}
		if f.Replicated {
			q.WriteString("COMMIT")
		} else {
			q.WriteString("INSERT IGNORE INTO file_to_replicate (fid, nexttry) VALUES (?, 0); COMMIT")
			args = append(args, f.FID)
		}
		if _, err := conn.ExecContext(ctx, q.String(), args...); err != nil {
			if s.dup(err) {
				return errFallback // a race on the key or the fid: the generic code settles it
			}
			return err
		}
		if old.Valid {
			replaced = old.Int64
		}
		return nil
	})
	return replaced, err
}

// batchedTx runs fn on one connection of db, retried as s.retry retries:
// fn sends a transaction as batched requests, the first starting it and
// the last ending with COMMIT, and returns nil only when that COMMIT
// succeeded; on any error the transaction it left open is rolled back.
func (s *Store) batchedTx(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn) error) error {
	return s.retry(ctx, func() error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := fn(conn); err != nil {
			rollback(conn)
			return err
		}
		return nil
	})
}

// rollback ends the transaction a batched request left open; a
// connection that cannot is closed instead of going back to the pool.
func rollback(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// commitTxMySQL is one attempt at a fastpath_commit batch (commitTx) in
// two round trips on one connection of the batching pool: the
// transaction's start with its three reads (tempfile rows, locked; file
// rows by fid; file rows by key, locked, of the items whose tempfile row
// is there), then every write with the COMMIT. The
// decisions between them are commitTx's (commitStatuses, commitWrites).
// A failed statement ends the request there; the transaction is then
// rolled back and the error returned as is, so that a duplicate key
// reaches CommitFiles' item-by-item retry.
func (s *Store) commitTxMySQL(ctx context.Context, db *sql.DB, items []store.FastCommit) ([]store.CommitResult, error) {
	var out []store.CommitResult
	err := s.batchedTx(ctx, db, func(conn *sql.Conn) error {
		temps, byFID, old, err := s.commitReadsMySQL(ctx, conn, items)
		if err != nil {
			return err
		}
		// Items with mogfs attributes have their key's name row read
		// on conn, one request each (commitStatuses).
		var commit []int
		out, commit, err = commitStatuses(&runner{ctx: ctx, ex: conn, cache: s.wcache}, items, temps, byFID)
		if err != nil {
			return err
		}
		var q strings.Builder
		var args []any
		if len(commit) > 0 {
			for _, st := range commitWrites(items, commit, byFID, old, out).statements() {
				q.WriteString(s.d.replacer().Replace(st.tmpl))
				q.WriteString("; ")
				args = append(args, st.args...)
			}
		}
		q.WriteString("COMMIT")
		_, err = conn.ExecContext(ctx, q.String(), args...)
		return err
	})
	return out, err
}

// commitReadsMySQL starts a READ COMMITTED transaction on conn and runs
// commitTx's reads in the same request.
func (s *Store) commitReadsMySQL(ctx context.Context, conn *sql.Conn, items []store.FastCommit) (map[int64][]int, map[int64]fileRow, map[int]int64, error) {
	fids := itemFIDs(items)
	q := "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION; " +
		s.d.replacer().Replace(tempDevidsQuery(len(fids))) + "; " +
		fileByFIDQuery(len(fids)) + "; " +
		ownedKeyFIDsQuery(len(items))
	args := make([]any, 0, 2*len(fids)+4*len(items))
	args = append(args, fids...)
	args = append(args, fids...)
	for i, it := range items {
		args = append(args, i, it.FID, it.DomainID, it.Key)
	}
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	temps, err := scanTempDevids(rows)
	if err != nil {
		return nil, nil, nil, err
	}
	if !rows.NextResultSet() {
		return nil, nil, nil, resultSetMissing(rows, "file rows by fid")
	}
	byFID, err := scanFileRows(rows)
	if err != nil {
		return nil, nil, nil, err
	}
	if !rows.NextResultSet() {
		return nil, nil, nil, resultSetMissing(rows, "file rows by key")
	}
	old, err := scanKeyFIDs(rows)
	if err != nil {
		return nil, nil, nil, err
	}
	return temps, byFID, old, rows.Close()
}

// ownedKeyFIDsQuery is keyFIDsQuery for the items of a batch (i, fid,
// dmid, dkey) whose tempfile row is still there, as commitTx reads and
// locks the keys of the items it writes only: a batch sent again, whose
// rows are gone, locks no key that a later batch of the same keys
// writes. (It locks its own tempfile rows again, which it holds.)
// STRAIGHT_JOIN keeps the join order v, tempfile, file: each row of the
// other tables is found by its key, so the locking read never scans, and
// so never locks, another batch's rows (on small tables the optimizer
// would otherwise scan tempfile).
func ownedKeyFIDsQuery(n int) string {
	return "SELECT STRAIGHT_JOIN v.i, f.fid FROM " + valuesTable(n, "i", "fid", "dmid", "dkey") +
		" JOIN tempfile t ON t.fid = v.fid JOIN file f ON f.dmid = v.dmid AND f.dkey = v.dkey FOR UPDATE"
}

// resultSetMissing is the error of a batched request whose next result
// set did not come: the statement's own error, if any.
func resultSetMissing(rows *sql.Rows, what string) error {
	if err := rows.Err(); err != nil {
		return err
	}
	return fmt.Errorf("sqlstore: batched query returned no result set for the %s", what)
}

// leaseOnceMySQL is leaseOnce in two round trips on one connection of the
// batching pool: the transaction's start, the insert, the read-back and
// the marker's clearing in one request (LAST_INSERT_ID() is the first
// row's fid, a bound below every fid of the lease), then the COMMIT, or
// a ROLLBACK when a fid is already a file's.
func (s *Store) leaseOnceMySQL(ctx context.Context, db *sql.DB, devids string, count int) ([]int64, int64, error) {
	marker := "_fastpath_lease " + s.nonce + " " + strconv.FormatUint(leaseSeq.Add(1), 10)
	var fids []int64
	var created int64
	err := s.batchedTx(ctx, db, func(conn *sql.Conn) error {
		fids, created = fids[:0], 0
		var q strings.Builder
		q.WriteString("SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION; " +
			"INSERT INTO tempfile (dmid, dkey, classid, devids, createtime) VALUES ")
		args := make([]any, 0, 2*count+2)
		for i := 0; i < count; i++ {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(0, ?, 0, ?, UNIX_TIMESTAMP())")
			args = append(args, marker, devids)
		}
		q.WriteString("; SELECT t.fid, t.createtime, f.fid IS NOT NULL FROM tempfile t LEFT JOIN file f ON f.fid = t.fid " +
			"WHERE t.fid >= LAST_INSERT_ID() AND t.dkey = ? ORDER BY t.fid; " +
			"UPDATE tempfile SET dkey = NULL WHERE fid >= LAST_INSERT_ID() AND dkey = ?")
		args = append(args, marker, marker)
		var err error
		fids, created, err = runLease(ctx, conn, q.String(), args, count, s.minFID)
		if err != nil {
			return err // a clash is rolled back by batchedTx
		}
		_, err = conn.ExecContext(ctx, "COMMIT")
		return err
	})
	return fids, created, err
}

// runLease sends leaseOnceMySQL's request and reads its result: the
// lease's rows (readLease), then the outcome of the marker's UPDATE.
func runLease(ctx context.Context, conn *sql.Conn, q string, args []any, count int, minFID int64) ([]int64, int64, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	fids, created, err := readLease(rows, count, minFID)
	if err != nil {
		return nil, 0, err
	}
	// The UPDATE's outcome: its error, if any, ends the request here.
	if rows.NextResultSet() {
		return nil, 0, errors.New("sqlstore: lease request returned an extra result set")
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	return fids, created, rows.Close()
}
