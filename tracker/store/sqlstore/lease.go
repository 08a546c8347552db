package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Leases (store.Store's TakeLease and ReleaseLease) are rows of
// tracker_lock, the table the Galera named locks use (galera.go), on
// every backend: a row names its holder and its expiry in UNIX seconds of
// the database's clock, and is taken or renewed in one transaction. On
// Galera two nodes taking the same row at once conflict at certification
// and the retried loser sees the winner's row; on one MariaDB or SQLite
// the row lock orders them. Unlike GET_LOCK, which the server drops the
// moment the holder's connection breaks without the holder knowing, a
// lease lasts until its expiry whatever happens to connections: its
// holder knows how long it has.

const createLeaseTableSQLite = `CREATE TABLE IF NOT EXISTS tracker_lock (
	name TEXT NOT NULL PRIMARY KEY,
	holder TEXT NOT NULL,
	expires INTEGER NOT NULL
)`

// takeLeaseMySQL: assignments of ON DUPLICATE KEY UPDATE run left to
// right, so expires is renewed only when holder is (now) the caller.
const takeLeaseMySQL = `INSERT INTO tracker_lock (name, holder, expires) VALUES (?, ?, UNIX_TIMESTAMP() + ?)
	ON DUPLICATE KEY UPDATE
		holder = IF(expires < UNIX_TIMESTAMP() OR holder = VALUES(holder), VALUES(holder), holder),
		expires = IF(holder = VALUES(holder), VALUES(expires), expires)`

// takeLeaseSQLite: the SET expressions all see the row as it was.
const takeLeaseSQLite = `INSERT INTO tracker_lock (name, holder, expires) VALUES (?, ?, {now} + ?)
	ON CONFLICT(name) DO UPDATE SET
		holder = CASE WHEN expires < {now} OR holder = excluded.holder THEN excluded.holder ELSE holder END,
		expires = CASE WHEN expires < {now} OR holder = excluded.holder THEN excluded.expires ELSE expires END`

// leaseTable creates tracker_lock if this store has not seen it yet.
func (s *Store) leaseTable(ctx context.Context) error {
	if s.leaseReady.Load() {
		return nil
	}
	var err error
	if s.target.Backend == MySQL {
		// DDL commits implicitly: not inside a write transaction.
		_, err = s.wdb.ExecContext(ctx, createLockTable)
	} else {
		err = s.write(ctx, func(r *runner) error {
			_, err := r.execDynamic(createLeaseTableSQLite)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("create tracker_lock: %w", err)
	}
	s.leaseReady.Store(true)
	return nil
}

// TakeLease takes or renews the lease name for holder for ttl seconds,
// unless another holder's lease has not expired; it returns the row as it
// is after the attempt.
func (s *Store) TakeLease(ctx context.Context, name, holder string, ttl int) (store.Lease, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return store.Lease{}, errors.New("sqlstore: take lease: name, holder and a positive ttl are required")
	}
	if err := s.leaseTable(ctx); err != nil {
		return store.Lease{}, fmt.Errorf("sqlstore: take lease %q: %w", name, err)
	}
	stmt := takeLeaseSQLite
	if s.target.Backend == MySQL {
		stmt = takeLeaseMySQL
	}
	var l store.Lease
	err := s.write(ctx, func(r *runner) error {
		if s.target.Backend == SQLite {
			if err := s.dropDeadLease(r, name, holder); err != nil {
				return err
			}
		}
		if _, err := r.exec(stmt, name, holder, ttl); err != nil {
			return err
		}
		return r.queryRow("SELECT holder, expires, {now} FROM tracker_lock WHERE name = ?", name).Scan(&l.Holder, &l.Expires, &l.Now)
	})
	if err != nil {
		return store.Lease{}, fmt.Errorf("sqlstore: take lease %q: %w", name, err)
	}
	return l, nil
}

// dropDeadLease frees, on SQLite, a lease whose holder reads
// "host:pid:…" with this store's host name and a pid that no longer runs,
// as the lock table's stale rows are freed (dialect_sqlite.go): every
// tracker on an SQLite file runs on its machine, so a tracker restarted
// after a crash need not wait for its own old lease to expire.
func (s *Store) dropDeadLease(r *runner, name, holder string) error {
	var cur string
	err := r.queryRow("SELECT holder FROM tracker_lock WHERE name = ?", name).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	parts := strings.Split(cur, ":")
	if cur == holder || len(parts) < 3 || strings.Join(parts[:len(parts)-2], ":") != s.hostname {
		return nil
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil || pid == s.pid || processAlive(pid) {
		return nil
	}
	_, err = r.exec("DELETE FROM tracker_lock WHERE name = ? AND holder = ?", name, cur)
	return err
}

// ReleaseLease deletes the lease row of name if holder still holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := s.leaseTable(ctx); err != nil {
		return fmt.Errorf("sqlstore: release lease %q: %w", name, err)
	}
	err := s.write(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM tracker_lock WHERE name = ? AND holder = ?", name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: release lease %q: %w", name, err)
	}
	return nil
}

// Lease reads the lease row of name as it is (an empty Holder when there
// is none), for tools and tests; it takes nothing.
func (s *Store) Lease(ctx context.Context, name string) (store.Lease, error) {
	if err := s.leaseTable(ctx); err != nil {
		return store.Lease{}, fmt.Errorf("sqlstore: read lease %q: %w", name, err)
	}
	var l store.Lease
	err := s.read(ctx, func(r *runner) error {
		err := r.queryRow("SELECT holder, expires, {now} FROM tracker_lock WHERE name = ?", name).Scan(&l.Holder, &l.Expires, &l.Now)
		if errors.Is(err, sql.ErrNoRows) {
			l = store.Lease{}
			return r.queryRow("SELECT {now}").Scan(&l.Now)
		}
		return err
	})
	if err != nil {
		return store.Lease{}, fmt.Errorf("sqlstore: read lease %q: %w", name, err)
	}
	return l, nil
}
