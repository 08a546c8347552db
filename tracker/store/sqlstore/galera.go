package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/fence"
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
// A holder that cannot renew (its node gone, a partition) must stop before
// another tracker can take the row. Each held lease has a fence (package
// fence, the job master's too): a context that ends at the send time of
// the last good take or renewal + leaseTTL − margin, 5 s before the row
// could expire. LockContext hands it to the lock's users, which run their
// work under it.
//
// The lease's clock is the database node's UNIX_TIMESTAMP(): Galera nodes
// must keep their clocks in step (NTP), as Galera itself expects.

// leaseTTL is how long a lease outlives its last renewal, in seconds, by
// default (Config.LockLeaseTTL).
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

// lockTimes are the timings of the Galera locks' leases: by default
// renewed every 10 s, the holder's deadline 25 s after it sent its last
// good take or renewal.
func (s *Store) lockTimes() fence.Times {
	return fence.NewTimes(cmp.Or(s.cfg.LockLeaseTTL, leaseTTL*time.Second))
}

// errLeaseLost ends a lock's fence when its row is found gone or another's.
var errLeaseLost = errors.New("lock lease lost: its row is gone or another tracker's")

// lease takes the lease row of name, waiting up to timeout seconds, and
// starts renewing it; the lock's fence (LockContext) ends at the holder's
// deadline unless a renewal moves it.
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
		sent := time.Now()
		got, err := d.tryLease(ctx, s, name)
		if err != nil && d.retryable(err) && ctx.Err() == nil {
			// Still losing certification (or the node refusing) after
			// the write's own retries: other nodes are taking the row
			// this moment, and none of these attempts was applied. Not
			// taken, as when the row is another's.
			got, err = false, nil
		}
		if err != nil || got {
			if got {
				f := fence.New(context.Background(), s.lockTimes().Deadline(sent))
				d.mu.Lock()
				d.leases[name] = f
				d.mu.Unlock()
				go d.renew(s, name, f)
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
				expires = IF(holder = VALUES(holder), VALUES(expires), expires)`, name, me, int(s.lockTimes().TTL/time.Second)); err != nil {
			return err
		}
		return r.queryRow("SELECT holder FROM tracker_lock WHERE name = ?", name).Scan(&holder)
	})
	if err != nil {
		return false, err
	}
	return holder == me, nil
}

// renew extends a held lease every lockTimes.Renew (every Retry after a
// failure) and moves its fence, until the fence ends: released (unlease),
// lost, or not renewed before the holder's deadline.
func (d *mysqlDialect) renew(s *Store, name string, f *fence.Fence) {
	lockTimes := s.lockTimes()
	fctx := f.Context()
	wait := lockTimes.Renew
	for {
		t := time.NewTimer(wait)
		select {
		case <-fctx.Done():
			t.Stop()
			if cause := context.Cause(fctx); !errors.Is(cause, fence.ErrReleased) {
				s.log.Error("sqlstore: lock lease may pass to another tracker: work under the lock stops",
					"lock", name, "reason", cause, "deadline", f.Deadline().UTC().Format(time.RFC3339Nano))
			}
			return
		case <-t.C:
		}
		sent := time.Now()
		// A renewal may not outlast the deadline (fctx ends there).
		ctx, cancel := context.WithTimeout(fctx, lockTimes.Renew)
		ours, err := d.renewOnce(ctx, s, name)
		cancel()
		switch {
		case err != nil:
			if fctx.Err() == nil {
				s.log.Warn("sqlstore: renewing lock lease", "lock", name, "err", err,
					"acts_until", f.Deadline().UTC().Format(time.RFC3339Nano))
			}
			wait = lockTimes.Retry
		case !ours:
			f.Stop(errLeaseLost)
		default:
			f.Extend(lockTimes.Deadline(sent))
			wait = lockTimes.Renew
		}
	}
}

// renewOnce extends the lease row of name and reports whether it is
// still this store's.
func (d *mysqlDialect) renewOnce(ctx context.Context, s *Store, name string) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, "UPDATE tracker_lock SET expires = UNIX_TIMESTAMP() + ? WHERE name = ? AND holder = ?",
		int(s.lockTimes().TTL/time.Second), name, s.holderID())
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	// MySQL counts a row whose values did not change as unaffected, so
	// only a row that is gone or another's says the lease was lost.
	var holder string
	err = s.wdb.QueryRowContext(ctx, "SELECT holder FROM tracker_lock WHERE name = ?", name).Scan(&holder)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return holder == s.holderID(), nil
}

// unlease ends the lock's fence, which stops the renewals, and deletes the
// lease row if it is still ours.
func (d *mysqlDialect) unlease(ctx context.Context, s *Store, name string) {
	d.mu.Lock()
	f := d.leases[name]
	delete(d.leases, name)
	d.mu.Unlock()
	if f != nil {
		f.Stop(nil)
	}
	if err := s.write(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM tracker_lock WHERE name = ? AND holder = ?", name, s.holderID())
		return err
	}); err != nil {
		s.log.Warn("sqlstore: releasing lock lease (it expires by itself)", "lock", name, "err", err)
	}
}

// errNotHeld is the cause of a LockContext of a lock this store does not
// hold.
var errNotHeld = errors.New("lock not held by this tracker")

// LockContext returns a context derived from ctx that also ends when this
// store stops holding the named lock for certain: on Galera when the
// lock's lease was not renewed before the holder's deadline (fence), was
// found lost, or the lock is released; at once when the lock is not held.
// On a single MariaDB and on SQLite a held lock has no lease to lapse, and
// the context ends only with ctx (or at once when the lock is not held).
// context.Cause tells why it ended. The caller must call cancel.
func (s *Store) LockContext(ctx context.Context, name string) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(ctx)
	done := func() { cancel(context.Canceled) }
	var f *fence.Fence
	held := false
	switch d := s.d.(type) {
	case *mysqlDialect:
		d.mu.Lock()
		held, f = d.held[name] != nil, d.leases[name]
		d.mu.Unlock()
		if d.galera && f == nil {
			held = false
		}
	case *sqliteDialect:
		d.mu.Lock()
		held = d.held[name]
		d.mu.Unlock()
	}
	if !held {
		cancel(errNotHeld)
		return c, done
	}
	if f != nil {
		fctx := f.Context()
		stop := context.AfterFunc(fctx, func() { cancel(fmt.Errorf("lock %q: %w", name, context.Cause(fctx))) })
		return c, func() { stop(); done() }
	}
	return c, done
}
