package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Named locks on Galera.
//
// The original takes its named locks (mgfs:device_update, mgfs:reaper,
// mgfs:fid:<fid>:replicate, …) with GET_LOCK, which a Galera node keeps to
// itself: two trackers on two nodes would both hold the same lock. On a
// Galera node a lock therefore also needs a lease: a row of tracker_lock
// (a table of our own; the original's schema is unchanged), taken in a
// transaction. Two nodes that take the same row at once conflict at
// certification; one commit fails with 1213 and, retried, sees the row of
// the other. The holder renews the lease while it holds the lock; a
// tracker that dies leaves a lease that expires after leaseTTL. GET_LOCK
// is still taken first, so original trackers on the same node keep
// excluding ours as before.
//
// The lease's clock is the database node's UNIX_TIMESTAMP(): Galera nodes
// must keep their clocks in step (NTP), as Galera itself expects.

// leaseTTL is how long a lease outlives its last renewal.
const leaseTTL = 30

const createLockTable = `CREATE TABLE IF NOT EXISTS tracker_lock (
	name VARBINARY(255) NOT NULL PRIMARY KEY,
	holder VARBINARY(255) NOT NULL,
	expires INT UNSIGNED NOT NULL
) ENGINE=InnoDB`

// holderID names this store in lease rows.
func (s *Store) holderID() string {
	return s.hostname + ":" + strconv.Itoa(s.pid) + ":" + s.nonce
}

// lease takes the lease row of name, waiting up to timeout seconds, and
// starts renewing it.
func (d *mysqlDialect) lease(ctx context.Context, s *Store, name string, timeout int) (bool, error) {
	d.mu.Lock()
	made := d.leaseTable
	d.mu.Unlock()
	if !made {
		if _, err := s.wdb.ExecContext(ctx, createLockTable); err != nil {
			return false, fmt.Errorf("creating tracker_lock for Galera locks: %w", err)
		}
		d.mu.Lock()
		d.leaseTable = true
		d.mu.Unlock()
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for {
		got, err := d.tryLease(ctx, s, name)
		if err != nil || got {
			if got {
				stop := make(chan struct{})
				d.mu.Lock()
				d.leases[name] = stop
				d.mu.Unlock()
				go d.renew(s, name, stop)
			}
			return got, err
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50*time.Millisecond + rand.N(100*time.Millisecond)):
		}
	}
}

// tryLease takes the row when it is free, expired or already ours.
// Assignments of ON DUPLICATE KEY UPDATE run left to right: expires is
// renewed only when holder is (now) us.
func (d *mysqlDialect) tryLease(ctx context.Context, s *Store, name string) (bool, error) {
	me := s.holderID()
	var holder string
	err := s.write(ctx, func(r *runner) error {
		if _, err := r.exec(`INSERT INTO tracker_lock (name, holder, expires) VALUES (?, ?, UNIX_TIMESTAMP() + ?)
			ON DUPLICATE KEY UPDATE
				holder = IF(expires < UNIX_TIMESTAMP() OR holder = VALUES(holder), VALUES(holder), holder),
				expires = IF(holder = VALUES(holder), VALUES(expires), expires)`, name, me, leaseTTL); err != nil {
			return err
		}
		return r.queryRow("SELECT holder FROM tracker_lock WHERE name = ?", name).Scan(&holder)
	})
	if err != nil {
		return false, err
	}
	return holder == me, nil
}

// renew extends a held lease every third of its lifetime until unlease.
func (d *mysqlDialect) renew(s *Store, name string, stop <-chan struct{}) {
	t := time.NewTicker(leaseTTL * time.Second / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseTTL*time.Second/3)
		res, err := s.wdb.ExecContext(ctx, "UPDATE tracker_lock SET expires = UNIX_TIMESTAMP() + ? WHERE name = ? AND holder = ?",
			leaseTTL, name, s.holderID())
		cancel()
		if err != nil {
			s.log.Warn("sqlstore: renewing lock lease", "lock", name, "err", err)
			continue
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// MySQL counts a row whose values did not change as
			// unaffected, so only a row that is gone or another's
			// says the lease was lost.
			var holder string
			if err := s.wdb.QueryRow("SELECT holder FROM tracker_lock WHERE name = ?", name).Scan(&holder); err != nil || holder != s.holderID() {
				s.log.Error("sqlstore: lock lease lost (another tracker may hold it)", "lock", name)
			}
		}
	}
}

// unlease stops renewing and deletes the lease row if it is still ours.
func (d *mysqlDialect) unlease(ctx context.Context, s *Store, name string) {
	d.mu.Lock()
	stop := d.leases[name]
	delete(d.leases, name)
	d.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	if err := s.write(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM tracker_lock WHERE name = ? AND holder = ?", name, s.holderID())
		return err
	}); err != nil {
		s.log.Warn("sqlstore: releasing lock lease (it expires by itself)", "lock", name, "err", err)
	}
}
