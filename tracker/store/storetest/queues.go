package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

func fidsOf(items []store.QueueItem) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.FID
	}
	slices.Sort(out)
	return out
}

func testQueues(t *testing.T, s store.Store) {
	for _, q := range []store.Queue{store.QueueReplicate, store.QueueDelete, store.QueueFsck, store.QueueRebalance} {
		t.Run(fmt.Sprint("queue", int(q)), func(t *testing.T) {
			testQueueLease(t, s, q)
			testQueueRetry(t, s, q)
		})
	}
}

// queueRow returns fid's row in q as FileDebug shows it.
func queueRow(t *testing.T, s store.Store, q store.Queue, fid int64) *store.QueueItem {
	t.Helper()
	dbg, err := s.FileDebug(ctxT(t), fid)
	must(t, err)
	switch q {
	case store.QueueReplicate:
		return dbg.Replicate
	case store.QueueDelete:
		return dbg.Delete
	case store.QueueFsck:
		return dbg.Fsck
	}
	return dbg.Rebalance
}

// testQueueLease: Enqueue, due rows only, the store.LeaseSeconds lease.
func testQueueLease(t *testing.T, s store.Store, q store.Queue) {
	ctx := ctxT(t)
	now, err := s.Now(ctx)
	must(t, err)
	must(t, s.Enqueue(ctx, q, store.QueueItem{FID: 10, FromDevID: 3, DevID: 4, Arg: "5,6", Flags: 1}, 0))
	must(t, s.Enqueue(ctx, q, store.QueueItem{FID: 11}, -5))
	must(t, s.Enqueue(ctx, q, store.QueueItem{FID: 12}, 3600))            // not due
	must(t, s.Enqueue(ctx, q, store.QueueItem{FID: 10, FromDevID: 9}, 0)) // already queued: ignored
	n, err := s.QueueLength(ctx, q)
	must(t, err)
	if n != 3 {
		t.Fatalf("queue length %d, want 3", n)
	}
	got, err := s.Grab(ctx, q, 10)
	must(t, err)
	later, err := s.Now(ctx)
	must(t, err)
	if !slices.Equal(fidsOf(got), []int64{10, 11}) {
		t.Fatalf("grabbed %+v, want fids 10 and 11", got)
	}
	for _, it := range got {
		if it.FID != 10 {
			continue
		}
		switch q {
		case store.QueueReplicate:
			if it.FromDevID != 3 || it.Flags != 1 || it.NextTry != 0 {
				t.Fatalf("replicate item %+v", it)
			}
		case store.QueueDelete:
			if it.NextTry < now || it.NextTry > later {
				t.Fatalf("delete item %+v (now %d..%d)", it, now, later)
			}
		default:
			if it.DevID != 4 || it.Arg != "5,6" || it.Flags != 1 {
				t.Fatalf("queue item %+v", it)
			}
		}
	}
	// Leased: not handed out again.
	again, err := s.Grab(ctx, q, 10)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("leased rows grabbed again: %+v", again)
	}
	row := queueRow(t, s, q, 10)
	if row == nil || row.NextTry < now+store.LeaseSeconds || row.NextTry > later+store.LeaseSeconds {
		t.Fatalf("leased row %+v, want nexttry now+%d (now %d..%d)", row, store.LeaseSeconds, now, later)
	}
}

// testQueueRetry: Retry, Dequeue, limits.
func testQueueRetry(t *testing.T, s store.Store, q store.Queue) {
	ctx := ctxT(t)
	// Retry makes it due again with the new failcount.
	must(t, s.Retry(ctx, q, 10, 0, 4))
	got, err := s.Grab(ctx, q, 10)
	must(t, err)
	if len(got) != 1 || got[0].FID != 10 || got[0].FailCount != 4 {
		t.Fatalf("after retry grabbed %+v", got)
	}
	must(t, s.Retry(ctx, q, 11, store.EndOfTime, 1))
	if row := queueRow(t, s, q, 11); row == nil || row.NextTry != store.EndOfTime || row.FailCount != 1 {
		t.Fatalf("retry at end of time: %+v", row)
	}
	must(t, s.Retry(ctx, q, 999, 0, 1)) // not queued: no error
	must(t, s.Dequeue(ctx, q, 10))
	must(t, s.Dequeue(ctx, q, 11))
	must(t, s.Dequeue(ctx, q, 10))
	n, err := s.QueueLength(ctx, q)
	must(t, err)
	if n != 1 {
		t.Fatalf("queue length %d after dequeues, want 1", n)
	}
	must(t, s.Dequeue(ctx, q, 12))
	// Limit and order: oldest nexttry first.
	for fid := int64(20); fid < 25; fid++ {
		must(t, s.Enqueue(ctx, q, store.QueueItem{FID: fid}, 0))
	}
	got, err = s.Grab(ctx, q, 2)
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("grab limit 2 gave %d", len(got))
	}
	rest, err := s.Grab(ctx, q, 100)
	must(t, err)
	if len(rest) != 3 {
		t.Fatalf("rest %d", len(rest))
	}
	for fid := int64(20); fid < 25; fid++ {
		must(t, s.Dequeue(ctx, q, fid))
	}
}

func testQueueTypes(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	// fsck and rebalance share file_to_queue, keyed by (fid, type).
	must(t, s.Enqueue(ctx, store.QueueFsck, store.QueueItem{FID: 1}, 0))
	must(t, s.Enqueue(ctx, store.QueueRebalance, store.QueueItem{FID: 1, Arg: "7"}, 0))
	must(t, s.Enqueue(ctx, store.QueueRebalance, store.QueueItem{FID: 2}, 0))
	nf, err := s.QueueLength(ctx, store.QueueFsck)
	must(t, err)
	nr, err := s.QueueLength(ctx, store.QueueRebalance)
	must(t, err)
	if nf != 1 || nr != 2 {
		t.Fatalf("fsck %d rebalance %d", nf, nr)
	}
	got, err := s.Grab(ctx, store.QueueFsck, 10)
	must(t, err)
	if !slices.Equal(fidsOf(got), []int64{1}) {
		t.Fatalf("fsck grab %+v", got)
	}
	// Leasing fid 1 for fsck left its rebalance row alone.
	got, err = s.Grab(ctx, store.QueueRebalance, 10)
	must(t, err)
	if !slices.Equal(fidsOf(got), []int64{1, 2}) {
		t.Fatalf("rebalance grab %+v", got)
	}
	must(t, s.Dequeue(ctx, store.QueueFsck, 1))
	nr, err = s.QueueLength(ctx, store.QueueRebalance)
	must(t, err)
	if nr != 2 {
		t.Fatalf("dequeue from fsck removed rebalance rows: %d left", nr)
	}
}

func testReplicateNow(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	must(t, s.Enqueue(ctx, store.QueueReplicate, store.QueueItem{FID: 1}, 0))
	must(t, s.Enqueue(ctx, store.QueueReplicate, store.QueueItem{FID: 2}, 600))
	must(t, s.Enqueue(ctx, store.QueueReplicate, store.QueueItem{FID: 3}, 900))
	n, err := s.ReplicateNow(ctx)
	must(t, err)
	if n != 2 {
		t.Fatalf("rescheduled %d, want 2", n)
	}
	got, err := s.Grab(ctx, store.QueueReplicate, 10)
	must(t, err)
	if !slices.Equal(fidsOf(got), []int64{1, 2, 3}) {
		t.Fatalf("grab after replicate now: %+v", got)
	}
}

func testFsckLog(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	max, err := s.MaxFsckLogID(ctx)
	must(t, err)
	if max != 0 {
		t.Fatalf("max logid of empty log %d", max)
	}
	now, err := s.Now(ctx)
	must(t, err)
	events := []store.FsckEvent{
		{FID: 1, EvCode: "NOPA"},
		{FID: 2, EvCode: "REPL", DevID: 3},
		{FID: 3, EvCode: "NOPA", UTime: 12345},
		{EvCode: "STRT"},
	}
	for _, e := range events {
		must(t, s.AddFsckEvent(ctx, e))
	}
	later, err := s.Now(ctx)
	must(t, err)
	got, err := s.FsckEvents(ctx, 0, 10)
	must(t, err)
	if len(got) != 4 {
		t.Fatalf("events %+v", got)
	}
	for i, e := range got {
		want := events[i]
		if e.FID != want.FID || e.EvCode != want.EvCode || e.DevID != want.DevID || e.LogID <= 0 {
			t.Fatalf("event %d: %+v, want %+v", i, e, want)
		}
		if want.UTime != 0 && e.UTime != want.UTime || want.UTime == 0 && (e.UTime < now || e.UTime > later) {
			t.Fatalf("event %d utime %d (now %d)", i, e.UTime, now)
		}
		if i > 0 && e.LogID <= got[i-1].LogID {
			t.Fatal("events out of order")
		}
	}
	page, err := s.FsckEvents(ctx, got[1].LogID, 1)
	must(t, err)
	if len(page) != 1 || page[0].LogID != got[2].LogID {
		t.Fatalf("page %+v", page)
	}
	max, err = s.MaxFsckLogID(ctx)
	must(t, err)
	if max != got[3].LogID {
		t.Fatalf("max logid %d, want %d", max, got[3].LogID)
	}
	counts, err := s.FsckEventCounts(ctx, got[0].LogID, got[2].LogID)
	must(t, err)
	if len(counts) != 2 || counts["REPL"] != 1 || counts["NOPA"] != 1 {
		t.Fatalf("counts %v", counts)
	}
	must(t, s.ClearFsckLog(ctx))
	got, err = s.FsckEvents(ctx, 0, 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("events after clear: %+v", got)
	}
	must(t, s.AddFsckEvent(ctx, store.FsckEvent{FID: 9, EvCode: "BLEN"}))
	got, err = s.FsckEvents(ctx, 0, 10)
	must(t, err)
	if len(got) != 1 || got[0].FID != 9 {
		t.Fatalf("events after clear and add: %+v", got)
	}
}

func testLocks(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ok, err := s.Lock(ctx, "mgfs:fid:1:replicate", 0)
	must(t, err)
	if !ok {
		t.Fatal("free lock not taken")
	}
	ok, err = s.Lock(ctx, "mgfs:fid:2:replicate", 0)
	must(t, err)
	if !ok {
		t.Fatal("second, different lock not taken")
	}
	// Held: not taken again, even by the same store.
	ok, err = s.Lock(ctx, "mgfs:fid:1:replicate", 0)
	must(t, err)
	if ok {
		t.Fatal("held lock taken twice")
	}
	must(t, s.Unlock(ctx, "mgfs:fid:1:replicate"))
	must(t, s.Unlock(ctx, "mgfs:fid:1:replicate")) // not held: no error
	ok, err = s.Lock(ctx, "mgfs:fid:1:replicate", 0)
	must(t, err)
	if !ok {
		t.Fatal("released lock not taken")
	}

	s2 := second(t, s)
	ok, err = s2.Lock(ctx, "mgfs:fid:1:replicate", 0)
	must(t, err)
	if ok {
		t.Fatal("second tracker took a held lock")
	}
	start := time.Now()
	ok, err = s2.Lock(ctx, "mgfs:fid:2:replicate", 1)
	must(t, err)
	if ok || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("lock with timeout 1 s: got %v after %v", ok, time.Since(start))
	}
	// Unlocking a lock held by the other tracker changes nothing.
	must(t, s2.Unlock(ctx, "mgfs:fid:1:replicate"))
	ok, err = s2.Lock(ctx, "mgfs:fid:1:replicate", 0)
	must(t, err)
	if ok {
		t.Fatal("foreign unlock released the lock")
	}
	// A waiter gets the lock once it is released.
	ok, err = s.Lock(ctx, "mgfs:reaper", 0)
	must(t, err)
	if !ok {
		t.Fatal("free lock mgfs:reaper not taken")
	}
	got := make(chan bool, 1)
	go func() {
		ok, err := s2.Lock(ctx, "mgfs:reaper", 30)
		if err != nil {
			t.Error(err)
		}
		got <- ok
	}()
	must(t, s.Unlock(ctx, "mgfs:reaper"))
	if !<-got {
		t.Fatal("waiter did not get the released lock")
	}
	must(t, s.Unlock(ctx, "mgfs:fid:2:replicate"))
	ok, err = s2.Lock(ctx, "mgfs:fid:2:replicate", 0)
	must(t, err)
	if !ok {
		t.Fatal("second tracker could not take a released lock")
	}
	// Closing a store releases what it holds.
	must(t, s2.Close())
	ok, err = s.Lock(ctx, "mgfs:fid:2:replicate", 5)
	must(t, err)
	if !ok {
		t.Fatal("lock of a closed store not released")
	}
}

// testManyLocks: holding many locks at once (one per replicating fid)
// does not starve the store of connections for its queries.
func testManyLocks(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 100
	for i := 0; i < n; i++ {
		ok, err := s.Lock(ctx, fmt.Sprintf("mgfs:fid:%d:replicate", i), 0)
		must(t, err)
		if !ok {
			t.Fatalf("lock %d not taken", i)
		}
	}
	for i := 0; i < 10; i++ {
		commitFile(t, s, 1, 0, fmt.Sprint("while-locked-", i), 1)
	}
	for i := 0; i < n; i++ {
		must(t, s.Unlock(ctx, fmt.Sprintf("mgfs:fid:%d:replicate", i)))
	}
	s2 := reopen(t, s)
	if s2 == nil {
		return
	}
	for i := 0; i < n; i += 10 {
		ok, err := s2.Lock(ctx, fmt.Sprintf("mgfs:fid:%d:replicate", i), 0)
		must(t, err)
		if !ok {
			t.Fatalf("released lock %d not free for another tracker", i)
		}
	}
}

// allocate registers n tempfiles from each of workers goroutines on each
// store and checks every fid is distinct.
func allocate(t *testing.T, stores []store.Store, workers, n int) {
	ctx := ctxT(t)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for si, s := range stores {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					key := fmt.Sprintf("s%d/w%d/%d", si, w, i)
					fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: key, DevIDs: []int{1}})
					if err != nil {
						t.Error(err)
						return
					}
					if i%2 == 0 {
						if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: key}); err != nil {
							t.Error(err)
							return
						}
					}
					mu.Lock()
					dup := seen[fid]
					seen[fid] = true
					mu.Unlock()
					if dup {
						t.Errorf("fid %d allocated twice", fid)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if want := len(stores) * workers * n; len(seen) != want && !t.Failed() {
		t.Fatalf("%d distinct fids, want %d", len(seen), want)
	}
}

// testSameKeyRace: many create_closes of one key at once (from two
// trackers when possible). One file wins; every other fid is queued for
// deletion, so no upload is orphaned.
func testSameKeyRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	stores := []store.Store{s}
	if s2 := reopen(t, s); s2 != nil {
		stores = append(stores, s2)
	}
	const n = 24
	fids := make([]int64, n)
	for i := range fids {
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "hot", DevIDs: []int{1}})
		must(t, err)
		fids[i] = fid
	}
	var wg sync.WaitGroup
	for i, fid := range fids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[i%len(stores)]
			if _, err := st.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: "hot", Length: int64(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f, err := s.FileByKey(ctx, 1, "hot")
	must(t, err)
	queued, err := s.QueueLength(ctx, store.QueueDelete)
	must(t, err)
	if queued != n-1 {
		t.Fatalf("%d fids queued for deletion, want %d", queued, n-1)
	}
	for _, fid := range fids {
		dbg, err := s.FileDebug(ctx, fid)
		must(t, err)
		if (fid == f.FID) == (dbg.Delete != nil) || (fid == f.FID) != (dbg.File != nil) {
			t.Fatalf("fid %d (winner %d): file %v, queued for deletion %v", fid, f.FID, dbg.File != nil, dbg.Delete != nil)
		}
	}
}

func testConcurrentFIDs(t *testing.T, s store.Store) {
	allocate(t, []store.Store{s}, 8, 40)
}

func testTwoTrackers(t *testing.T, s store.Store) {
	s2 := second(t, s)
	allocate(t, []store.Store{s, s2}, 8, 25)
	// Each sees the other's files.
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "shared", 1)
	f, err := s2.FileByKey(ctx, 1, "shared")
	must(t, err)
	if f.FID != fid {
		t.Fatalf("second tracker sees fid %d, want %d", f.FID, fid)
	}
}

func testConcurrentGrab(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	stores := []store.Store{s}
	if s2 := reopen(t, s); s2 != nil {
		stores = append(stores, s2)
	}
	const total = 300
	for fid := int64(1); fid <= total; fid++ {
		must(t, s.Enqueue(ctx, store.QueueDelete, store.QueueItem{FID: fid}, 0))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for _, st := range stores {
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					items, err := st.Grab(ctx, store.QueueDelete, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(items) == 0 {
						return
					}
					mu.Lock()
					for _, it := range items {
						seen[it.FID]++
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("grabbed %d distinct fids, want %d", len(seen), total)
	}
	for fid, n := range seen {
		if n != 1 {
			t.Fatalf("fid %d handed out %d times", fid, n)
		}
	}
}
