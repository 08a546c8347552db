package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// testFsckFiles reads a batch larger than one IN list: files with several
// copies, none, a checksum, an open upload that has no file row yet, and
// fids with no row at all.
func testFsckFiles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 620
	var fids []int64
	want := map[int64]store.FsckFile{}
	for i := range n {
		key := fmt.Sprintf("k%04d", i)
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, ClassID: 0, Key: key, DevIDs: []int{1}})
		must(t, err)
		_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: key, Length: int64(i)})
		must(t, err)
		ff := store.FsckFile{File: store.File{FID: fid, DomainID: 1, Key: key, Length: int64(i), DevCount: 1}, DevIDs: []int{1}}
		switch i % 4 {
		case 1: // three copies, devcount left at 1
			must(t, s.AddFileOn(ctx, fid, 7, true))
			must(t, s.AddFileOn(ctx, fid, 3, true))
			ff.DevIDs = []int{1, 3, 7}
		case 2: // no copy at all
			must(t, s.RemoveFileOn(ctx, fid, 1, false))
			ff.DevIDs, ff.File.DevCount = nil, 0
		case 3:
			must(t, s.SetChecksum(ctx, store.Checksum{FID: fid, HashType: store.HashMD5, Sum: []byte("0123456789abcdef")}))
			ff.HasChecksum = true
		}
		fids = append(fids, fid)
		want[fid] = ff
	}
	open, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "open", DevIDs: []int{1}})
	must(t, err)
	batch := append(slices.Clone(fids), open, fids[len(fids)-1]+1000, fids[0]) // and one fid twice
	got, err := s.FsckFiles(ctx, batch)
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("FsckFiles returned %d fids, want %d (no row for the open upload or the unknown fid)", len(got), len(want))
	}
	for fid, w := range want {
		g, ok := got[fid]
		if !ok {
			t.Fatalf("fid %d missing", fid)
		}
		if g.File != w.File || !slices.Equal(g.DevIDs, w.DevIDs) || g.HasChecksum != w.HasChecksum || g.OpenUpload {
			t.Fatalf("fid %d: got %+v, want %+v", fid, g, w)
		}
	}
	if got, err := s.FsckFiles(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("FsckFiles(nil) = %v, %v", got, err)
	}
}

// testDequeueMany drops the fids given from one queue only.
func testDequeueMany(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var items []store.QueueItem
	for i := range 620 {
		items = append(items, store.QueueItem{FID: int64(100 + i)})
	}
	for _, q := range []store.Queue{store.QueueFsck, store.QueueRebalance, store.QueueDelete} {
		must(t, s.EnqueueMany(ctx, q, items, 0))
	}
	var drop []int64
	for i := range 600 {
		drop = append(drop, int64(100+i))
	}
	drop = append(drop, 5000) // not queued: no error
	must(t, s.DequeueMany(ctx, store.QueueFsck, drop))
	must(t, s.DequeueMany(ctx, store.QueueFsck, nil))
	for q, want := range map[store.Queue]int64{store.QueueFsck: 20, store.QueueRebalance: 620, store.QueueDelete: 620} {
		n, err := s.QueueLength(ctx, q)
		must(t, err)
		if n != want {
			t.Errorf("queue %d holds %d rows, want %d", int(q), n, want)
		}
	}
	if queueRow(t, s, store.QueueFsck, 100) != nil || queueRow(t, s, store.QueueFsck, 700) == nil {
		t.Errorf("wrong fsck rows dropped")
	}
}
