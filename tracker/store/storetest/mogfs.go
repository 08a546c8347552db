package storetest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The mogfs part of the suite (store.MogfsStore, docs/mogfs.md §8). Keys
// compare as bytes whatever the database's collation; under a collation
// that deems some keys equal (MySQL's case-insensitive ones) create_close
// of one replaces the other, so the tests take the keys a domain really
// holds from ListFiles and check every answer against a model computed
// from them.

// mogfsTests are run by Run and RunMogfs.
var mogfsTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store, m store.MogfsStore)
}{
	{"MogfsLookup", testMogfsLookup},
	{"MogfsListDir", testMogfsListDir},
	{"MogfsListDirMany", testMogfsListDirMany},
	{"MogfsSetAttr", testMogfsSetAttr},
	{"MogfsRename", testMogfsRename},
	{"MogfsRenamePrefix", testMogfsRenamePrefix},
	{"MogfsRenamePrefixRace", testMogfsRenamePrefixRace},
	{"MogfsCaseVariants", testMogfsCaseVariants},
}

// RunMogfs runs only the mogfs part of the suite (Run includes it), e.g.
// on databases with other collations. Stores that do not implement
// store.MogfsStore fail.
func RunMogfs(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range mogfsTests {
		t.Run(tc.name, func(t *testing.T) { runMogfs(t, open(t), tc.fn) })
	}
}

func runMogfs(t *testing.T, s store.Store, fn func(t *testing.T, s store.Store, m store.MogfsStore)) {
	m, ok := s.(store.MogfsStore)
	if !ok {
		t.Skip("the store does not implement store.MogfsStore")
	}
	// The tracker does this at start; the table may not exist yet.
	must(t, m.SetupMogfs(ctxT(t)))
	must(t, m.SetupMogfs(ctxT(t))) // idempotent
	fn(t, s, m)
}

// awkwardKeys exercise LIKE wildcards, bytes that collations treat
// specially (case, spaces, control characters, non-ASCII) and keys that
// are both files and directory prefixes.
var awkwardKeys = []string{
	"top", "a", "a.jpg", "a/b", "a/b0", "a/b/", "a/b/c", "a/c/d", "a/c/e/f", "a/", "a/c/",
	"a%/x", "a_/y", "ab/z", "a\\/w", "a/ sp", "a/\x01ctl", "a/\x01", "a/é", "a/E", "a/e", "a/B",
	"Dir/1", "dir/2", "DIR/3", "Dir/sub/x", "dir/sub/y", "a//x", "/lead", "%%x", "z/0", "z/.", "z/-",
}

// domainKeys returns the keys of dmid, from ListFiles.
func domainKeys(t *testing.T, s store.Store, dmid int) []string {
	t.Helper()
	var keys []string
	var after int64
	for {
		files, err := s.ListFiles(ctxT(t), after, 1000)
		must(t, err)
		if len(files) == 0 {
			sort.Strings(keys)
			return keys
		}
		for _, f := range files {
			if f.DomainID == dmid {
				keys = append(keys, f.Key)
			}
			after = f.FID
		}
	}
}

// modelEntry is one expected entry of a listing.
type modelEntry struct {
	name   string
	dir    bool
	cursor string // the key, or prefix + name + "/"
}

// modelLevel computes the entries of one level from the keys, in the
// order mogfs_list_dir gives them (byte order of their cursors).
func modelLevel(keys []string, prefix string) []modelEntry {
	var out []modelEntry
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			if !seen[rest[:i]] {
				seen[rest[:i]] = true
				out = append(out, modelEntry{rest[:i], true, prefix + rest[:i] + "/"})
			}
			continue
		}
		out = append(out, modelEntry{rest, false, k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cursor < out[j].cursor })
	return out
}

// listAll pages through a level with pages of limit entries.
func listAll(t *testing.T, m store.MogfsStore, dmid int, prefix string, limit int) []store.MogfsDirEntry {
	t.Helper()
	var out []store.MogfsDirEntry
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatalf("listing %q never ends", prefix)
		}
		p, err := m.MogfsListDir(ctxT(t), dmid, prefix, after, limit)
		must(t, err)
		if len(p.Entries) > limit {
			t.Fatalf("list %q after %q limit %d: %d entries", prefix, after, limit, len(p.Entries))
		}
		out = append(out, p.Entries...)
		if p.Next == "" {
			return out
		}
		if len(p.Entries) != limit {
			t.Fatalf("list %q after %q limit %d: %d entries and a next cursor %q", prefix, after, limit, len(p.Entries), p.Next)
		}
		if p.Next <= after {
			t.Fatalf("list %q: cursor went from %q back to %q", prefix, after, p.Next)
		}
		after = p.Next
	}
}

// checkLevel compares a listing with the model of the level.
func checkLevel(t *testing.T, s store.Store, m store.MogfsStore, dmid int, keys []string, prefix string, limit int) {
	t.Helper()
	want := modelLevel(keys, prefix)
	got := listAll(t, m, dmid, prefix, limit)
	show := func(es []store.MogfsDirEntry) string {
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "%q/%v ", e.Name, e.Dir)
		}
		return b.String()
	}
	if len(got) != len(want) {
		t.Fatalf("list %q limit %d: %d entries %s, want %d %v", prefix, limit, len(got), show(got), len(want), want)
	}
	for i, e := range got {
		w := want[i]
		if e.Name != w.name || e.Dir != w.dir {
			t.Fatalf("list %q limit %d: entry %d is %q dir=%v, want %q dir=%v (all: %s)", prefix, limit, i, e.Name, e.Dir, w.name, w.dir, show(got))
		}
		if !e.Dir {
			f, err := s.FileByKey(ctxT(t), dmid, w.cursor)
			must(t, err)
			if e.File.File != f {
				t.Fatalf("list %q: file %q is %+v, want %+v", prefix, w.cursor, e.File.File, f)
			}
		}
	}
}

func testMogfsLookup(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	for _, k := range awkwardKeys {
		commitFile(t, s, 1, 0, k, 1)
	}
	commitFile(t, s, 2, 0, "other/x", 1)
	keys := domainKeys(t, s, 1)
	has := func(k string) bool { _, ok := slices.BinarySearch(keys, k); return ok }
	probes := append(slices.Clone(awkwardKeys), "a/c", "a/c/e", "a_", "a%", "aa", "b", "other", "dir", "DIR", "dIr", "Dir/sub", "a/b/c/d", "")
	for _, k := range probes {
		if k == "" {
			continue
		}
		got, err := m.MogfsLookup(ctx, 1, k)
		must(t, err)
		wantDir := false
		for _, kk := range keys {
			if strings.HasPrefix(kk, k+"/") {
				wantDir = true
			}
		}
		if (got.File != nil) != has(k) || got.Dir != wantDir {
			t.Fatalf("lookup %q: file %v dir %v, want file %v dir %v (keys %q)", k, got.File != nil, got.Dir, has(k), wantDir, keys)
		}
		if got.File != nil {
			f, err := s.FileByKey(ctx, 1, k)
			must(t, err)
			if got.File.File != f || got.File.Attr != nil {
				t.Fatalf("lookup %q: %+v, want %+v without attributes", k, got.File, f)
			}
		}
		if got.DirAttr != nil {
			t.Fatalf("lookup %q: directory attributes %+v before any were set", k, got.DirAttr)
		}
	}
	// Attributes of the file and of the directory's marker.
	fid, err := m.MogfsSetAttr(ctx, 1, "a/c/", store.MogfsAttrUpdate{SetMode: true, Attr: store.MogfsAttr{Mode: 0o700}, Default: store.MogfsAttr{Mtime: 5}})
	must(t, err)
	got, err := m.MogfsLookup(ctx, 1, "a/c")
	must(t, err)
	if got.File != nil || !got.Dir || got.DirAttr == nil || *got.DirAttr != (store.MogfsAttr{Mtime: 5, Mode: 0o700}) {
		t.Fatalf("lookup a/c: %+v dir attr %+v", got, got.DirAttr)
	}
	marker, err := m.MogfsLookup(ctx, 1, "a/c/")
	must(t, err)
	if marker.File == nil || marker.File.FID != fid || marker.File.Attr == nil || marker.File.Attr.Mode != 0o700 {
		t.Fatalf("lookup of the marker itself: %+v", marker.File)
	}
	// Another domain's keys are not seen.
	got, err = m.MogfsLookup(ctx, 1, "other")
	must(t, err)
	if got.File != nil || got.Dir {
		t.Fatalf("lookup sees another domain: %+v", got)
	}
	// A row of mogfs_attr whose fid has no file row is ignored.
	must(t, s.DeleteFile(ctx, fid))
	got, err = m.MogfsLookup(ctx, 1, "a/c")
	must(t, err)
	if !got.Dir || got.DirAttr != nil {
		t.Fatalf("lookup a/c after its marker was deleted: %+v", got)
	}
}

func testMogfsListDir(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	for _, k := range awkwardKeys {
		commitFile(t, s, 1, 0, k, 1)
	}
	commitFile(t, s, 2, 0, "a/other-domain", 1)
	keys := domainKeys(t, s, 1)
	prefixes := []string{"", "a/", "a/b/", "a/c/", "a/c/e/", "z/", "Dir/", "dir/", "a%/", "a_/", "/", "a//", "nothing/"}
	for _, p := range prefixes {
		for _, limit := range []int{1, 2, 3, 7, 1000} {
			checkLevel(t, s, m, 1, keys, p, limit)
		}
	}
	// An empty directory is an empty page, not an error.
	p, err := m.MogfsListDir(ctx, 1, "nothing/", "", 10)
	must(t, err)
	if len(p.Entries) != 0 || p.Next != "" {
		t.Fatalf("empty directory: %+v", p)
	}
	// A cursor inside a subtree skips the rest of that subtree.
	p, err = m.MogfsListDir(ctx, 1, "a/", "a/c/d", 1000)
	must(t, err)
	for _, e := range p.Entries {
		if e.Name <= "c" {
			t.Fatalf("after a/c/d: entry %q", e.Name)
		}
	}
	// The marker of a directory is its first entry, named "", and a
	// directory entry carries its marker's attributes.
	must(t, func() error {
		_, err := m.MogfsSetAttr(ctx, 1, "a/b/", store.MogfsAttrUpdate{SetMtime: true, SetMode: true,
			Attr: store.MogfsAttr{Mtime: -7, MtimeNsec: 999999999, Mode: 0o1777}})
		return err
	}())
	p, err = m.MogfsListDir(ctx, 1, "a/b/", "", 1)
	must(t, err)
	if len(p.Entries) != 1 || p.Entries[0].Name != "" || p.Entries[0].Dir || p.Entries[0].File.Attr == nil ||
		*p.Entries[0].File.Attr != (store.MogfsAttr{Mtime: -7, MtimeNsec: 999999999, Mode: 0o1777}) || p.Next != "a/b/" {
		t.Fatalf("first entry of a/b/: %+v next %q", p.Entries, p.Next)
	}
	found := false
	for _, e := range listAll(t, m, 1, "a/", 1000) {
		if e.Dir && e.Name == "b" {
			found = true
			if e.Attr == nil || e.Attr.Mode != 0o1777 || e.Attr.Mtime != -7 {
				t.Fatalf("directory entry b: attributes %+v", e.Attr)
			}
		}
		if e.Dir && e.Name == "c" && e.Attr != nil {
			t.Fatalf("directory c has attributes %+v", e.Attr)
		}
	}
	if !found {
		t.Fatal("no directory entry b under a/")
	}
}

// testMogfsListDirMany: a level of 1 200 files and 200 directories (each
// with two keys), paged as ls does.
func testMogfsListDirMany(t *testing.T, s store.Store, m store.MogfsStore) {
	var keys []string
	for i := 0; i < 1200; i++ {
		keys = append(keys, fmt.Sprintf("big/f%05d", i))
	}
	for i := 0; i < 200; i++ {
		for j := 0; j < 2; j++ {
			keys = append(keys, fmt.Sprintf("big/d%03d/%d", i, j))
		}
	}
	keys = append(keys, "big", "big0", "bi/g")
	commitMany(t, s, 1, keys)
	keys = domainKeys(t, s, 1)
	checkLevel(t, s, m, 1, keys, "big/", 1000)
	checkLevel(t, s, m, 1, keys, "big/", 333)
	checkLevel(t, s, m, 1, keys, "big/", 1)
	checkLevel(t, s, m, 1, keys, "", 2)
}

// commitMany commits keys with a few writers at once.
func commitMany(t *testing.T, s store.Store, dmid int, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan string)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			for k := range work {
				fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: dmid, Key: k, DevIDs: []int{1}})
				if err == nil {
					_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: dmid, Key: k, Length: int64(len(k))})
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func testMogfsSetAttr(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	fid := commitFile(t, s, 1, 0, "f", 1)
	attrOf := func(key string) *store.MogfsAttr {
		t.Helper()
		l, err := m.MogfsLookup(ctx, 1, key)
		must(t, err)
		if l.File == nil {
			t.Fatalf("lookup %q: no file", key)
		}
		return l.File.Attr
	}
	def := store.MogfsAttr{Mtime: 1000, Mode: 0o644}
	got, err := m.MogfsSetAttr(ctx, 1, "f", store.MogfsAttrUpdate{SetMode: true, Attr: store.MogfsAttr{Mode: 0o600}, Default: def})
	must(t, err)
	if got != fid {
		t.Fatalf("set attr answered fid %d, want %d", got, fid)
	}
	if a := attrOf("f"); a == nil || *a != (store.MogfsAttr{Mtime: 1000, Mode: 0o600}) {
		t.Fatalf("new row %+v", a)
	}
	// A field not given keeps its value, whatever the default says.
	_, err = m.MogfsSetAttr(ctx, 1, "f", store.MogfsAttrUpdate{SetMtime: true, Attr: store.MogfsAttr{Mtime: -5, MtimeNsec: 12}, Default: store.MogfsAttr{Mtime: 1, Mode: 0o777}})
	must(t, err)
	if a := attrOf("f"); a == nil || *a != (store.MogfsAttr{Mtime: -5, MtimeNsec: 12, Mode: 0o600}) {
		t.Fatalf("after setting mtime %+v", a)
	}
	_, err = m.MogfsSetAttr(ctx, 1, "f", store.MogfsAttrUpdate{SetMode: true, Attr: store.MogfsAttr{Mode: 0o4755}, Default: def})
	must(t, err)
	if a := attrOf("f"); a == nil || *a != (store.MogfsAttr{Mtime: -5, MtimeNsec: 12, Mode: 0o4755}) {
		t.Fatalf("after setting mode %+v", a)
	}
	_, err = m.MogfsSetAttr(ctx, 1, "missing", store.MogfsAttrUpdate{SetMode: true, Default: def})
	wantErr(t, err, store.ErrNotFound, "set attr of a missing key")
	_, err = m.MogfsSetAttr(ctx, 2, "f", store.MogfsAttrUpdate{SetMode: true, Default: def})
	wantErr(t, err, store.ErrNotFound, "set attr in another domain")
	// The row follows the fid through a rename; an overwrite (new fid)
	// starts without one.
	_, err = m.MogfsRename(ctx, 1, "f", "g", store.MogfsAttrUpdate{})
	must(t, err)
	if a := attrOf("g"); a == nil || a.Mode != 0o4755 {
		t.Fatalf("after rename %+v", a)
	}
	must(t, s.RenameFile(ctx, 1, "g", "h"))
	if a := attrOf("h"); a == nil || a.Mode != 0o4755 {
		t.Fatalf("after the original rename %+v", a)
	}
	commitFile(t, s, 1, 0, "h", 1)
	if a := attrOf("h"); a != nil {
		t.Fatalf("overwritten key keeps attributes %+v", a)
	}
	// DeleteMogfsAttr drops a fid's row; an absent row is no error.
	j, err := m.MogfsSetAttr(ctx, 1, "h", store.MogfsAttrUpdate{SetMode: true, Attr: store.MogfsAttr{Mode: 0o444}})
	must(t, err)
	if a := attrOf("h"); a == nil || a.Mode != 0o444 {
		t.Fatalf("new fid's attributes %+v", a)
	}
	must(t, m.DeleteMogfsAttr(ctx, j))
	must(t, m.DeleteMogfsAttr(ctx, j))
	must(t, m.DeleteMogfsAttr(ctx, fid))
	if a := attrOf("h"); a != nil {
		t.Fatalf("attributes after DeleteMogfsAttr: %+v", a)
	}
}

func testMogfsRename(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	src := commitFile(t, s, 1, 0, "src", 1)
	dst := commitFile(t, s, 1, 0, "dst", 1)
	_, err := m.MogfsSetAttr(ctx, 1, "src", store.MogfsAttrUpdate{SetMode: true, Attr: store.MogfsAttr{Mode: 0o640}})
	must(t, err)
	// The rename sets ctime on the moved fid's row, keeping its mode.
	res, err := m.MogfsRename(ctx, 1, "src", "dst", store.MogfsAttrUpdate{SetCtime: true, Attr: store.MogfsAttr{Ctime: 77, CtimeNsec: 5}})
	must(t, err)
	if res.FID != src || res.ReplacedFID != dst {
		t.Fatalf("rename over dst: %+v, want fid %d replacing %d", res, src, dst)
	}
	l, err := m.MogfsLookup(ctx, 1, "dst")
	must(t, err)
	if l.File == nil || l.File.Attr == nil || l.File.Attr.Mode != 0o640 || !l.File.Attr.HasCtime || l.File.Attr.Ctime != 77 || l.File.Attr.CtimeNsec != 5 {
		t.Fatalf("attributes after a rename with ctime: %+v", l.File)
	}
	f, err := s.FileByKey(ctx, 1, "dst")
	must(t, err)
	if f.FID != src {
		t.Fatalf("dst is fid %d, want %d", f.FID, src)
	}
	_, err = s.FileByKey(ctx, 1, "src")
	wantErr(t, err, store.ErrNotFound, "source after rename")
	dbg, err := s.FileDebug(ctx, dst)
	must(t, err)
	if dbg.File != nil || dbg.Delete == nil {
		t.Fatalf("replaced fid %d: file row %v, queued for deletion %v", dst, dbg.File, dbg.Delete)
	}
	// To a free key; onto itself; from a missing key.
	res, err = m.MogfsRename(ctx, 1, "dst", "new/key", store.MogfsAttrUpdate{})
	must(t, err)
	if res.FID != src || res.ReplacedFID != 0 {
		t.Fatalf("rename to a free key: %+v", res)
	}
	res, err = m.MogfsRename(ctx, 1, "new/key", "new/key", store.MogfsAttrUpdate{})
	must(t, err)
	if res.FID != src || res.ReplacedFID != 0 {
		t.Fatalf("rename onto itself: %+v", res)
	}
	_, err = m.MogfsRename(ctx, 1, "nope", "x", store.MogfsAttrUpdate{})
	wantErr(t, err, store.ErrNotFound, "rename of a missing key")
	_, err = m.MogfsRename(ctx, 2, "new/key", "x", store.MogfsAttrUpdate{})
	wantErr(t, err, store.ErrNotFound, "rename in another domain")
	_, err = m.MogfsRename(ctx, 1, "new/key", strings.Repeat("k", store.MaxLongKeyLen+1), store.MogfsAttrUpdate{})
	wantErr(t, err, store.ErrKeyTooLong, "rename to a too long key")
	long := strings.Repeat("k", store.MaxKeyLen)
	_, err = m.MogfsRename(ctx, 1, "new/key", long, store.MogfsAttrUpdate{})
	must(t, err)
	if l, err := m.MogfsLookup(ctx, 1, long); err != nil || l.File == nil || l.File.Attr == nil || l.File.Attr.Mode != 0o640 {
		t.Fatalf("after renames: %+v %v", l, err)
	}
	// A case-only rename works whatever the collation.
	commitFile(t, s, 1, 0, "case", 1)
	_, err = m.MogfsRename(ctx, 1, "case", "CASE", store.MogfsAttrUpdate{})
	must(t, err)
	if keys := domainKeys(t, s, 1); !slices.Contains(keys, "CASE") || slices.Contains(keys, "case") {
		t.Fatalf("after case-only rename: %q", keys)
	}
	// Many renames onto one key at once: every source fid but the last
	// one to land is queued for deletion; nothing is left half done.
	stores := []store.Store{s}
	if s2 := reopen(t, s); s2 != nil {
		stores = append(stores, s2)
	}
	const n = 12
	fids := map[int64]bool{}
	for i := 0; i < n; i++ {
		fids[commitFile(t, s, 1, 0, fmt.Sprintf("race/%d", i), 1)] = true
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms := stores[i%len(stores)].(store.MogfsStore)
			if _, err := ms.MogfsRename(ctx, 1, fmt.Sprintf("race/%d", i), "race/target", store.MogfsAttrUpdate{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if keys := modelLevel(domainKeys(t, s, 1), "race/"); len(keys) != 1 || keys[0].name != "target" {
		t.Fatalf("after concurrent renames: %v", keys)
	}
	winner, err := s.FileByKey(ctx, 1, "race/target")
	must(t, err)
	for fid := range fids {
		dbg, err := s.FileDebug(ctx, fid)
		must(t, err)
		if (fid == winner.FID) != (dbg.File != nil) || (fid == winner.FID) == (dbg.Delete != nil) {
			t.Fatalf("fid %d (winner %d): file %v, queued for deletion %v", fid, winner.FID, dbg.File != nil, dbg.Delete != nil)
		}
	}
}

func testMogfsRenamePrefix(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	tree := []string{"d/", "d/a", "d/b/", "d/b/c", "d/%x", "d/_y", "dd/keep", "d_/keep", "d%/keep", "D/keep", "d0", "d"}
	for _, k := range tree {
		commitFile(t, s, 1, 0, k, 1)
	}
	before := domainKeys(t, s, 1)
	fidOf := func(key string) int64 {
		t.Helper()
		f, err := s.FileByKey(ctx, 1, key)
		must(t, err)
		return f.FID
	}
	fids := map[string]int64{}
	for _, k := range before {
		fids[k] = fidOf(k)
	}
	_, err := m.MogfsSetAttr(ctx, 1, "d/a", store.MogfsAttrUpdate{SetMode: true, Attr: store.MogfsAttr{Mode: 0o611}})
	must(t, err)
	// The target's marker is replaced; other keys under it refuse.
	marker := commitFile(t, s, 1, 0, "e/", 1)
	res, err := m.MogfsRenamePrefix(ctx, 1, "d/", "e/")
	must(t, err)
	var moved int64
	for _, k := range before {
		if strings.HasPrefix(k, "d/") {
			moved++
		}
	}
	if res.Count != moved || res.ReplacedFID != marker {
		t.Fatalf("rename d/ to e/: %+v, want count %d replacing %d", res, moved, marker)
	}
	after := domainKeys(t, s, 1)
	for _, k := range before {
		nk := k
		if strings.HasPrefix(k, "d/") {
			nk = "e/" + k[2:]
		}
		if !slices.Contains(after, nk) || fidOf(nk) != fids[k] {
			t.Fatalf("key %q: not moved to %q with its fid (keys now %q)", k, nk, after)
		}
	}
	if len(after) != len(before) {
		t.Fatalf("keys %q after the rename, from %q", after, before)
	}
	if l, err := m.MogfsLookup(ctx, 1, "e/a"); err != nil || l.File == nil || l.File.Attr == nil || l.File.Attr.Mode != 0o611 {
		t.Fatalf("attributes after the prefix rename: %+v %v", l.File, err)
	}
	if dbg, err := s.FileDebug(ctx, marker); err != nil || dbg.File != nil || dbg.Delete == nil {
		t.Fatalf("replaced marker %d: %+v %v", marker, dbg, err)
	}
	// Nothing under the source: count 0, no error.
	res, err = m.MogfsRenamePrefix(ctx, 1, "d/", "f/")
	must(t, err)
	if res.Count != 0 {
		t.Fatalf("rename of an empty prefix: %+v", res)
	}
	// A non-empty target refuses, and nothing changes.
	commitFile(t, s, 1, 0, "g/x", 1)
	_, err = m.MogfsRenamePrefix(ctx, 1, "e/", "g/")
	wantErr(t, err, store.ErrDirNotEmpty, "rename onto a non-empty directory")
	// A key that would grow too long refuses, and nothing changes.
	long := "e/" + strings.Repeat("l", store.MaxKeyLen-2)
	commitFile(t, s, 1, 0, long, 1)
	_, err = m.MogfsRenamePrefix(ctx, 1, "e/", strings.Repeat("x", store.MaxLongKeyLen-200)+"/")
	wantErr(t, err, store.ErrKeyTooLong, "rename making a key too long")
	res, err = m.MogfsRenamePrefix(ctx, 1, "e/", "f/")
	must(t, err)
	if res.Count != moved+1 {
		t.Fatalf("rename e/ to f/ after the failures: %+v, want count %d", res, moved+1)
	}
	if got := modelLevel(domainKeys(t, s, 1), "e/"); len(got) != 0 {
		t.Fatalf("left under e/: %v", got)
	}
	// Bad prefixes are refused.
	for _, p := range [][2]string{{"", "x/"}, {"x/", ""}, {"x", "y/"}, {"x/", "y"}, {"x/", "x/y/"}, {"x/y/", "x/"}, {"x/", "x/"}} {
		if _, err := m.MogfsRenamePrefix(ctx, 1, p[0], p[1]); err == nil {
			t.Fatalf("rename prefix %q to %q: no error", p[0], p[1])
		}
	}
}

// testMogfsRenamePrefixRace: two renames of one prefix at once (from two
// trackers when possible): one moves everything, the other nothing.
func testMogfsRenamePrefixRace(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	var keys []string
	for i := 0; i < 200; i++ {
		keys = append(keys, fmt.Sprintf("src/%03d", i), fmt.Sprintf("src/sub/%03d", i))
	}
	commitMany(t, s, 1, keys)
	m2 := m
	if s2 := reopen(t, s); s2 != nil {
		m2 = s2.(store.MogfsStore)
		must(t, m2.SetupMogfs(ctx))
	}
	for round := 0; round < 3; round++ {
		from := "src/"
		if round > 0 {
			from = fmt.Sprintf("r%d-0/", round-1)
		}
		targets := []string{fmt.Sprintf("r%d-0/", round), fmt.Sprintf("r%d-1/", round)}
		counts := make([]int64, 2)
		var wg sync.WaitGroup
		for i, ms := range []store.MogfsStore{m, m2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := ms.MogfsRenamePrefix(ctx, 1, from, targets[i])
				if err != nil {
					t.Error(err)
				}
				counts[i] = res.Count
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if counts[0]+counts[1] != int64(len(keys)) || counts[0] != 0 && counts[1] != 0 {
			t.Fatalf("round %d: counts %v, want one of them %d", round, counts, len(keys))
		}
		if counts[1] != 0 {
			// Keep the chain going from the winner.
			_, err := m.MogfsRenamePrefix(ctx, 1, targets[1], targets[0])
			must(t, err)
		}
		all := domainKeys(t, s, 1)
		if len(all) != len(keys) {
			t.Fatalf("round %d: %d keys, want %d", round, len(all), len(keys))
		}
		for _, k := range all {
			if !strings.HasPrefix(k, targets[0]) {
				t.Fatalf("round %d: key %q not under %q", round, k, targets[0])
			}
		}
	}
}

// testMogfsCaseVariants: keys that differ only in case where the database
// holds both (a binary collation) or one replaced the other (a
// case-insensitive one): every command answers for the exact bytes.
func testMogfsCaseVariants(t *testing.T, s store.Store, m store.MogfsStore) {
	ctx := ctxT(t)
	for _, k := range []string{"a/X", "a/x", "Q/1", "q/2", "q", "Q/sub/3"} {
		commitFile(t, s, 1, 0, k, 1)
	}
	keys := domainKeys(t, s, 1)
	for _, p := range []string{"", "a/", "Q/", "q/"} {
		checkLevel(t, s, m, 1, keys, p, 1)
		checkLevel(t, s, m, 1, keys, p, 100)
	}
	for _, k := range []string{"a/X", "a/x", "A/x", "q", "Q", "Q/sub", "q/sub"} {
		l, err := m.MogfsLookup(ctx, 1, k)
		must(t, err)
		wantDir := false
		for _, kk := range keys {
			wantDir = wantDir || strings.HasPrefix(kk, k+"/")
		}
		if (l.File != nil) != slices.Contains(keys, k) || l.Dir != wantDir {
			t.Fatalf("lookup %q among %q: file %v dir %v", k, keys, l.File != nil, l.Dir)
		}
		if _, err := m.MogfsSetAttr(ctx, 1, k, store.MogfsAttrUpdate{SetMode: true}); (err == nil) != slices.Contains(keys, k) {
			t.Fatalf("set attr %q among %q: %v", k, keys, err)
		}
	}
	// Renaming "q/" moves the keys under exactly "q/", not "Q/".
	res, err := m.MogfsRenamePrefix(ctx, 1, "q/", "w/")
	must(t, err)
	var want []string
	for _, k := range keys {
		if strings.HasPrefix(k, "q/") {
			want = append(want, "w/"+k[2:])
		} else {
			want = append(want, k)
		}
	}
	sort.Strings(want)
	if got := domainKeys(t, s, 1); !slices.Equal(got, want) || res.Count != int64(len(keys)-len(modelKeysNotUnder(keys, "q/"))) {
		t.Fatalf("after renaming q/ to w/: %q (count %d), want %q", got, res.Count, want)
	}
}

func modelKeysNotUnder(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}
