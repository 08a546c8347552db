package storetest

import (
	"crypto/md5"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The fast path's store methods (docs/fastpath.md §10).

func lease(t *testing.T, s store.Store, devid, n int) []int64 {
	t.Helper()
	fids, _, err := s.LeaseTempfiles(ctxT(t), devid, n)
	must(t, err)
	if len(fids) != n {
		t.Fatalf("leased %d fids, want %d", len(fids), n)
	}
	return fids
}

func testLeaseTempfiles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	existing := commitFile(t, s, 1, 0, "before", 7)
	before, err := s.Now(ctx)
	must(t, err)
	fids, created, err := s.LeaseTempfiles(ctx, 7, 50)
	must(t, err)
	after, err := s.Now(ctx)
	must(t, err)
	if len(fids) != 50 || created < before || created > after {
		t.Fatalf("lease: %d fids, time %d (database clock %d..%d)", len(fids), created, before, after)
	}
	if !slices.IsSorted(fids) || len(slices.Compact(slices.Clone(fids))) != 50 || fids[0] <= existing {
		t.Fatalf("lease fids not ascending, distinct and new: %v (a file has %d)", fids, existing)
	}
	for _, fid := range fids {
		tf, err := s.Tempfile(ctx, fid)
		must(t, err)
		if tf.DomainID != 0 || tf.Key != "" || tf.ClassID != 0 || !slices.Equal(tf.DevIDs, []int{7}) || tf.CreateTime != created {
			t.Fatalf("leased tempfile row %+v", tf)
		}
	}
	// The reaper sees the rows as old tempfiles like any other.
	old, err := s.OldTempfiles(ctx, after+1, 1000)
	must(t, err)
	if len(old) != 50 {
		t.Fatalf("%d old tempfiles, want the 50 leased", len(old))
	}
	// Two stores leasing at once never share a fid.
	stores := []store.Store{s}
	if s2 := reopen(t, s); s2 != nil {
		stores = append(stores, s2)
	}
	var mu sync.Mutex
	all := map[int64]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := stores[i%len(stores)].LeaseTempfiles(ctx, 8, 40)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, f := range got {
				if all[f] || slices.Contains(fids, f) {
					t.Errorf("fid %d leased twice", f)
				}
				all[f] = true
			}
		}()
	}
	wg.Wait()
	if len(all) != 8*40 {
		t.Fatalf("%d distinct fids from 8 leases of 40", len(all))
	}
}

func testCommitFiles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	oldFID := commitFile(t, s, 1, 0, "k2", 7)
	fids := lease(t, s, 7, 6)
	sum := md5.Sum([]byte("hello"))
	items := []store.FastCommit{
		{FID: fids[0], DevID: 7, DomainID: 1, Key: "k1", Length: 5, Checksum: &store.Checksum{FID: fids[0], HashType: store.HashMD5, Sum: sum[:]}},
		{FID: fids[1], DevID: 7, DomainID: 1, Key: "k2", ClassID: 3, Length: 6, Replicated: true},
		{FID: fids[2], DevID: 9, DomainID: 1, Key: "k3", Length: 7}, // not the leased device
		{FID: fids[3], DevID: 7, DomainID: 2, Key: "k1", Length: 8, Replicated: true},
	}
	must(t, s.DeleteTempfile(ctx, fids[4])) // the reaper took it
	items = append(items, store.FastCommit{FID: fids[4], DevID: 7, DomainID: 1, Key: "k5", Length: 9})
	res, err := s.CommitFiles(ctx, items)
	must(t, err)
	want := []store.CommitResult{{}, {Replaced: oldFID}, {Status: store.CommitInvalidDestDev}, {}, {Status: store.CommitLeaseExpired}}
	if !slices.Equal(res, want) {
		t.Fatalf("results %+v, want %+v", res, want)
	}
	checkCommitted := func() {
		t.Helper()
		for _, i := range []int{0, 1, 3} {
			it := items[i]
			f, devs, err := s.FileByKeyDevIDs(ctx, it.DomainID, it.Key)
			must(t, err)
			if f.FID != it.FID || f.Length != it.Length || f.ClassID != it.ClassID || f.DevCount != 1 || !slices.Equal(devs, []int{7}) {
				t.Fatalf("item %d: file %+v on %v", i, f, devs)
			}
			dbg, err := s.FileDebug(ctx, it.FID)
			must(t, err)
			if dbg.Tempfile != nil || (dbg.Replicate != nil) == it.Replicated {
				t.Fatalf("item %d: tempfile %v, replication queued %v", i, dbg.Tempfile, dbg.Replicate != nil)
			}
		}
		c, err := s.Checksum(ctx, fids[0])
		must(t, err)
		if c.HashType != store.HashMD5 || string(c.Sum) != string(sum[:]) {
			t.Fatalf("checksum %+v", c)
		}
		dbg, err := s.FileDebug(ctx, oldFID)
		must(t, err)
		if dbg.File != nil || dbg.Delete == nil {
			t.Fatalf("replaced fid %d: file %v, queued for deletion %v", oldFID, dbg.File, dbg.Delete)
		}
		if tf, err := s.Tempfile(ctx, fids[2]); err != nil || !slices.Equal(tf.DevIDs, []int{7}) {
			t.Fatalf("refused item's tempfile row: %+v %v", tf, err)
		}
		_, err = s.FileByKey(ctx, 1, "k5")
		wantErr(t, err, store.ErrNotFound, "key of an expired lease")
	}
	checkCommitted()
	// The same batch again (a reply that was lost): the same answers,
	// nothing replaced twice.
	res, err = s.CommitFiles(ctx, items)
	must(t, err)
	want[1].Replaced = 0
	if !slices.Equal(res, want) {
		t.Fatalf("repeated: results %+v, want %+v", res, want)
	}
	checkCommitted()
	// A fid committed under another key is not "committed before".
	res, err = s.CommitFiles(ctx, []store.FastCommit{{FID: fids[0], DevID: 7, DomainID: 1, Key: "other", Length: 5}})
	must(t, err)
	if res[0].Status != store.CommitLeaseExpired {
		t.Fatalf("fid under another key: %+v", res)
	}
	// Two items of one key: committed in order, the last one wins.
	more := lease(t, s, 7, 2)
	res, err = s.CommitFiles(ctx, []store.FastCommit{
		{FID: more[0], DevID: 7, DomainID: 1, Key: "twice", Length: 1, Replicated: true},
		{FID: more[1], DevID: 7, DomainID: 1, Key: "twice", Length: 2, Replicated: true},
	})
	must(t, err)
	if !slices.Equal(res, []store.CommitResult{{}, {Replaced: more[0]}}) {
		t.Fatalf("one key twice: %+v", res)
	}
	f, err := s.FileByKey(ctx, 1, "twice")
	must(t, err)
	dbg, err := s.FileDebug(ctx, more[0])
	must(t, err)
	if f.FID != more[1] || dbg.File != nil || dbg.Delete == nil {
		t.Fatalf("one key twice: key has fid %d; first fid's file %v, queued for deletion %v", f.FID, dbg.File, dbg.Delete)
	}
}

// testCommitFilesPeers: a lease with peers records them in its tempfile
// rows; an item naming peer copies commits a file_on row per copy and
// devcount accordingly; a peer outside the lease is refused.
func testCommitFilesPeers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fids, _, err := s.LeaseTempfiles(ctx, 7, 3, 9, 11)
	must(t, err)
	tf, err := s.Tempfile(ctx, fids[0])
	must(t, err)
	if !slices.Equal(tf.DevIDs, []int{7, 9, 11}) {
		t.Fatalf("leased tempfile row with peers: %+v", tf)
	}
	plain := lease(t, s, 7, 1)
	res, err := s.CommitFiles(ctx, []store.FastCommit{
		{FID: fids[0], DevID: 7, PeerDevIDs: []int{9}, DomainID: 1, Key: "p2", Length: 3, Replicated: true},
		{FID: fids[1], DevID: 7, PeerDevIDs: []int{11, 9}, DomainID: 1, Key: "p3", Length: 3},
		{FID: fids[2], DevID: 7, DomainID: 1, Key: "p1", Length: 3},
		{FID: plain[0], DevID: 7, PeerDevIDs: []int{9}, DomainID: 1, Key: "outside", Length: 3}, // 9 not leased
	})
	must(t, err)
	if !slices.Equal(res, []store.CommitResult{{}, {}, {}, {Status: store.CommitInvalidDestDev}}) {
		t.Fatalf("results %+v", res)
	}
	for _, c := range []struct {
		key    string
		devids []int
		queued bool
	}{{"p2", []int{7, 9}, false}, {"p3", []int{7, 9, 11}, true}, {"p1", []int{7}, true}} {
		f, devs, err := s.FileByKeyDevIDs(ctx, 1, c.key)
		must(t, err)
		dbg, err := s.FileDebug(ctx, f.FID)
		must(t, err)
		if !slices.Equal(devs, c.devids) || f.DevCount != len(c.devids) || (dbg.Replicate != nil) != c.queued || dbg.Tempfile != nil {
			t.Fatalf("%s: file %+v on %v, replication queued %v", c.key, f, devs, dbg.Replicate != nil)
		}
	}
	_, err = s.FileByKey(ctx, 1, "outside")
	wantErr(t, err, store.ErrNotFound, "key of an item with a peer outside its lease")
}

// testCommitFilesRace commits the same items from two stores at once,
// and other items of the same keys: every fid ends committed exactly
// once or replaced, every key names one of its fids, no tempfile is left.
func testCommitFilesRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	stores := []store.Store{s}
	if s2 := reopen(t, s); s2 != nil {
		stores = append(stores, s2)
	}
	const keys, rounds = 8, 4
	var batches [][]store.FastCommit
	for r := 0; r < rounds; r++ {
		fids := lease(t, s, 7, keys)
		var b []store.FastCommit
		for i, fid := range fids {
			b = append(b, store.FastCommit{FID: fid, DevID: 7, DomainID: 1, Key: fmt.Sprintf("race%d", i), Length: int64(r), Replicated: true})
		}
		batches = append(batches, b)
	}
	var wg sync.WaitGroup
	for r, b := range batches {
		for k := 0; k < 2; k++ { // every batch twice, from two stores
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := stores[(r+k)%len(stores)].CommitFiles(ctx, b)
				if err != nil {
					t.Error(err)
					return
				}
				for i, x := range res {
					// A batch sent again after a later batch replaced its
					// keys finds its fids neither in tempfile nor under
					// the key: lease_expired is the protocol's answer.
					if x.Status == store.CommitInvalidDestDev {
						t.Errorf("batch %d item %d: %+v", r, i, x)
					}
				}
			}()
		}
	}
	wg.Wait()
	live := 0
	for i := 0; i < keys; i++ {
		f, err := s.FileByKey(ctx, 1, fmt.Sprintf("race%d", i))
		must(t, err)
		found := false
		for _, b := range batches {
			found = found || b[i].FID == f.FID
		}
		if !found {
			t.Fatalf("key race%d names fid %d, not one of its uploads", i, f.FID)
		}
	}
	for _, b := range batches {
		for _, it := range b {
			dbg, err := s.FileDebug(ctx, it.FID)
			must(t, err)
			if dbg.Tempfile != nil {
				t.Fatalf("fid %d: tempfile row left", it.FID)
			}
			if dbg.File != nil {
				live++
			}
			if (dbg.File != nil) == (dbg.Delete != nil) || !slices.Equal(dbg.DevIDs, []int{7}) {
				t.Fatalf("fid %d: file %v, queued for deletion %v, on %v", it.FID, dbg.File, dbg.Delete, dbg.DevIDs)
			}
		}
	}
	if live != keys {
		t.Fatalf("%d live files for %d keys", live, keys)
	}
}

func testFilesByKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := commitFile(t, s, 1, 0, "a", 7)
	must(t, s.AddFileOn(ctx, a, 3, false))
	b := commitFile(t, s, 2, 0, "a", 9)
	got, err := s.FilesByKeys(ctx, []store.KeyRef{kr(1, "nope"), kr(2, "a"), kr(1, "a"), kr(3, "a"), kr(1, "a")})
	must(t, err)
	fa := store.File{FID: a, DomainID: 1, Key: "a", Length: 10, DevCount: 2}
	fb := store.File{FID: b, DomainID: 2, Key: "a", Length: 10, DevCount: 1}
	want := []store.KeyFile{{}, {Found: true, File: fb, DevIDs: []int{9}}, {Found: true, File: fa, DevIDs: []int{3, 7}}, {}, {Found: true, File: fa, DevIDs: []int{3, 7}}}
	if len(got) != len(want) {
		t.Fatalf("%d answers for %d keys", len(got), len(want))
	}
	for i := range want {
		if got[i].Found != want[i].Found || got[i].File != want[i].File || !slices.Equal(got[i].DevIDs, want[i].DevIDs) {
			t.Fatalf("key %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	var many []store.KeyRef
	for i := 0; i < store.MaxKeyBatch; i++ {
		many = append(many, store.KeyRef{DomainID: 1, Key: fmt.Sprintf("m%d", i)})
	}
	many[100].Key = "a"
	got, err = s.FilesByKeys(ctx, many)
	must(t, err)
	for i, kf := range got {
		if kf.Found != (i == 100) {
			t.Fatalf("%d keys: key %d found %v", len(many), i, kf.Found)
		}
	}
}

func kr(dmid int, key string) store.KeyRef { return store.KeyRef{DomainID: dmid, Key: key} }
