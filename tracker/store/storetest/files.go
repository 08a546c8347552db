package storetest

import (
	"bytes"
	"crypto/md5"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// commitFile runs create_open + create_close for key on device devid and
// returns the fid.
func commitFile(t *testing.T, s store.Store, dmid, classid int, key string, devid int) int64 {
	t.Helper()
	ctx := ctxT(t)
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: dmid, ClassID: classid, Key: key, DevIDs: []int{devid}})
	must(t, err)
	_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: devid, DomainID: dmid, Key: key, ClassID: classid, Length: 10})
	must(t, err)
	return fid
}

func testTempfileAndCommit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	before, err := s.Now(ctx)
	must(t, err)
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, ClassID: 2, Key: "a/b", DevIDs: []int{3, 14, 15}})
	must(t, err)
	if fid <= 0 {
		t.Fatalf("fid %d", fid)
	}
	after, err := s.Now(ctx)
	must(t, err)
	tf, err := s.Tempfile(ctx, fid)
	must(t, err)
	if tf.FID != fid || tf.DomainID != 1 || tf.ClassID != 2 || tf.Key != "a/b" || !slices.Equal(tf.DevIDs, []int{3, 14, 15}) ||
		tf.CreateTime < before || tf.CreateTime > after {
		t.Fatalf("tempfile %+v", tf)
	}
	_, err = s.FileByFID(ctx, fid)
	wantErr(t, err, store.ErrNotFound, "file before create_close")

	sum := md5.Sum([]byte("0123456789"))
	replaced, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 14, DomainID: 1, Key: "a/b", ClassID: 2, Length: 10,
		Checksum: &store.Checksum{FID: fid, HashType: store.HashMD5, Sum: sum[:]}})
	must(t, err)
	if replaced != 0 {
		t.Fatalf("replaced fid %d on a new key", replaced)
	}
	f, err := s.FileByKey(ctx, 1, "a/b")
	must(t, err)
	want := store.File{FID: fid, DomainID: 1, Key: "a/b", Length: 10, ClassID: 2, DevCount: 1}
	if f != want {
		t.Fatalf("file %+v, want %+v", f, want)
	}
	f, err = s.FileByFID(ctx, fid)
	must(t, err)
	if f != want {
		t.Fatalf("file by fid %+v, want %+v", f, want)
	}
	devs, err := s.FileDevIDs(ctx, fid)
	must(t, err)
	if !slices.Equal(devs, []int{14}) {
		t.Fatalf("devids %v", devs)
	}
	f, devs, err = s.FileByKeyDevIDs(ctx, 1, "a/b")
	must(t, err)
	if f != want || !slices.Equal(devs, []int{14}) {
		t.Fatalf("file and devids by key: %+v %v", f, devs)
	}
	must(t, s.AddFileOn(ctx, fid, 3, false))
	f, devs, err = s.FileByKeyDevIDs(ctx, 1, "a/b")
	must(t, err)
	if want2 := (store.File{FID: fid, DomainID: 1, Key: "a/b", Length: 10, ClassID: 2, DevCount: 2}); f != want2 || !slices.Equal(devs, []int{3, 14}) {
		t.Fatalf("file and two devids by key: %+v %v", f, devs)
	}
	must(t, s.RemoveFileOn(ctx, fid, 3, false))
	_, _, err = s.FileByKeyDevIDs(ctx, 1, "nope")
	wantErr(t, err, store.ErrNotFound, "file and devids of a missing key")
	f, devs, cs, err := s.FileCopies(ctx, fid)
	must(t, err)
	if f != want || !slices.Equal(devs, []int{14}) || cs == nil || cs.FID != fid || cs.HashType != store.HashMD5 || !bytes.Equal(cs.Sum, sum[:]) {
		t.Fatalf("file copies: %+v %v %+v", f, devs, cs)
	}
	must(t, s.AddFileOn(ctx, fid, 3, true))
	if _, devs, _, err = s.FileCopies(ctx, fid); err != nil || !slices.Equal(devs, []int{3, 14}) {
		t.Fatalf("file copies with two devids: %v %v", devs, err)
	}
	must(t, s.RemoveFileOn(ctx, fid, 3, true))
	_, _, _, err = s.FileCopies(ctx, 999999999)
	wantErr(t, err, store.ErrNotFound, "file copies of a missing fid")
	c, err := s.Checksum(ctx, fid)
	must(t, err)
	if c.FID != fid || c.HashType != store.HashMD5 || !bytes.Equal(c.Sum, sum[:]) {
		t.Fatalf("checksum %+v", c)
	}
	_, err = s.Tempfile(ctx, fid)
	wantErr(t, err, store.ErrNotFound, "tempfile after create_close")
	dbg, err := s.FileDebug(ctx, fid)
	must(t, err)
	if dbg.Replicate == nil || dbg.Replicate.NextTry != 0 || dbg.Replicate.FID != fid {
		t.Fatalf("replication queue entry %+v, want nexttry 0", dbg.Replicate)
	}
	_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 14, DomainID: 1, Key: "a/b", ClassID: 2, Length: 10})
	wantErr(t, err, store.ErrNotFound, "second create_close")
	_, err = s.FileByKey(ctx, 1, "A/B-nope")
	wantErr(t, err, store.ErrNotFound, "missing key")
	_, err = s.FileByKey(ctx, 2, "a/b")
	wantErr(t, err, store.ErrNotFound, "key in another domain")

	// A key-less upload (create_open without key) keeps an empty key.
	fid2, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, DevIDs: []int{1}})
	must(t, err)
	tf, err = s.Tempfile(ctx, fid2)
	must(t, err)
	if tf.Key != "" || tf.ClassID != 0 || fid2 <= fid {
		t.Fatalf("key-less tempfile %+v (first fid %d)", tf, fid)
	}
	// Large lengths survive.
	fid3, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "big", DevIDs: []int{1}})
	must(t, err)
	_, err = s.CommitFile(ctx, store.CloseFile{FID: fid3, DevID: 1, DomainID: 1, Key: "big", Length: 1 << 42})
	must(t, err)
	f, err = s.FileByFID(ctx, fid3)
	must(t, err)
	if f.Length != 1<<42 {
		t.Fatalf("length %d", f.Length)
	}
	f, devs, cs, err = s.FileCopies(ctx, fid3)
	must(t, err)
	if f.Length != 1<<42 || !slices.Equal(devs, []int{1}) || cs != nil {
		t.Fatalf("file copies without checksum: %+v %v %+v", f, devs, cs)
	}
}

func testCommitReplaces(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	old := commitFile(t, s, 1, 0, "same", 1)
	other := commitFile(t, s, 2, 0, "same", 1) // other domain, untouched
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "same", DevIDs: []int{2}})
	must(t, err)
	replaced, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 2, DomainID: 1, Key: "same", Length: 5})
	must(t, err)
	if replaced != old {
		t.Fatalf("replaced %d, want %d", replaced, old)
	}
	f, err := s.FileByKey(ctx, 1, "same")
	must(t, err)
	if f.FID != fid || f.Length != 5 {
		t.Fatalf("key now %+v, want fid %d", f, fid)
	}
	_, err = s.FileByFID(ctx, old)
	wantErr(t, err, store.ErrNotFound, "replaced file row")
	dbg, err := s.FileDebug(ctx, old)
	must(t, err)
	if dbg.Delete == nil {
		t.Fatal("replaced fid not queued for deletion")
	}
	if !slices.Equal(dbg.DevIDs, []int{1}) {
		t.Fatalf("replaced fid's file_on rows %v (the delete worker needs them)", dbg.DevIDs)
	}
	f, err = s.FileByKey(ctx, 2, "same")
	must(t, err)
	if f.FID != other {
		t.Fatalf("other domain's key changed: %+v", f)
	}
}

func testExplicitFID(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{FID: 1000, DomainID: 1, Key: "x", DevIDs: []int{1}})
	must(t, err)
	if fid != 1000 {
		t.Fatalf("explicit fid came back as %d", fid)
	}
	_, err = s.RegisterTempfile(ctx, store.Tempfile{FID: 1000, DomainID: 1, Key: "y", DevIDs: []int{1}})
	wantErr(t, err, store.ErrExists, "explicit fid already a tempfile")
	_, err = s.CommitFile(ctx, store.CloseFile{FID: 1000, DevID: 1, DomainID: 1, Key: "x"})
	must(t, err)
	_, err = s.RegisterTempfile(ctx, store.Tempfile{FID: 1000, DomainID: 1, Key: "z", DevIDs: []int{1}})
	wantErr(t, err, store.ErrExists, "explicit fid already a file")
	next, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "auto", DevIDs: []int{1}})
	must(t, err)
	if next <= 1000 {
		t.Fatalf("allocated fid %d after explicit fid 1000", next)
	}
}

func testDiscardTempfile(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "k", DevIDs: []int{4, 5}})
	must(t, err)
	must(t, s.DiscardTempfile(ctx, fid, []int{4, 5}))
	dbg, err := s.FileDebug(ctx, fid)
	must(t, err)
	if dbg.Tempfile != nil || dbg.File != nil || dbg.Delete == nil || !slices.Equal(dbg.DevIDs, []int{4, 5}) {
		t.Fatalf("after discard: %+v", dbg)
	}
	wantErr(t, s.DiscardTempfile(ctx, fid, []int{4}), store.ErrNotFound, "second discard")
	// A committed upload is never discarded by a late reaper.
	fid2 := commitFile(t, s, 1, 0, "kept", 6)
	wantErr(t, s.DiscardTempfile(ctx, fid2, []int{6}), store.ErrNotFound, "discard of a committed fid")
	dbg, err = s.FileDebug(ctx, fid2)
	must(t, err)
	if dbg.File == nil || dbg.Delete != nil {
		t.Fatalf("committed fid after late discard: %+v", dbg)
	}
}

func testOldTempfiles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var fids []int64
	for i := 0; i < 3; i++ {
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "t", DevIDs: []int{1, 2}})
		must(t, err)
		fids = append(fids, fid)
	}
	tf, err := s.Tempfile(ctx, fids[0])
	must(t, err)
	got, err := s.OldTempfiles(ctx, tf.CreateTime, 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("tempfiles created before %d: %+v", tf.CreateTime, got)
	}
	got, err = s.OldTempfiles(ctx, tf.CreateTime+100, 2)
	must(t, err)
	if len(got) != 2 || got[0].FID != fids[0] || got[1].FID != fids[1] || !slices.Equal(got[0].DevIDs, []int{1, 2}) {
		t.Fatalf("old tempfiles %+v", got)
	}
}

func testDeleteFile(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "gone", 3)
	must(t, s.DeleteFile(ctx, fid))
	_, err := s.FileByKey(ctx, 1, "gone")
	wantErr(t, err, store.ErrNotFound, "deleted key")
	n, err := s.QueueLength(ctx, store.QueueDelete)
	must(t, err)
	if n != 1 {
		t.Fatalf("delete queue length %d", n)
	}
	wantErr(t, s.DeleteFile(ctx, fid), store.ErrNotFound, "second delete")
	// The key is free again.
	commitFile(t, s, 1, 0, "gone", 3)
}

// testDeleteKey: a delete that looked the key up before a rename does not
// delete the file under its new name.
func testDeleteKey(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "dk-old", 1)
	must(t, s.RenameFile(ctx, 1, "dk-old", "dk-new"))
	wantErr(t, s.DeleteKey(ctx, 1, "dk-old", fid), store.ErrNotFound, "delete by the old name")
	f, err := s.FileByKey(ctx, 1, "dk-new")
	must(t, err)
	if f.FID != fid {
		t.Fatalf("renamed key points at %d, want %d", f.FID, fid)
	}
	other := commitFile(t, s, 1, 0, "dk-other", 1)
	wantErr(t, s.DeleteKey(ctx, 1, "dk-new", other), store.ErrNotFound, "delete of another fid")
	must(t, s.DeleteKey(ctx, 1, "dk-new", fid))
	_, err = s.FileByKey(ctx, 1, "dk-new")
	wantErr(t, err, store.ErrNotFound, "deleted key")
}

func testRenameFile(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "from", 1)
	commitFile(t, s, 1, 0, "taken", 1)
	must(t, s.RenameFile(ctx, 1, "from", "to"))
	f, err := s.FileByKey(ctx, 1, "to")
	must(t, err)
	if f.FID != fid {
		t.Fatalf("renamed key points at %d, want %d", f.FID, fid)
	}
	_, err = s.FileByKey(ctx, 1, "from")
	wantErr(t, err, store.ErrNotFound, "old key after rename")
	wantErr(t, s.RenameFile(ctx, 1, "from", "x"), store.ErrNotFound, "rename missing key")
	wantErr(t, s.RenameFile(ctx, 1, "to", "taken"), store.ErrExists, "rename onto existing key")
	wantErr(t, s.RenameFile(ctx, 2, "to", "y"), store.ErrNotFound, "rename in other domain")
	f, err = s.FileByKey(ctx, 1, "to")
	must(t, err)
	if f.FID != fid {
		t.Fatal("failed rename changed the file")
	}
}

func testSetFileClass(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "c", 1)
	must(t, s.SetFileClass(ctx, fid, 7))
	f, err := s.FileByFID(ctx, fid)
	must(t, err)
	if f.ClassID != 7 {
		t.Fatalf("class %d", f.ClassID)
	}
	wantErr(t, s.SetFileClass(ctx, fid+100, 1), store.ErrNotFound, "class of missing fid")
}

func testListKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	keys := []string{"dir/a", "dir/b", "dir/c", "dir/d", "dir2/a", "other", "di"}
	for _, k := range keys {
		commitFile(t, s, 1, 0, k, 1)
	}
	commitFile(t, s, 2, 0, "dir/zz", 1)
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"dir/", "", 100, []string{"dir/a", "dir/b", "dir/c", "dir/d"}},
		{"dir/", "", 2, []string{"dir/a", "dir/b"}},
		{"dir/", "dir/b", 2, []string{"dir/c", "dir/d"}},
		{"dir/", "dir/d", 10, nil},
		{"dir", "", 100, []string{"dir/a", "dir/b", "dir/c", "dir/d", "dir2/a"}},
		{"", "", 100, []string{"di", "dir/a", "dir/b", "dir/c", "dir/d", "dir2/a", "other"}},
		{"", "dir2/a", 100, []string{"other"}},
		{"nope", "", 100, nil},
	}
	for _, c := range cases {
		for _, cs := range []bool{false, true} {
			got, err := s.ListKeys(ctx, 1, c.prefix, c.after, c.limit, cs)
			must(t, err)
			if !slices.Equal(got, c.want) {
				t.Errorf("ListKeys(prefix %q, after %q, limit %d, case-sensitive %v) = %q, want %q", c.prefix, c.after, c.limit, cs, got, c.want)
			}
		}
	}
}

func testListKeysCase(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for _, k := range []string{"Photo1", "photo2", "PHOTO3", "video"} {
		commitFile(t, s, 1, 0, k, 1)
	}
	got, err := s.ListKeys(ctx, 1, "photo", "", 100, true)
	must(t, err)
	if !slices.Equal(got, []string{"photo2"}) {
		t.Errorf("case-sensitive prefix photo: %q", got)
	}
	got, err = s.ListKeys(ctx, 1, "Photo", "", 100, true)
	must(t, err)
	if !slices.Equal(got, []string{"Photo1"}) {
		t.Errorf("case-sensitive prefix Photo: %q", got)
	}
	got, err = s.ListKeys(ctx, 1, "photo", "", 100, false)
	must(t, err)
	sort.Strings(got) // order follows the backend's collation
	if !slices.Equal(got, []string{"PHOTO3", "Photo1", "photo2"}) {
		t.Errorf("case-insensitive prefix photo: %q", got)
	}
}

func testListKeysWildcards(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	keys := []string{"a_b", "axb", "a%b", "a%%", `a\b`, "a*b", "a?b", "a[b", "a]b", "ab"}
	for _, k := range keys {
		commitFile(t, s, 1, 0, k, 1)
	}
	cases := map[string][]string{
		"a_":   {"a_b"},
		"a%":   {"a%%", "a%b"},
		"a%%":  {"a%%"},
		`a\`:   {`a\b`},
		"a*":   {"a*b"},
		"a?":   {"a?b"},
		"a[":   {"a[b"},
		"a]":   {"a]b"},
		"a[b]": nil,
		"ab":   {"ab"},
	}
	for prefix, want := range cases {
		for _, cs := range []bool{false, true} {
			got, err := s.ListKeys(ctx, 1, prefix, "", 100, cs)
			must(t, err)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("ListKeys(prefix %q, case-sensitive %v) = %q, want %q", prefix, cs, got, want)
			}
		}
	}
}

func testListFiles(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	max, err := s.MaxFID(ctx)
	must(t, err)
	if max != 0 {
		t.Fatalf("max fid of an empty database: %d", max)
	}
	var fids []int64
	for _, k := range []string{"a", "b", "c", "d"} {
		fids = append(fids, commitFile(t, s, 1, 0, k, 1))
	}
	got, err := s.ListFiles(ctx, 0, 3)
	must(t, err)
	if len(got) != 3 || got[0].FID != fids[0] || got[2].FID != fids[2] || got[1].Key != "b" {
		t.Fatalf("first page %+v", got)
	}
	got, err = s.ListFiles(ctx, fids[2], 3)
	must(t, err)
	if len(got) != 1 || got[0].FID != fids[3] {
		t.Fatalf("second page %+v", got)
	}
	max, err = s.MaxFID(ctx)
	must(t, err)
	if max != fids[3] {
		t.Fatalf("max fid %d, want %d", max, fids[3])
	}
}

func testFileOn(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "k", 1)
	devcount := func() int {
		f, err := s.FileByFID(ctx, fid)
		must(t, err)
		return f.DevCount
	}
	must(t, s.AddFileOn(ctx, fid, 2, false))
	must(t, s.AddFileOn(ctx, fid, 2, false)) // idempotent
	must(t, s.AddFileOn(ctx, fid, 3, false))
	if n := devcount(); n != 3 {
		t.Fatalf("devcount %d, want 3", n)
	}
	devs, err := s.FileDevIDs(ctx, fid)
	must(t, err)
	if !slices.Equal(devs, []int{1, 2, 3}) {
		t.Fatalf("devids %v", devs)
	}
	must(t, s.RemoveFileOn(ctx, fid, 1, false))
	must(t, s.RemoveFileOn(ctx, fid, 1, false))
	if n := devcount(); n != 2 {
		t.Fatalf("devcount %d, want 2", n)
	}
	must(t, s.AddFileOn(ctx, fid, 9, true))
	if n := devcount(); n != 2 {
		t.Fatalf("devcount %d after skipDevcount add, want 2", n)
	}
	must(t, s.UpdateDevcount(ctx, fid))
	if n := devcount(); n != 3 {
		t.Fatalf("devcount %d after UpdateDevcount, want 3", n)
	}
	other := commitFile(t, s, 1, 0, "k2", 2)
	must(t, s.AddFileOn(ctx, other, 9, false))
	on2, err := s.FIDsOnDevice(ctx, 2, 0, 10)
	must(t, err)
	if !slices.Equal(on2, []int64{fid, other}) {
		t.Fatalf("fids on device 2: %v", on2)
	}
	on2, err = s.FIDsOnDevice(ctx, 2, fid, 10)
	must(t, err)
	if !slices.Equal(on2, []int64{other}) {
		t.Fatalf("fids on device 2 after %d: %v", fid, on2)
	}
	on9, err := s.FIDsOnDevice(ctx, 9, 0, 1)
	must(t, err)
	if !slices.Equal(on9, []int64{fid}) {
		t.Fatalf("fids on device 9, limit 1: %v", on9)
	}
	// file_on rows without a file row (a deleted file) are allowed.
	must(t, s.AddFileOn(ctx, 999999, 4, false))
	devs, err = s.FileDevIDs(ctx, 999999)
	must(t, err)
	if !slices.Equal(devs, []int{4}) {
		t.Fatalf("file_on of an orphan fid: %v", devs)
	}
}

func testChecksum(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, err := s.Checksum(ctx, 5)
	wantErr(t, err, store.ErrNotFound, "missing checksum")
	sha := bytes.Repeat([]byte{0, 0xff, 0x80, '\\', '\''}, 4) // 20 raw bytes, not text
	must(t, s.SetChecksum(ctx, store.Checksum{FID: 5, HashType: store.HashSHA1, Sum: sha}))
	c, err := s.Checksum(ctx, 5)
	must(t, err)
	if c.HashType != store.HashSHA1 || !bytes.Equal(c.Sum, sha) || c.FID != 5 {
		t.Fatalf("checksum %+v", c)
	}
	md := md5.Sum(nil)
	must(t, s.SetChecksum(ctx, store.Checksum{FID: 5, HashType: store.HashMD5, Sum: md[:]}))
	c, err = s.Checksum(ctx, 5)
	must(t, err)
	if c.HashType != store.HashMD5 || !bytes.Equal(c.Sum, md[:]) {
		t.Fatalf("replaced checksum %+v", c)
	}
	must(t, s.DeleteChecksum(ctx, 5))
	_, err = s.Checksum(ctx, 5)
	wantErr(t, err, store.ErrNotFound, "deleted checksum")
}

func testFileDebug(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	dbg, err := s.FileDebug(ctx, 424242)
	must(t, err)
	if !reflect.DeepEqual(dbg, store.FileDebug{}) {
		t.Fatalf("debug of unknown fid: %+v", dbg)
	}
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "dbg", DevIDs: []int{1}})
	must(t, err)
	dbg, err = s.FileDebug(ctx, fid)
	must(t, err)
	if dbg.Tempfile == nil || dbg.Tempfile.Key != "dbg" || dbg.File != nil {
		t.Fatalf("debug of a tempfile: %+v", dbg)
	}
	_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: "dbg", Length: 3,
		Checksum: &store.Checksum{FID: fid, HashType: store.HashMD5, Sum: make([]byte, 16)}})
	must(t, err)
	must(t, s.Enqueue(ctx, store.QueueFsck, store.QueueItem{FID: fid}, 0))
	must(t, s.Enqueue(ctx, store.QueueRebalance, store.QueueItem{FID: fid, DevID: 1, Arg: "2,3"}, 0))
	dbg, err = s.FileDebug(ctx, fid)
	must(t, err)
	if dbg.File == nil || dbg.File.Key != "dbg" || dbg.Tempfile != nil || dbg.Replicate == nil || dbg.Delete != nil ||
		dbg.Fsck == nil || dbg.Rebalance == nil || dbg.Rebalance.Arg != "2,3" || dbg.Rebalance.DevID != 1 ||
		!slices.Equal(dbg.DevIDs, []int{1}) || dbg.Checksum == nil || len(dbg.Checksum.Sum) != 16 {
		t.Fatalf("debug of a committed file: %+v", dbg)
	}
}
