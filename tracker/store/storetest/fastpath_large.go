package storetest

import (
	"crypto/md5"
	"fmt"
	"slices"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// testCommitFilesLarge commits one batch larger than the statements a
// store keeps prepared (and, on MySQL, sent as one request), mixing new
// keys, replaced keys, checksums, replication and a refused item, then
// the same batch again.
func testCommitFilesLarge(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 60
	old := map[int]int64{} // item index → fid its key named before
	for i := 0; i < n; i += 3 {
		old[i] = commitFile(t, s, 1, 0, fmt.Sprintf("large%02d", i), 7)
	}
	fids := lease(t, s, 7, n)
	items := make([]store.FastCommit, n)
	for i, fid := range fids {
		items[i] = store.FastCommit{FID: fid, DevID: 7, DomainID: 1, Key: fmt.Sprintf("large%02d", i), Length: int64(100 + i), Replicated: i%2 == 1}
		if i%4 == 0 {
			sum := md5.Sum([]byte(items[i].Key))
			items[i].Checksum = &store.Checksum{FID: fid, HashType: store.HashMD5, Sum: sum[:]}
		}
	}
	items[7].DevID = 9 // not the leased device
	want := make([]store.CommitResult, n)
	for i, fid := range old {
		want[i].Replaced = fid
	}
	want[7] = store.CommitResult{Status: store.CommitInvalidDestDev}
	res, err := s.CommitFiles(ctx, items)
	must(t, err)
	if !slices.Equal(res, want) {
		t.Fatalf("results %+v, want %+v", res, want)
	}
	check := func() {
		t.Helper()
		for i, it := range items {
			f, devs, err := s.FileByKeyDevIDs(ctx, it.DomainID, it.Key)
			if i == 7 {
				wantErr(t, err, store.ErrNotFound, "key of the refused item")
				continue
			}
			must(t, err)
			if f.FID != it.FID || f.Length != it.Length || f.DevCount != 1 || !slices.Equal(devs, []int{7}) {
				t.Fatalf("item %d: file %+v on %v", i, f, devs)
			}
			dbg, err := s.FileDebug(ctx, it.FID)
			must(t, err)
			if dbg.Tempfile != nil || (dbg.Replicate != nil) == it.Replicated {
				t.Fatalf("item %d: tempfile %v, replication queued %v", i, dbg.Tempfile, dbg.Replicate != nil)
			}
			c, err := s.Checksum(ctx, it.FID)
			if it.Checksum == nil {
				wantErr(t, err, store.ErrNotFound, "checksum of an item without one")
			} else if err != nil || string(c.Sum) != string(it.Checksum.Sum) {
				t.Fatalf("item %d: checksum %+v %v", i, c, err)
			}
		}
		for i, fid := range old {
			dbg, err := s.FileDebug(ctx, fid)
			must(t, err)
			if dbg.File != nil || dbg.Delete == nil {
				t.Fatalf("item %d: replaced fid %d: file %v, queued for deletion %v", i, fid, dbg.File, dbg.Delete)
			}
		}
		if tf, err := s.Tempfile(ctx, fids[7]); err != nil || !slices.Equal(tf.DevIDs, []int{7}) {
			t.Fatalf("refused item's tempfile row: %+v %v", tf, err)
		}
	}
	check()
	// Again, as after a lost reply: every item answered as before,
	// nothing replaced twice.
	res, err = s.CommitFiles(ctx, items)
	must(t, err)
	for i := range want {
		want[i].Replaced = 0
	}
	if !slices.Equal(res, want) {
		t.Fatalf("repeated: results %+v, want %+v", res, want)
	}
	check()
}
