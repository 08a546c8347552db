package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/fence"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest/galeratest"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// testLockFence (part of TestGalera, on its cluster): a named lock's
// holder whose lease renewals fail stops acting under the lock before
// another tracker can take the lease, and so does a caller whose work runs
// under LockContext; a holder whose lease row was taken stops at its next
// renewal.
func testLockFence(t *testing.T, g *galeratest.Cluster, open func(sqlstore.Config) *sqlstore.Store) {
	ctx := testCtx(t)
	const ttl = 3 * time.Second // deadline 2 s after a take, renewals every 1 s
	cfg := func(i int) sqlstore.Config {
		return sqlstore.Config{DSN: g.DBIDSN(i), User: "root", LockLeaseTTL: ttl}
	}
	a, b := open(cfg(0)), open(cfg(1))
	raw, err := sql.Open("mysql", g.GoDSN(0))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	t.Run("RenewalsFail", func(t *testing.T) {
		const name = "mgfs:fencetest"
		if ok, err := a.Lock(ctx, name, 0); !ok || err != nil {
			t.Fatalf("lock: %v %v", ok, err)
		}
		defer a.Unlock(ctx, name)
		lctx, cancel := a.LockContext(ctx, name)
		defer cancel()
		// Renewals stall: another transaction on the holder's node holds
		// the lease row (as a node that stops answering would).
		block, err := raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer block.Rollback()
		var holder string
		if err := block.QueryRowContext(ctx, "SELECT holder FROM tracker_lock WHERE name = ? FOR UPDATE", name).Scan(&holder); err != nil {
			t.Fatal(err)
		}
		// A caller writes under the lock until its context ends.
		type result struct {
			acked int
			err   error
		}
		done := make(chan result, 1)
		go func() {
			for i := 1; ; i++ {
				if err := a.SetSetting(lctx, "fencetest", strconv.Itoa(i)); err != nil {
					done <- result{i - 1, err}
					return
				}
			}
		}()
		stalled := time.Now()
		select {
		case <-lctx.Done():
		case <-time.After(4 * ttl):
			t.Fatalf("the lock's context did not end %v after renewals stalled", 4*ttl)
		}
		stopped := time.Now()
		// Nobody else may take the lease yet: read its row on another node.
		l, err := b.Lease(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if l.Holder != holder || l.Expires < l.Now {
			t.Errorf("when the holder stopped, the lease was %+v: takeable already (want holder %q, expires >= now)", l, holder)
		}
		if cause := context.Cause(lctx); !errors.Is(cause, fence.ErrLapsed) {
			t.Errorf("cause %v, want ErrLapsed", cause)
		}
		r := <-done
		if !errors.Is(r.err, context.Canceled) || r.acked == 0 {
			t.Errorf("caller: %d writes acknowledged, then %v; want some, then context.Canceled", r.acked, r.err)
		}
		set, err := b.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v := set["fencetest"]; v != strconv.Itoa(r.acked) && v != strconv.Itoa(r.acked+1) {
			t.Errorf("setting is %q after the caller stopped at %d", v, r.acked)
		}
		if err := a.SetSetting(lctx, "fencetest", "late"); err == nil {
			t.Error("a write under the ended lock context succeeded")
		}
		block.Rollback()
		// The other tracker gets the lock once the lease has expired.
		if ok, err := b.Lock(ctx, name, int(4*ttl/time.Second)); !ok || err != nil {
			t.Fatalf("other tracker's lock: %v %v", ok, err)
		}
		t.Logf("FIGURE lease %v: holder stopped %v after its renewals stalled; the other tracker had the lock %v after that",
			ttl, stopped.Sub(stalled).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
		l2, err := b.Lease(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if l2.Holder == holder || l2.Now <= l.Expires {
			t.Errorf("lease after takeover %+v: taken before the old one (expires %d) lapsed", l2, l.Expires)
		}
		b.Unlock(ctx, name)
	})

	t.Run("RowTaken", func(t *testing.T) {
		const name = "mgfs:fencetest2"
		if ok, err := a.Lock(ctx, name, 0); !ok || err != nil {
			t.Fatalf("lock: %v %v", ok, err)
		}
		lctx, cancel := a.LockContext(ctx, name)
		defer cancel()
		if _, err := raw.ExecContext(ctx, "UPDATE tracker_lock SET holder = 'thief:1:1' WHERE name = ?", name); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lctx.Done():
		case <-time.After(2 * ttl):
			t.Fatalf("the lock's context did not end %v after its row was taken", 2*ttl)
		}
		if cause := context.Cause(lctx); cause == nil || !strings.Contains(cause.Error(), "lost") {
			t.Errorf("cause %v, want the lease lost", cause)
		}
		if err := a.Unlock(ctx, name); err != nil {
			t.Fatal(err)
		}
		if l, err := b.Lease(ctx, name); err != nil || l.Holder != "thief:1:1" {
			t.Errorf("after unlock the row is %+v, %v: the other holder's row must stay", l, err)
		}
	})
}

// TestLockContext: on SQLite (no lease) a held lock's context lives as
// long as its parent; a lock not held gives an ended context.
func TestLockContext(t *testing.T) {
	ctx := testCtx(t)
	s := setupOpen(t, sqlstore.Config{DSN: mogtest.SQLiteDSN(t)})
	c, cancel := s.LockContext(ctx, "mgfs:notheld")
	defer cancel()
	if c.Err() == nil {
		t.Error("context of a lock not held is live")
	}
	if ok, err := s.Lock(ctx, "mgfs:held", 0); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	c2, cancel2 := s.LockContext(ctx, "mgfs:held")
	if c2.Err() != nil {
		t.Errorf("context of a held lock ended: %v", context.Cause(c2))
	}
	cancel2()
	if c2.Err() == nil {
		t.Error("cancel did not end it")
	}
	s.Unlock(ctx, "mgfs:held")
}
