package sqlstore_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// Two stores on one database (SQLite file, MariaDB) share a lease: the
// holder renews it, the other gets it only once the database's clock has
// passed its expiry, the old holder cannot take it back meanwhile, and a
// released lease is free at once.
func TestLeaseTwoStores(t *testing.T) {
	for name, cfg := range map[string]func(*testing.T) sqlstore.Config{"sqlite": sqliteConfig, "mariadb": mysqlConfig} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testLeaseTwoStores(t, cfg(t))
		})
	}
}

func testLeaseTwoStores(t *testing.T, cfg sqlstore.Config) {
	ctx := testCtx(t)
	a := setupOpen(t, cfg)
	b, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	const name, ttl = "mgfs:job_master", 2

	if l, err := a.Lease(ctx, name); err != nil || l.Holder != "" || l.Now == 0 {
		t.Fatalf("lease before anyone took it: %+v %v", l, err)
	}
	la, err := a.TakeLease(ctx, name, "A", ttl)
	if err != nil || la.Holder != "A" || la.Expires < la.Now+ttl {
		t.Fatalf("A takes a free lease: %+v %v", la, err)
	}
	lb, err := b.TakeLease(ctx, name, "B", ttl)
	if err != nil || lb.Holder != "A" || lb.Expires != la.Expires {
		t.Fatalf("B tries A's live lease: %+v %v (A's: %+v)", lb, err, la)
	}
	if la, err = a.TakeLease(ctx, name, "A", ttl); err != nil || la.Holder != "A" {
		t.Fatalf("A renews: %+v %v", la, err)
	}
	// B polls until it gets the lease: only after A's expiry.
	deadline := time.Now().Add(time.Duration(ttl+3) * time.Second)
	for {
		lb, err = b.TakeLease(ctx, name, "B", ttl)
		if err != nil {
			t.Fatal(err)
		}
		if lb.Holder == "B" {
			break
		}
		if lb.Now > la.Expires {
			t.Fatalf("B refused at database time %d, after A's lease ended at %d: %+v", lb.Now, la.Expires, lb)
		}
		if time.Now().After(deadline) {
			t.Fatalf("B never got the lease A stopped renewing: %+v", lb)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lb.Now <= la.Expires {
		t.Fatalf("B got the lease at database time %d, A's ran to %d", lb.Now, la.Expires)
	}
	if l, err := a.TakeLease(ctx, name, "A", ttl); err != nil || l.Holder != "B" {
		t.Fatalf("A tries to renew the lease B now holds: %+v %v", l, err)
	}
	if err := a.ReleaseLease(ctx, name, "A"); err != nil {
		t.Fatal(err)
	}
	if l, err := a.Lease(ctx, name); err != nil || l.Holder != "B" {
		t.Fatalf("A's release of B's lease changed it: %+v %v", l, err)
	}
	if err := b.ReleaseLease(ctx, name, "B"); err != nil {
		t.Fatal(err)
	}
	if l, err := a.TakeLease(ctx, name, "A", ttl); err != nil || l.Holder != "A" {
		t.Fatalf("A takes the lease B released: %+v %v", l, err)
	}
}

// On SQLite a lease held by a process of this host that is gone is free
// at once; one of a live process, or of another host, is not.
func TestSQLiteDeadHolderLease(t *testing.T) {
	ctx := testCtx(t)
	cfg := sqliteConfig(t)
	cfg.Hostname = "trackerA"
	s := setupOpen(t, cfg)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("trackerA:%d:0001", cmd.Process.Pid)
	for _, tc := range []struct {
		holder string
		free   bool
	}{
		{dead, true},
		{fmt.Sprintf("trackerA:%d:0002", os.Getppid()), false},
		{fmt.Sprintf("elsewhere:%d:0003", cmd.Process.Pid), false},
	} {
		if l, err := s.TakeLease(ctx, "x", tc.holder, 60); err != nil || l.Holder != tc.holder {
			t.Fatalf("take as %s: %+v %v", tc.holder, l, err)
		}
		l, err := s.TakeLease(ctx, "x", "trackerA:1:new", 60)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Holder == "trackerA:1:new"; got != tc.free {
			t.Errorf("lease of %s: taken by another %v, want %v", tc.holder, got, tc.free)
		}
		s.ReleaseLease(ctx, "x", l.Holder)
	}
}
