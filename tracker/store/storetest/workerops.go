package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The store methods only the background workers use.

func testDeleteTempfile(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "k", DevIDs: []int{4}})
	must(t, err)
	other, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "k2", DevIDs: []int{5}})
	must(t, err)
	must(t, s.DeleteTempfile(ctx, fid))
	dbg, err := s.FileDebug(ctx, fid)
	must(t, err)
	// Only the row goes: nothing is queued for deletion, no file_on rows.
	if dbg.Tempfile != nil || dbg.Delete != nil || len(dbg.DevIDs) != 0 || dbg.File != nil {
		t.Fatalf("after DeleteTempfile: %+v", dbg)
	}
	wantErr(t, s.DeleteTempfile(ctx, fid), store.ErrNotFound, "second DeleteTempfile")
	if _, err := s.Tempfile(ctx, other); err != nil {
		t.Fatalf("another tempfile row went too: %v", err)
	}
	// The reaper's case: a file row owns the fid; only the stale
	// tempfile row goes.
	fid3, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "k3", DevIDs: []int{6}})
	must(t, err)
	_, err = s.CommitFile(ctx, store.CloseFile{FID: fid3, DevID: 6, DomainID: 1, Key: "k3", Length: 3})
	must(t, err)
	wantErr(t, s.DeleteTempfile(ctx, fid3), store.ErrNotFound, "DeleteTempfile of a committed fid")
	if f, err := s.FileByFID(ctx, fid3); err != nil || f.Key != "k3" {
		t.Fatalf("committed file after DeleteTempfile: %+v, %v", f, err)
	}
}

func testFIDsOnDeviceDesc(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var fids []int64
	for i := range 5 {
		fids = append(fids, commitFile(t, s, 1, 0, fmt.Sprint("d", i), 2))
	}
	other := commitFile(t, s, 1, 0, "elsewhere", 3)
	desc := slices.Clone(fids)
	slices.Reverse(desc)
	got, err := s.FIDsOnDeviceDesc(ctx, 2, 0, 10)
	must(t, err)
	if !slices.Equal(got, desc) {
		t.Fatalf("fids on device 2 newest first: %v, want %v", got, desc)
	}
	got, err = s.FIDsOnDeviceDesc(ctx, 2, 0, 2)
	must(t, err)
	if !slices.Equal(got, desc[:2]) {
		t.Fatalf("limit 2: %v, want %v", got, desc[:2])
	}
	// Paging: below the last fid seen.
	got, err = s.FIDsOnDeviceDesc(ctx, 2, got[1], 2)
	must(t, err)
	if !slices.Equal(got, desc[2:4]) {
		t.Fatalf("second page: %v, want %v", got, desc[2:4])
	}
	got, err = s.FIDsOnDeviceDesc(ctx, 2, fids[0], 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("below the oldest fid: %v", got)
	}
	got, err = s.FIDsOnDeviceDesc(ctx, 3, 0, 10)
	must(t, err)
	if !slices.Equal(got, []int64{other}) {
		t.Fatalf("fids on device 3: %v", got)
	}
}

func testEnqueueMany(t *testing.T, s store.Store) {
	for _, q := range []store.Queue{store.QueueReplicate, store.QueueDelete, store.QueueFsck, store.QueueRebalance} {
		t.Run(fmt.Sprint("queue", int(q)), func(t *testing.T) {
			ctx := ctxT(t)
			base := int64(1000 * (int(q) + 1))
			// Already queued, later: EnqueueMany leaves it alone.
			must(t, s.Enqueue(ctx, q, store.QueueItem{FID: base, FailCount: 3, DevID: 7, Arg: "1"}, 3600))
			before := queueRow(t, s, q, base)
			now, err := s.Now(ctx)
			must(t, err)
			var items []store.QueueItem
			for i := range 450 { // more than one INSERT's worth
				items = append(items, store.QueueItem{FID: base + int64(i), FromDevID: 2, DevID: 5, Arg: "8,9", Flags: 1})
			}
			items = append(items, store.QueueItem{FID: base + 1}) // twice in one call
			must(t, s.EnqueueMany(ctx, q, items, 0))
			must(t, s.EnqueueMany(ctx, q, nil, 0))
			later, err := s.Now(ctx)
			must(t, err)
			n, err := s.QueueLength(ctx, q)
			must(t, err)
			if n != 450 {
				t.Fatalf("queue length %d, want 450", n)
			}
			if row := queueRow(t, s, q, base); row == nil || *row != *before {
				t.Fatalf("already queued row changed: %+v, was %+v", row, before)
			}
			row := queueRow(t, s, q, base+1)
			if row == nil {
				t.Fatal("no row for a queued fid")
			}
			switch q {
			case store.QueueReplicate:
				if row.NextTry != 0 || row.FromDevID != 2 || row.Flags != 1 {
					t.Fatalf("replicate row %+v, want nexttry 0 (urgent), fromdevid 2, flags 1", row)
				}
			case store.QueueDelete:
				if row.NextTry < now || row.NextTry > later {
					t.Fatalf("delete row %+v (now %d..%d)", row, now, later)
				}
			default:
				if row.DevID != 5 || row.Arg != "8,9" || row.Flags != 1 || row.NextTry < now || row.NextTry > later {
					t.Fatalf("file_to_queue row %+v (now %d..%d)", row, now, later)
				}
			}
			// With a delay, like Enqueue's.
			must(t, s.EnqueueMany(ctx, q, []store.QueueItem{{FID: base + 900}, {FID: base + 901}}, 600))
			later, err = s.Now(ctx)
			must(t, err)
			for _, fid := range []int64{base + 900, base + 901} {
				row := queueRow(t, s, q, fid)
				if row == nil || row.NextTry < now+600 || row.NextTry > later+600 {
					t.Fatalf("delayed row of fid %d: %+v, want nexttry now+600 (now %d..%d)", fid, row, now, later)
				}
			}
			got, err := s.Grab(ctx, q, 1000)
			must(t, err)
			if len(got) != 449 {
				t.Fatalf("grabbed %d rows, want the 449 due ones", len(got))
			}
		})
	}
}

// testLegacyDeletesEmpty: the store's own queues are no legacy rows.
// (Rows left by an older tracker can only be planted with the backend's
// own SQL: sqlstore tests that part.)
func testLegacyDeletesEmpty(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	must(t, s.Enqueue(ctx, store.QueueDelete, store.QueueItem{FID: 77}, 0))
	n, err := s.DrainLegacyDeletes(ctx, 100)
	must(t, err)
	if n != 0 {
		t.Fatalf("drained %d legacy rows from an empty legacy queue", n)
	}
	if l, err := s.QueueLength(ctx, store.QueueDelete); err != nil || l != 1 {
		t.Fatalf("file_to_delete2 length %d (%v), want 1", l, err)
	}
	if n, err := s.DrainLegacyDeletes(ctx, 0); err != nil || n != 0 {
		t.Fatalf("limit 0: %d, %v", n, err)
	}
}
