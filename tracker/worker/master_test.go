package worker_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
	"github.com/mogilefs-go/mogilefs/tracker/worker"
)

// cutStore is a real store whose lease statements can be made to fail, as
// they do for a tracker cut off from its database.
type cutStore struct {
	*sqlstore.Store
	cut atomic.Bool
}

var errCut = errors.New("test: this tracker is cut off from the database")

func (s *cutStore) TakeLease(ctx context.Context, name, holder string, ttl int) (store.Lease, error) {
	if s.cut.Load() {
		return store.Lease{}, errCut
	}
	return s.Store.TakeLease(ctx, name, holder, ttl)
}

func (s *cutStore) ReleaseLease(ctx context.Context, name, holder string) error {
	if s.cut.Load() {
		return errCut
	}
	return s.Store.ReleaseLease(ctx, name, holder)
}

// masterWatch samples which of two trackers is job master every
// millisecond and records any moment both are.
type masterWatch struct {
	w    [2]*worker.Workers
	mu   sync.Mutex
	both int
	// since[i] is when tracker i last became job master (zero: not now).
	since, until [2]time.Time
}

func (m *masterWatch) run(ctx context.Context) {
	var was [2]bool
	for ctx.Err() == nil {
		now := time.Now()
		is := [2]bool{m.w[0].IsJobMaster(), m.w[1].IsJobMaster()}
		m.mu.Lock()
		if is[0] && is[1] {
			m.both++
		}
		for i := range is {
			switch {
			case is[i] && !was[i]:
				m.since[i] = now
			case !is[i] && was[i]:
				m.since[i], m.until[i] = time.Time{}, now
			}
		}
		m.mu.Unlock()
		was = is
		time.Sleep(time.Millisecond)
	}
}

// master returns the index of the tracker that is job master and since
// when, or -1.
func (m *masterWatch) master() (int, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range m.since {
		if !s.IsZero() {
			return i, s
		}
	}
	return -1, time.Time{}
}

func (m *masterWatch) stoppedAt(i int) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.until[i]
}

// Two trackers on one database (SQLite file, MariaDB): exactly one is job
// master at a time, as the lease row says; a master cut off from the
// database stops before the other takes over, which it does once the
// lease lapses; a master that stops cleanly hands over at once.
func TestJobMasterOneAtATime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mysql bool
	}{{"sqlite", false}, {"mariadb", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testJobMaster(t, tc.mysql)
		})
	}
}

func testJobMaster(t *testing.T, mysql bool) {
	e := newEnv(t, envOpts{mysql: mysql, hosts: [][]int{{1}}, noWorkers: true})
	const ttl = 3 * time.Second
	// The timings master.go derives from a 3 s lease.
	const margin, standby = time.Second, 250 * time.Millisecond
	stB := e.openStore("tracker-b")
	clB := cluster.New(cluster.Options{Source: stB, MinFreeMB: 1, DefaultMinDevCount: 2, Logger: e.log})
	e.startMonitor(clB, stB)
	e.waitWriteable(clB)
	stores := [2]*cutStore{{Store: e.st}, {Store: stB}}
	views := [2]*cluster.Cluster{e.cl, clB}
	watch := &masterWatch{}
	for i, host := range []string{"tracker-a", "tracker-b"} {
		cfg := fastConfig()
		cfg.Hostname = host
		cfg.JobMasterLease = ttl
		w, err := worker.Start(e.ctx, worker.Deps{Store: stores[i], Cluster: views[i], Nodes: e.nodes, Logger: e.log, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		watch.w[i] = w
	}
	wctx, stopWatch := context.WithCancel(e.ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch.run(wctx)
	}()
	t.Cleanup(func() {
		stopWatch()
		<-watched
	})

	holder := func() string {
		l, err := e.st.Lease(e.ctx, "mgfs:job_master")
		if err != nil {
			t.Fatal(err)
		}
		return l.Holder
	}
	var first int
	e.waitFor("a job master", 20*time.Second, func() (bool, string) {
		first, _ = watch.master()
		return first >= 0, ""
	})
	if h := holder(); h != watch.w[first].JobMasterHolder() {
		t.Fatalf("lease row held by %q, job master is %q", h, watch.w[first].JobMasterHolder())
	}
	other := 1 - first

	// The master is cut off: it must stop before the lease could lapse,
	// and the other take over only after that.
	cut := time.Now()
	stores[first].cut.Store(true)
	var since time.Time
	e.waitFor("the other tracker to take over", ttl+5*time.Second, func() (bool, string) {
		var m int
		m, since = watch.master()
		return m == other, ""
	})
	stopped := watch.stoppedAt(first)
	if stopped.IsZero() || !stopped.Before(since) {
		t.Fatalf("cut-off master stopped at %v, the other became master at %v", stopped, since)
	}
	// (The watcher notices the stop up to a scheduling delay late.)
	if d := stopped.Sub(cut); d > ttl-margin+500*time.Millisecond {
		t.Errorf("cut-off master acted %v after it was cut off; its lease allows %v", d, ttl-margin)
	}
	// The lease lapses ttl (plus the database clock's second) after the
	// last renewal, which was before the cut; the standby looks every
	// 250 ms.
	takeover := since.Sub(cut)
	if takeover > ttl+time.Second+standby+time.Second {
		t.Errorf("takeover %v after the cut, want at most %v", takeover, ttl+time.Second+standby+time.Second)
	}
	if h := holder(); h != watch.w[other].JobMasterHolder() {
		t.Errorf("lease row held by %q after the takeover, want %q", h, watch.w[other].JobMasterHolder())
	}
	t.Logf("cut-off master stopped %v after the cut; takeover %v after the cut, %v after the old master stopped",
		stopped.Sub(cut).Round(time.Millisecond), takeover.Round(time.Millisecond), since.Sub(stopped).Round(time.Millisecond))

	// The first tracker is back: it stays standby. The master stops
	// cleanly: it releases the lease and the first takes over at once.
	stores[first].cut.Store(false)
	stop := time.Now()
	watch.w[other].Stop()
	e.waitFor("the first tracker to take over again", 5*time.Second, func() (bool, string) {
		var m int
		m, since = watch.master()
		return m == first, ""
	})
	if d := since.Sub(stop); d > standby+time.Second {
		t.Errorf("takeover after a clean stop took %v, want at most %v", d, standby+time.Second)
	}
	t.Logf("takeover after a clean stop: %v", since.Sub(stop).Round(time.Millisecond))
	watch.mu.Lock()
	both := watch.both
	watch.mu.Unlock()
	if both != 0 {
		t.Errorf("both trackers were job master in %d samples", both)
	}
}
