package sqlstore_test

import (
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest/galeratest"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestGalera runs on one 3-node Galera cluster: named locks are exclusive
// across nodes (GET_LOCK alone is not: each node keeps its own), and a
// store given the nodes in order fails over when its node dies and
// returns to it when it is back.
func TestGalera(t *testing.T) {
	g := galeratest.Start(t, 3)
	cfg := func(order ...int) sqlstore.Config {
		c := sqlstore.Config{DSN: g.DBIDSN(order[0]), User: "root"}
		for _, i := range order[1:] {
			c.Failover = append(c.Failover, g.DBIDSN(i))
		}
		return c
	}
	ctx := testCtx(t)
	if err := sqlstore.Setup(ctx, cfg(0), sqlstore.SetupOptions{}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	open := func(c sqlstore.Config) *sqlstore.Store {
		s, err := sqlstore.Open(ctx, c)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("GetLockIsNodeLocal", func(t *testing.T) {
		// Why leases are needed: the same GET_LOCK is granted on two nodes.
		got := 0
		for i := 0; i < 2; i++ {
			db, err := sql.Open("mysql", g.GoDSN(i))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			var ok int
			if err := db.QueryRow("SELECT GET_LOCK('galeratest', 0)").Scan(&ok); err != nil {
				t.Fatal(err)
			}
			got += ok
		}
		if got != 2 {
			t.Errorf("GET_LOCK granted on %d of 2 nodes: no longer node-local? (docs/galera.md says it is)", got)
		}
	})
	t.Run("LocksAcrossNodes", func(t *testing.T) {
		a, b := open(cfg(0)), open(cfg(1))
		if ok, err := a.Lock(ctx, "mgfs:test", 0); !ok || err != nil {
			t.Fatalf("lock on node 1: %v %v", ok, err)
		}
		if ok, err := b.Lock(ctx, "mgfs:test", 1); ok || err != nil {
			t.Fatalf("lock on node 2 while node 1's store holds it: %v %v, want false", ok, err)
		}
		if err := a.Unlock(ctx, "mgfs:test"); err != nil {
			t.Fatal(err)
		}
		if ok, err := b.Lock(ctx, "mgfs:test", 2); !ok || err != nil {
			t.Fatalf("lock on node 2 after unlock: %v %v", ok, err)
		}
		b.Unlock(ctx, "mgfs:test")

		// Mutual exclusion under contention from three nodes.
		stores := []*sqlstore.Store{a, b, open(cfg(2))}
		var inside, maxInside, rounds atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(5 * time.Second)
		for i, s := range stores {
			for j := 0; j < 3; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := "mgfs:contended"
					for time.Now().Before(deadline) {
						ok, err := s.Lock(ctx, name, 0)
						if err != nil {
							t.Errorf("store %d: lock: %v", i, err)
							return
						}
						if !ok {
							continue
						}
						n := inside.Add(1)
						if n > maxInside.Load() {
							maxInside.Store(n)
						}
						time.Sleep(time.Millisecond)
						inside.Add(-1)
						rounds.Add(1)
						if err := s.Unlock(ctx, name); err != nil {
							t.Errorf("store %d: unlock: %v", i, err)
						}
					}
				}()
			}
		}
		wg.Wait()
		if maxInside.Load() != 1 || rounds.Load() == 0 {
			t.Errorf("%d holders at once at most (want 1), %d rounds", maxInside.Load(), rounds.Load())
		}
	})
	t.Run("LockFence", func(t *testing.T) { testLockFence(t, g, open) })
	t.Run("ReadAfterWriteAcrossNodes", func(t *testing.T) {
		a, b := open(cfg(0)), open(cfg(1))
		for i := 0; i < 50; i++ {
			name := fmt.Sprintf("raw%d", i)
			if _, err := a.CreateDomain(ctx, name); err != nil {
				t.Fatal(err)
			}
			doms, err := b.Domains(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range doms {
				found = found || d.Name == name
			}
			if !found {
				t.Fatalf("domain %s made through node 1 not seen through node 2 right after", name)
			}
		}
	})
	t.Run("Failover", func(t *testing.T) {
		s := open(cfg(2, 1, 0))
		node := func() string {
			var p string
			if err := s.DB().QueryRowContext(ctx, "SELECT @@wsrep_node_name").Scan(&p); err != nil {
				return "error: " + err.Error()
			}
			return p
		}
		if p := node(); p != "n3" {
			t.Fatalf("served by %s, want n3 (first DSN)", p)
		}
		if _, err := s.CreateDomain(ctx, "before"); err != nil {
			t.Fatal(err)
		}
		g.Kill(t, 2)
		// Writes go on through the next node (a statement in flight when
		// the node died may fail; the next ones must not).
		start := time.Now()
		var last error
		for i := 0; ; i++ {
			if _, last = s.CreateDomain(ctx, fmt.Sprintf("during%d", i)); last == nil {
				break
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("no write succeeded 30 s after node 3 died: %v", last)
			}
		}
		t.Logf("FIGURE failover: first write after kill -9 of the node in %v", time.Since(start).Round(time.Millisecond))
		for i := 0; i < 20; i++ {
			if _, err := s.CreateDomain(ctx, fmt.Sprintf("after%d", i)); err != nil {
				t.Fatalf("write %d after failover: %v", i, err)
			}
		}
		if p := node(); p != "n2" {
			t.Errorf("served by %s after node 3 died, want n2", p)
		}
		g.Restart(t, 2)
		back := time.Now()
		for node() != "n3" {
			if time.Since(back) > 30*time.Second {
				t.Fatalf("still served by %s 30 s after node 3 came back", node())
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("FIGURE failback: served by the first node again %v after it rejoined", time.Since(back).Round(time.Millisecond))
		doms, err := s.Domains(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(doms) < 72 {
			t.Errorf("%d domains after failover and back, want ≥ 72", len(doms))
		}
	})
}
