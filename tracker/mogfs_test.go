package tracker_test

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// The mogfs commands (docs/mogfs.md §8), over TCP against the real
// mogilefsd on SQLite and MariaDB. Small trees are written through the
// protocol (create_open, PUT to a real mogstored, create_close); big
// listings get their rows straight into the database, which the tracker
// then reads like any other rows.

// mogfsEnv is a running cluster plus a direct connection to its database.
type mogfsEnv struct {
	cl *mogtest.Cluster
	c  *mogtest.TrackerConn
	db *sql.DB
}

// startMogfs starts a cluster on the backend o names, with domain "fs".
func startMogfs(t *testing.T, o mogtest.TrackerOptions, my *mogtest.MySQL) *mogfsEnv {
	t.Helper()
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "fs", Classes: map[string]int{"one": 1}})
	e := &mogfsEnv{cl: cl, c: cl.Tracker.Conn(t)}
	var err error
	if my != nil {
		e.db, err = sql.Open("mysql", my.GoDSN)
	} else {
		path := strings.TrimPrefix(cl.Tracker.DSN, "DBI:SQLite:dbname=")
		e.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	return e
}

// mogfsBackends runs f on SQLite, on MariaDB with the server's default
// collation (latin1_swedish_ci here, as a database made by the original
// mogdbsetup usually has) and on MariaDB with a binary collation.
func mogfsBackends(t *testing.T, f func(t *testing.T, e *mogfsEnv)) {
	t.Run("sqlite", func(t *testing.T) { f(t, startMogfs(t, mogtest.TrackerOptions{}, nil)) })
	t.Run("mariadb", func(t *testing.T) {
		m := mogtest.NewMySQL(t)
		f(t, startMogfs(t, mogtest.TrackerOptions{MySQL: &m}, &m))
	})
	t.Run("mariadb_latin1_bin", func(t *testing.T) {
		m := mogtest.NewMySQL(t)
		alterCollation(t, m, "latin1", "latin1_bin")
		f(t, startMogfs(t, mogtest.TrackerOptions{MySQL: &m}, &m))
	})
}

// alterCollation sets a test database's default character set and
// collation before its tables are made.
func alterCollation(t *testing.T, m mogtest.MySQL, charset, collation string) {
	t.Helper()
	db, err := sql.Open("mysql", m.GoDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("ALTER DATABASE " + m.Name + " CHARACTER SET " + charset + " COLLATE " + collation); err != nil {
		t.Fatal(err)
	}
}

func (e *mogfsEnv) dmid(t *testing.T, domain string) int {
	t.Helper()
	var id int
	if err := e.db.QueryRow("SELECT dmid FROM domain WHERE namespace = ?", domain).Scan(&id); err != nil {
		t.Fatalf("dmid of %s: %v", domain, err)
	}
	return id
}

// insertKeys adds file rows for keys (fids from firstFID on), many per
// statement.
func (e *mogfsEnv) insertKeys(t *testing.T, domain string, firstFID int64, keys []string) {
	t.Helper()
	dmid := e.dmid(t, domain)
	for i := 0; i < len(keys); i += 500 {
		var vals []string
		var args []any
		for j := i; j < min(len(keys), i+500); j++ {
			vals = append(vals, "(?, ?, ?, ?, 0, 1)")
			args = append(args, firstFID+int64(j), dmid, keys[j], len(keys[j]))
		}
		if _, err := e.db.Exec("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES "+strings.Join(vals, ", "), args...); err != nil {
			t.Fatal(err)
		}
	}
}

// keysOf lists a domain's keys from the database, sorted as bytes.
func (e *mogfsEnv) keysOf(t *testing.T, domain string) []string {
	t.Helper()
	rows, err := e.db.Query("SELECT dkey FROM file WHERE dmid = ?", e.dmid(t, domain))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// dirEntry is one entry of a mogfs_list_dir reply.
type dirEntry struct {
	name, typ string
	fields    wire.Args // the entry's other fields, without the prefix
}

// listPage sends one mogfs_list_dir.
func listPage(t *testing.T, c *mogtest.TrackerConn, domain, prefix, after string, limit int) ([]dirEntry, string) {
	t.Helper()
	a := wire.Args{"domain": domain, "prefix": prefix}
	if after != "" {
		a["after"] = after
	}
	if limit > 0 {
		a["limit"] = strconv.Itoa(limit)
	}
	r := ok(t, c, "mogfs_list_dir "+enc(a))
	n := atoi(t, r["entry_count"])
	out := make([]dirEntry, 0, n)
	for i := 1; i <= n; i++ {
		p := "entry_" + strconv.Itoa(i) + "_"
		e := dirEntry{name: r[p+"name"], typ: r[p+"type"], fields: wire.Args{}}
		for _, k := range []string{"fid", "size", "class", "devcount", "mtime", "mtime_nsec", "mode",
			"uid", "gid", "atime", "atime_nsec", "ctime", "ctime_nsec", "rdev", "dkey", "nlink"} {
			if v, ok := r[p+k]; ok {
				e.fields[k] = v
			}
		}
		if e.typ != "f" && e.typ != "d" {
			t.Fatalf("entry %d of %q has type %q", i, prefix, e.typ)
		}
		out = append(out, e)
	}
	// Nothing but these fields (and next_after).
	if len(r) != 1+len(out)*2+fieldCount(out)+boolInt(r["next_after"] != "") {
		t.Fatalf("reply has unexpected fields: %v", r)
	}
	return out, r["next_after"]
}

func fieldCount(es []dirEntry) int {
	n := 0
	for _, e := range es {
		n += len(e.fields)
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listAll pages through a directory as mogfs does.
func listAll(t *testing.T, c *mogtest.TrackerConn, domain, prefix string, limit int) ([]dirEntry, int) {
	t.Helper()
	var out []dirEntry
	after := ""
	pages := 0
	for {
		es, next := listPage(t, c, domain, prefix, after, limit)
		pages++
		out = append(out, es...)
		if next == "" {
			return out, pages
		}
		if next <= after || !strings.HasPrefix(next, prefix) {
			t.Fatalf("list %q: next_after %q after %q", prefix, next, after)
		}
		after = next
	}
}

// wantLevel computes the entries of one directory level from the keys:
// byte order of each entry's cursor (its key, or prefix + name + "/").
func wantLevel(keys []string, prefix string) []string {
	type ent struct{ show, cursor string }
	var out []ent
	seen := map[string]bool{}
	for _, k := range keys {
		rest, found := strings.CutPrefix(k, prefix)
		if !found {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			if !seen[rest[:i]] {
				seen[rest[:i]] = true
				out = append(out, ent{"d:" + rest[:i], prefix + rest[:i] + "/"})
			}
			continue
		}
		out = append(out, ent{"f:" + rest, k})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cursor < out[j].cursor })
	shown := make([]string, len(out))
	for i, e := range out {
		shown[i] = e.show
	}
	return shown
}

func shownLevel(es []dirEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.typ + ":" + e.name
	}
	return out
}

// TestMogfsCommands covers every mogfs command and error over TCP.
func TestMogfsCommands(t *testing.T) {
	mogfsBackends(t, func(t *testing.T, e *mogfsEnv) {
		t.Run("table", func(t *testing.T) { testMogfsTable(t, e) })
		t.Run("errors", func(t *testing.T) { testMogfsErrors(t, e) })
		t.Run("files", func(t *testing.T) { testMogfsFiles(t, e) })
		t.Run("create_close", func(t *testing.T) { testMogfsCreateClose(t, e) })
		t.Run("inode", func(t *testing.T) { testMogfsInode(t, e) })
		t.Run("long", func(t *testing.T) { testMogfsLongKeys(t, e) })
		t.Run("links", func(t *testing.T) { testMogfsLinks(t, e) })
		t.Run("listing", func(t *testing.T) { testMogfsListing(t, e) })
		t.Run("case", func(t *testing.T) { testMogfsCase(t, e) })
		t.Run("concurrent", func(t *testing.T) { testMogfsConcurrent(t, e) })
	})
}

// testMogfsTable: the tracker made mogfs_attr at start on a database made
// without it, and left the original schema alone.
// testMogfsInode checks the attributes beyond mtime and mode: owner,
// atime, ctime, device number, and file types in mode.
func testMogfsInode(t *testing.T, e *mogfsEnv) {
	c := e.c
	o := ok(t, c, "create_open "+enc(wire.Args{"domain": "fs", "key": "ino/fifo", "multi_dest": "1"}))
	put(t, o["path_1"], nil)
	ok(t, c, "mogfs_create_close "+enc(wire.Args{"domain": "fs", "key": "ino/fifo", "fid": o["fid"], "devid": o["devid_1"],
		"path": o["path_1"], "size": "0", "mode": strconv.Itoa(0o10640), "uid": "4294967295", "gid": "7",
		"mtime": "100", "ctime": "200", "ctime_nsec": "3", "rdev": "0"}))
	l := ok(t, c, "mogfs_lookup domain=fs&key=ino/fifo")
	want := map[string]string{"mode": strconv.Itoa(0o10640), "uid": "4294967295", "gid": "7", "mtime": "100", "ctime": "200", "ctime_nsec": "3"}
	for k, v := range want {
		if l[k] != v {
			t.Fatalf("lookup %s = %q, want %q: %v", k, l[k], v, l)
		}
	}
	if _, ok := l["atime"]; ok {
		t.Fatalf("atime never set but answered: %v", l)
	}
	if _, ok := l["rdev"]; ok {
		t.Fatalf("rdev 0 answered: %v", l)
	}
	// chmod keeps the file type; each field set alone keeps the others.
	ok(t, c, "mogfs_set_attr domain=fs&key=ino/fifo&mode=384")
	ok(t, c, "mogfs_set_attr domain=fs&key=ino/fifo&uid=0")
	ok(t, c, "mogfs_set_attr domain=fs&key=ino/fifo&atime=-5&atime_nsec=9&rdev=2049")
	l = ok(t, c, "mogfs_lookup domain=fs&key=ino/fifo")
	want = map[string]string{"mode": strconv.Itoa(0o10600), "uid": "0", "gid": "7", "mtime": "100", "atime": "-5", "atime_nsec": "9",
		"ctime": "200", "rdev": "2049"}
	for k, v := range want {
		if l[k] != v {
			t.Fatalf("after set_attr %s = %q, want %q: %v", k, l[k], v, l)
		}
	}
	// A listing carries the same fields.
	es, _ := listPage(t, c, "fs", "ino/", "", 0)
	if len(es) != 1 || es[0].fields["uid"] != "0" || es[0].fields["mode"] != strconv.Itoa(0o10600) || es[0].fields["rdev"] != "2049" {
		t.Fatalf("listing: %+v", es)
	}
	// A new row from set_attr alone: the given fields over the defaults.
	o = ok(t, c, "create_open "+enc(wire.Args{"domain": "fs", "key": "ino/plain", "multi_dest": "1"}))
	put(t, o["path_1"], []byte("x"))
	ok(t, c, "create_close "+enc(wire.Args{"domain": "fs", "key": "ino/plain", "fid": o["fid"], "devid": o["devid_1"], "path": o["path_1"], "size": "1"}))
	ok(t, c, "mogfs_set_attr domain=fs&key=ino/plain&gid=50")
	l = ok(t, c, "mogfs_lookup domain=fs&key=ino/plain")
	if l["gid"] != "50" || l["mode"] != "420" || l["uid"] != "" {
		t.Fatalf("set_attr of gid alone on a new row: %v", l)
	}
	// pathcount: the copies with the answer, as get_paths noverify
	// names them; none without it.
	if l["paths"] != "" || l["path1"] != "" {
		t.Fatalf("paths without pathcount: %v", l)
	}
	l = ok(t, c, "mogfs_lookup domain=fs&key=ino/plain&pathcount=2")
	if l["paths"] != "1" || l["path1"] != o["path_1"] || l["fid"] != o["fid"] {
		t.Fatalf("mogfs_lookup pathcount=2: %v, want path %s", l, o["path_1"])
	}
	if l := ok(t, c, "mogfs_lookup domain=fs&key=ino&pathcount=2"); l["file"] != "0" || l["paths"] != "" {
		t.Fatalf("mogfs_lookup pathcount of a directory: %v", l)
	}
}

// testMogfsLongKeys checks keys longer than file.dkey holds
// (docs/mogfs-names.md): stored under surrogates, looked up, listed with
// the short keys, renamed across the 255-byte boundary both ways, and
// forgotten when an original client deletes the surrogate.
func testMogfsLongKeys(t *testing.T, e *mogfsEnv) {
	c := e.c
	if f := ok(t, c, "mogfs_features"); f["long_keys"] != "1" || f["max_key"] != "8192" {
		t.Fatalf("mogfs_features: %v", f)
	}
	seg := strings.Repeat("s", 200)
	upload := func(name, body string) string {
		t.Helper()
		sur := ".mogfs/long/" + strconv.FormatInt(time.Now().UnixNano(), 16)
		o := ok(t, c, "create_open "+enc(wire.Args{"domain": "fs", "key": sur, "multi_dest": "1"}))
		put(t, o["path_1"], []byte(body))
		ok(t, c, "mogfs_create_close "+enc(wire.Args{"domain": "fs", "key": sur, "fid": o["fid"], "devid": o["devid_1"],
			"path": o["path_1"], "size": strconv.Itoa(len(body)), "name": name, "mode": "384"}))
		return sur
	}
	a := "lk/" + seg + "/" + seg // 405 bytes
	sur := upload(a, "first")
	l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": a}))
	if l["file"] != "1" || l["dkey"] != sur || l["size"] != "5" || l["mode"] != "384" {
		t.Fatalf("lookup of a long key: %v", l)
	}
	if got := paths(t, c, "fs", sur, "&noverify=1"); len(got) == 0 {
		t.Fatal("no paths for the surrogate")
	}
	// Its directories exist (the one above only through mogfs_name).
	if l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": "lk/" + seg})); l["dir"] != "1" || l["file"] != "0" {
		t.Fatalf("directory of a long key: %v", l)
	}
	store(t, c, "fs", "", "lk/short", []byte("x"))
	es, next := listPage(t, c, "fs", "lk/", "", 0)
	if len(es) != 2 || es[0].name != "short" || es[1].name != seg || es[1].typ != "d" || next != "" {
		t.Fatalf("listing of lk/: %+v %q", es, next)
	}
	es, _ = listPage(t, c, "fs", "lk/"+seg+"/", "", 0)
	if len(es) != 1 || es[0].name != seg || es[0].typ != "f" || es[0].fields["dkey"] != sur {
		t.Fatalf("listing of the long directory: %+v", es)
	}
	// Paging across both tables: one entry a page.
	es1, n1 := listPage(t, c, "fs", "lk/", "", 1)
	es2, n2 := listPage(t, c, "fs", "lk/", n1, 1)
	es3, n3 := listPage(t, c, "fs", "lk/", n2, 1)
	if len(es1) != 1 || es1[0].name != "short" || len(es2) != 1 || es2[0].name != seg || len(es3) != 0 || n3 != "" {
		t.Fatalf("pages of one: %+v %q %+v %q %+v %q", es1, n1, es2, n2, es3, n3)
	}
	ok(t, c, "mogfs_set_attr "+enc(wire.Args{"domain": "fs", "key": a, "uid": "7"}))
	// An overwrite through a new surrogate replaces the old one.
	sur2 := upload(a, "second")
	if l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": a})); l["dkey"] != sur2 || l["size"] != "6" {
		t.Fatalf("after the overwrite: %v", l)
	}
	wantErr(t, c, "get_paths domain=fs&key="+sur+"&noverify=1", "unknown_key", "")
	// long -> long, long -> short, short -> long.
	b := "lk/" + seg + "/" + seg + "-b"
	ok(t, c, "mogfs_rename "+enc(wire.Args{"domain": "fs", "from_key": a, "to_key": b}))
	if l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": b})); l["dkey"] != sur2 {
		t.Fatalf("long to long: %v", l)
	}
	ok(t, c, "mogfs_rename "+enc(wire.Args{"domain": "fs", "from_key": b, "to_key": "lk/back"}))
	if l := ok(t, c, "mogfs_lookup domain=fs&key=lk/back"); l["size"] != "6" || l["dkey"] != "" {
		t.Fatalf("long to short: %v", l)
	}
	wantErr(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": "lk/" + seg}), "unknown_key", "")
	ok(t, c, "mogfs_rename "+enc(wire.Args{"domain": "fs", "from_key": "lk/back", "to_key": a}))
	l = ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": a}))
	if !strings.HasPrefix(l["dkey"], ".mogfs/long/") || l["size"] != "6" {
		t.Fatalf("short to long: %v", l)
	}
	// A directory rename makes short keys long and long keys short.
	store(t, c, "fs", "", "pre/x", []byte("x"))
	ok(t, c, "mogfs_rename_prefix "+enc(wire.Args{"domain": "fs", "from_prefix": "pre/", "to_prefix": "lk/" + seg + "/in/"}))
	in := "lk/" + seg + "/in/x"
	if l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": in})); l["file"] != "1" {
		t.Fatalf("short key made long by a prefix rename: %v", l)
	}
	r := ok(t, c, "mogfs_rename_prefix "+enc(wire.Args{"domain": "fs", "from_prefix": "lk/" + seg + "/", "to_prefix": "lk2/"}))
	if r["count"] != "2" {
		t.Fatalf("prefix rename of two long keys: %v", r)
	}
	for _, k := range []string{"lk2/" + seg, "lk2/in/x"} {
		if l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": k})); l["file"] != "1" || l["dkey"] != "" {
			t.Fatalf("%s made short by a prefix rename: %v", k, l)
		}
	}
	// Deleting a surrogate with the original command forgets its name.
	c2 := "lk3/" + strings.Repeat("z", 300)
	sur3 := upload(c2, "z")
	ok(t, c, "delete domain=fs&key="+sur3)
	wantErr(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": c2}), "unknown_key", "")
	if es, _ := listPage(t, c, "fs", "lk3/", "", 0); len(es) != 0 {
		t.Fatalf("listing after the surrogate's delete: %+v", es)
	}
	wantErr(t, c, "mogfs_create_close domain=fs&key=plain&fid=1&devid=1&path=x&name=short", "bad_params", "a name needs a key under .mogfs/long/")
}

// testMogfsLinks checks hard links (docs/mogfs-names.md): names of one
// file, each a row of mogfs_name, sharing content, attributes and nlink;
// renamed, replaced and deleted one by one; the last short name folded
// back into the file row.
func testMogfsLinks(t *testing.T, e *mogfsEnv) {
	c := e.c
	look := func(key string) wire.Args {
		t.Helper()
		return ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": key}))
	}
	store(t, c, "fs", "", "ln/a", []byte("AAAA"))
	fid := look("ln/a")["fid"]
	l := ok(t, c, "mogfs_link domain=fs&from_key=ln/a&to_key=ln/b&ctime=9")
	sur := l["dkey"]
	if !strings.HasPrefix(sur, ".mogfs/long/") || l["nlink"] != "2" || l["fid"] != fid || l["ctime"] != "9" {
		t.Fatalf("mogfs_link: %v", l)
	}
	for _, k := range []string{"ln/a", "ln/b"} {
		if l := look(k); l["fid"] != fid || l["dkey"] != sur || l["nlink"] != "2" || l["size"] != "4" {
			t.Fatalf("lookup of %s: %v", k, l)
		}
	}
	es, _ := listPage(t, c, "fs", "ln/", "", 0)
	if len(es) != 2 || es[0].fields["nlink"] != "2" || es[1].fields["nlink"] != "2" || es[1].fields["fid"] != fid {
		t.Fatalf("listing of two links: %+v", es)
	}
	wantErr(t, c, "mogfs_link domain=fs&from_key=ln/a&to_key=ln/b", "key_exists", "")
	wantErr(t, c, "mogfs_link domain=fs&from_key=ln/none&to_key=ln/x", "unknown_key", "")
	// New content through one name is the content of every name.
	o := ok(t, c, "create_open "+enc(wire.Args{"domain": "fs", "key": "ln/b", "multi_dest": "1"}))
	put(t, o["path_1"], []byte("BBBBBB"))
	ok(t, c, "mogfs_create_close "+enc(wire.Args{"domain": "fs", "key": "ln/b", "fid": o["fid"], "devid": o["devid_1"], "path": o["path_1"], "size": "6"}))
	if l := look("ln/a"); l["size"] != "6" || l["fid"] != o["fid"] || l["nlink"] != "2" {
		t.Fatalf("ln/a after a write through ln/b: %v", l)
	}
	long := "ln/" + strings.Repeat("L", 300)
	ok(t, c, "mogfs_link "+enc(wire.Args{"domain": "fs", "from_key": "ln/b", "to_key": long}))
	ok(t, c, "mogfs_rename domain=fs&from_key=ln/b&to_key=ln/c")
	if l := look("ln/c"); l["nlink"] != "3" {
		t.Fatalf("renamed link: %v", l)
	}
	// A rename over another name of the same file does nothing.
	if r := ok(t, c, "mogfs_rename domain=fs&from_key=ln/a&to_key=ln/c"); r["replaced"] != "0" {
		t.Fatalf("rename onto the same file: %v", r)
	}
	if look("ln/a")["nlink"] != "3" {
		t.Fatal("a rename onto another link of the same file changed it")
	}
	ok(t, c, "mogfs_delete domain=fs&key=ln/c")
	ok(t, c, "mogfs_delete "+enc(wire.Args{"domain": "fs", "key": long}))
	// One short name left: the file row has its key again.
	if l := look("ln/a"); l["dkey"] != "" || l["nlink"] != "" || l["size"] != "6" {
		t.Fatalf("the last name: %v", l)
	}
	if got := paths(t, c, "fs", "ln/a", "&noverify=1"); len(got) == 0 {
		t.Fatal("no paths for the folded-back key")
	}
	// A link replaced by a rename; the file goes with its last name.
	ok(t, c, "mogfs_link domain=fs&from_key=ln/a&to_key=ln/d")
	store(t, c, "fs", "", "ln/e", []byte("E"))
	ok(t, c, "mogfs_rename domain=fs&from_key=ln/e&to_key=ln/d")
	if l := look("ln/a"); l["size"] != "6" || l["dkey"] != "" {
		t.Fatalf("ln/a after its other name was replaced: %v", l)
	}
	if l := look("ln/d"); l["size"] != "1" {
		t.Fatalf("ln/d after the rename over it: %v", l)
	}
	// A directory rename takes both names of a file along.
	ok(t, c, "mogfs_link domain=fs&from_key=ln/a&to_key=ln/f")
	ok(t, c, "mogfs_rename_prefix domain=fs&from_prefix=ln/&to_prefix=ln2/")
	for _, k := range []string{"ln2/a", "ln2/f"} {
		if l := look(k); l["nlink"] != "2" || l["size"] != "6" {
			t.Fatalf("%s after the directory rename: %v", k, l)
		}
	}
	ok(t, c, "mogfs_delete domain=fs&key=ln2/a")
	ok(t, c, "mogfs_delete domain=fs&key=ln2/f")
	wantErr(t, c, "mogfs_lookup domain=fs&key=ln2/f", "unknown_key", "")
	wantErr(t, c, "mogfs_delete domain=fs&key=ln2/f", "unknown_key", "")
	ok(t, c, "mogfs_delete domain=fs&key=ln2/d")
	if es, _ := listPage(t, c, "fs", "ln2/", "", 0); len(es) != 0 {
		t.Fatalf("left after deleting every name: %+v", es)
	}
}

func testMogfsTable(t *testing.T, e *mogfsEnv) {
	var n int
	if err := e.db.QueryRow("SELECT COUNT(*) FROM mogfs_attr").Scan(&n); err != nil {
		t.Fatalf("table mogfs_attr: %v", err)
	}
	var v string
	if err := e.db.QueryRow("SELECT value FROM server_settings WHERE field = 'schema_version'").Scan(&v); err != nil || v != "17" {
		t.Fatalf("schema_version %q, %v", v, err)
	}
}

func testMogfsErrors(t *testing.T, e *mogfsEnv) {
	c := e.c
	store(t, c, "fs", "", "err/file", []byte("x"))
	for _, cmd := range []string{"mogfs_lookup key=a", "mogfs_list_dir prefix=", "mogfs_set_attr key=a&mode=1",
		"mogfs_rename from_key=a&to_key=b", "mogfs_rename_prefix from_prefix=a/&to_prefix=b/"} {
		wantErr(t, c, cmd, "no_domain", "No domain provided")
		wantErr(t, c, cmd+"&domain=nope", "unreg_domain", "Domain name invalid/not found")
	}
	// mogfs_lookup
	wantErr(t, c, "mogfs_lookup domain=fs", "no_key", "")
	wantErr(t, c, "mogfs_lookup domain=fs&key=", "no_key", "")
	wantErr(t, c, "mogfs_lookup domain=fs&key=err/nope", "unknown_key", "")
	wantErr(t, c, "mogfs_lookup domain=fs&key=er", "unknown_key", "")
	// mogfs_list_dir
	wantErr(t, c, "mogfs_list_dir domain=fs&prefix=err", "bad_params", "prefix must be empty or end with /")
	wantErr(t, c, "mogfs_list_dir domain=fs&prefix=err/&after=other", "bad_params", "after must start with prefix")
	for _, l := range []string{"0", "-1", "10001", "x", "1.5"} {
		wantErr(t, c, "mogfs_list_dir domain=fs&prefix=err/&limit="+l, "bad_params", "limit must be a number from 1 to 10000")
	}
	es, next := listPage(t, c, "fs", "nothing/", "", 0)
	if len(es) != 0 || next != "" {
		t.Fatalf("empty directory: %v %q", es, next)
	}
	// mogfs_set_attr
	wantErr(t, c, "mogfs_set_attr domain=fs&mode=1", "no_key", "")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/nope&mode=1", "unknown_key", "")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file", "bad_params", "nothing to set: give mtime, mode, uid, gid, atime, ctime or rdev")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mtime_nsec=5", "bad_params", "mtime_nsec needs mtime")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mode=12288", "bad_params", "mode must be a decimal number from 0 to 65535 with a valid file type")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mode=65536", "bad_params", "mode must be a decimal number from 0 to 65535 with a valid file type")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&uid=4294967296", "bad_params", "uid must be a number from 0 to 4294967295")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&gid=-1", "bad_params", "gid must be a number from 0 to 4294967295")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&ctime_nsec=1", "bad_params", "ctime_nsec needs ctime")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&atime=1&atime_nsec=1000000000", "bad_params", "atime_nsec must be a number from 0 to 999999999")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&rdev=-5", "bad_params", "rdev must be a non-negative number")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mode=-1", "bad_params", "")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mode=0x1", "bad_params", "")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mtime=now", "bad_params", "mtime must be a number of seconds")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mtime=99999999999999999999", "bad_params", "")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mtime=1&mtime_nsec=1000000000", "bad_params", "mtime_nsec must be a number from 0 to 999999999")
	wantErr(t, c, "mogfs_set_attr domain=fs&key=err/file&mtime=1&mtime_nsec=-1", "bad_params", "")
	// mogfs_rename
	wantErr(t, c, "mogfs_rename domain=fs&to_key=b", "no_key", "")
	wantErr(t, c, "mogfs_rename domain=fs&from_key=err/file", "no_key", "")
	wantErr(t, c, "mogfs_rename domain=fs&from_key=err/file&to_key=", "no_key", "")
	wantErr(t, c, "mogfs_rename domain=fs&from_key=err/nope&to_key=b", "unknown_key", "")
	wantErr(t, c, "mogfs_rename domain=fs&from_key=err/file&to_key="+strings.Repeat("k", 8193), "key_too_long", "Key would be longer than 8192 bytes")
	// mogfs_rename_prefix
	for _, p := range [][2]string{{"", "b/"}, {"a/", ""}, {"a", "b/"}, {"a/", "b"}, {"a/", "a/b/"}, {"a/b/", "a/"}, {"a/", "a/"}} {
		wantErr(t, c, "mogfs_rename_prefix "+enc(wire.Args{"domain": "fs", "from_prefix": p[0], "to_prefix": p[1]}), "bad_params", "")
	}
	store(t, c, "fs", "", "err2/x", []byte("y"))
	wantErr(t, c, "mogfs_rename_prefix domain=fs&from_prefix=err/&to_prefix=err2/", "dir_not_empty", "Target directory is not empty")
	long := "err3/" + strings.Repeat("l", 8187)
	ok(t, c, "mogfs_rename "+enc(wire.Args{"domain": "fs", "from_key": "err2/x", "to_key": long}))
	wantErr(t, c, "mogfs_rename_prefix domain=fs&from_prefix=err3/&to_prefix=err33/", "key_too_long", "Key would be longer than 8192 bytes")
	if l := ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "fs", "key": long})); l["file"] != "1" {
		t.Fatalf("%s after the refused rename: %v", long[:10], l)
	}
	// Errors echo callid; a tracker answers the rest as usual.
	if r := raw(t, c, "mogfs_lookup domain=fs&key=err/nope&callid=7"); !strings.HasSuffix(r, " 7") || !strings.HasPrefix(r, "ERR unknown_key ") {
		t.Fatalf("callid on error: %q", r)
	}
	if r := ok(t, c, "mogfs_lookup domain=fs&key=err/file&callid=8"); r["callid"] != "8" {
		t.Fatalf("callid: %v", r)
	}
}

// testMogfsFiles follows real files through every command: fields,
// attributes, renames that replace (the old fid purged from the storage
// nodes, its attributes dropped), directory renames and the noverify
// cache.
func testMogfsFiles(t *testing.T, e *mogfsEnv) {
	c := e.c
	body := map[string][]byte{"ph/a.jpg": []byte("AAAA"), "ph/b.jpg": []byte("BBBBBB"), "ph/2020/x.jpg": []byte("X"), "ph/empty/": nil}
	fids := map[string]string{}
	for _, k := range []string{"ph/a.jpg", "ph/b.jpg", "ph/2020/x.jpg", "ph/empty/"} {
		fids[k] = store(t, c, "fs", "", k, body[k])
	}
	// mogfs_lookup: a file, a directory, a directory with a marker.
	l := ok(t, c, "mogfs_lookup domain=fs&key=ph/a.jpg")
	if l["file"] != "1" || l["dir"] != "0" || l["fid"] != fids["ph/a.jpg"] || l["size"] != "4" || l["class"] != "default" ||
		(l["devcount"] != "1" && l["devcount"] != "2") || l["mtime"] != "" || l["mode"] != "" || len(l) != 6 {
		t.Fatalf("lookup ph/a.jpg: %v", l)
	}
	l = ok(t, c, "mogfs_lookup domain=fs&key=ph")
	if l["file"] != "0" || l["dir"] != "1" || len(l) != 2 {
		t.Fatalf("lookup ph: %v", l)
	}
	// mogfs_set_attr: a new row takes the defaults for what is not given.
	before := time.Now().Unix()
	r := ok(t, c, "mogfs_set_attr domain=fs&key=ph/a.jpg&mode=384")
	after := time.Now().Unix()
	if r["fid"] != fids["ph/a.jpg"] {
		t.Fatalf("set_attr answered %v", r)
	}
	l = ok(t, c, "mogfs_lookup domain=fs&key=ph/a.jpg")
	if mt, _ := strconv.ParseInt(l["mtime"], 10, 64); l["mode"] != "384" || mt < before || mt > after {
		t.Fatalf("attributes after setting the mode: %v (time %d..%d)", l, before, after)
	}
	ok(t, c, "mogfs_set_attr domain=fs&key=ph/a.jpg&mtime=-86400&mtime_nsec=123")
	l = ok(t, c, "mogfs_lookup domain=fs&key=ph/a.jpg")
	if l["mtime"] != "-86400" || l["mtime_nsec"] != "123" || l["mode"] != "384" {
		t.Fatalf("attributes after setting mtime: %v", l)
	}
	ok(t, c, "mogfs_set_attr domain=fs&key=ph/empty/&mtime=1700000000")
	l = ok(t, c, "mogfs_lookup domain=fs&key=ph/empty")
	if l["file"] != "0" || l["dir"] != "1" || l["dir_mtime"] != "1700000000" || l["dir_mtime_nsec"] != "0" || l["dir_mode"] != "493" {
		t.Fatalf("lookup of a directory with a marker: %v", l)
	}
	ok(t, c, "mogfs_set_attr domain=fs&key=ph/2020/x.jpg&mode=420&mtime=5")
	// mogfs_list_dir: files with fields, directories with their marker's
	// attributes, the marker itself as the entry "".
	es, next := listPage(t, c, "fs", "ph/", "", 0)
	if got := shownLevel(es); strings.Join(got, " ") != "d:2020 f:a.jpg f:b.jpg d:empty" || next != "" {
		t.Fatalf("ph/ lists %v next %q", got, next)
	}
	if f := es[1].fields; f["fid"] != fids["ph/a.jpg"] || f["size"] != "4" || f["class"] != "default" || f["mtime"] != "-86400" ||
		f["mtime_nsec"] != "123" || f["mode"] != "384" {
		t.Fatalf("entry a.jpg: %v", f)
	}
	if f := es[2].fields; f["fid"] != fids["ph/b.jpg"] || f["size"] != "6" || f["mtime"] != "" || len(f) != 4 {
		t.Fatalf("entry b.jpg: %v", f)
	}
	if f := es[3].fields; f["mtime"] != "1700000000" || f["mode"] != "493" || len(f) != 3 {
		t.Fatalf("entry empty: %v", f)
	}
	if f := es[0].fields; len(f) != 0 {
		t.Fatalf("entry 2020 (no marker): %v", f)
	}
	es, _ = listPage(t, c, "fs", "ph/empty/", "", 0)
	if len(es) != 1 || es[0].name != "" || es[0].typ != "f" || es[0].fields["size"] != "0" {
		t.Fatalf("ph/empty/ lists %v", es)
	}
	es, next = listPage(t, c, "fs", "ph/", "", 2)
	if got := shownLevel(es); strings.Join(got, " ") != "d:2020 f:a.jpg" || next != "ph/a.jpg" {
		t.Fatalf("first page of 2: %v next %q", got, next)
	}
	es, next = listPage(t, c, "fs", "ph/", "ph/2020/", 0)
	if got := shownLevel(es); strings.Join(got, " ") != "f:a.jpg f:b.jpg d:empty" || next != "" {
		t.Fatalf("after ph/2020/: %v next %q", got, next)
	}

	// The noverify cache learns b.jpg's fid; mogfs_rename replaces it.
	oldB := paths(t, c, "fs", "ph/b.jpg", "&noverify=1")
	r = ok(t, c, "mogfs_rename domain=fs&from_key=ph/a.jpg&to_key=ph/b.jpg")
	if r["replaced"] != "1" {
		t.Fatalf("rename over b.jpg: %v", r)
	}
	for _, p := range paths(t, c, "fs", "ph/b.jpg", "&noverify=1") {
		if slices.Contains(oldB, p) {
			t.Fatalf("get_paths noverify still gives the replaced file's %s", p)
		}
		if code, got := get(t, p); code != 200 || string(got) != "AAAA" {
			t.Fatalf("GET %s after the rename: %d %q", p, code, got)
		}
	}
	wantErr(t, c, "mogfs_lookup domain=fs&key=ph/a.jpg", "unknown_key", "")
	l = ok(t, c, "mogfs_lookup domain=fs&key=ph/b.jpg")
	if l["fid"] != fids["ph/a.jpg"] || l["mode"] != "384" || l["mtime"] != "-86400" {
		t.Fatalf("b.jpg after the rename: %v (attributes follow the fid)", l)
	}
	// The replaced fid went the way of delete: off the storage nodes.
	waitGone(t, oldB)
	r = ok(t, c, "mogfs_rename domain=fs&from_key=ph/b.jpg&to_key=ph/c.jpg")
	if r["replaced"] != "0" {
		t.Fatalf("rename to a free key: %v", r)
	}
	r = ok(t, c, "mogfs_rename domain=fs&from_key=ph/c.jpg&to_key=ph/c.jpg")
	if r["replaced"] != "0" {
		t.Fatalf("rename onto itself: %v", r)
	}
	ok(t, c, "mogfs_lookup domain=fs&key=ph/c.jpg")

	// mogfs_rename_prefix: the target's marker is replaced, keys and
	// attributes move, cached lookups of old keys are forgotten.
	paths(t, c, "fs", "ph/2020/x.jpg", "&noverify=1")
	markerFID := store(t, c, "fs", "", "pics/", nil)
	r = ok(t, c, "mogfs_rename_prefix domain=fs&from_prefix=ph/&to_prefix=pics/")
	if r["count"] != "3" {
		t.Fatalf("rename ph/ to pics/: %v", r)
	}
	wantErr(t, c, "get_paths domain=fs&key=ph/2020/x.jpg&noverify=1", "unknown_key", "")
	for _, p := range paths(t, c, "fs", "pics/2020/x.jpg", "&noverify=1") {
		if code, got := get(t, p); code != 200 || string(got) != "X" {
			t.Fatalf("GET %s after the prefix rename: %d %q", p, code, got)
		}
	}
	l = ok(t, c, "mogfs_lookup domain=fs&key=pics/2020/x.jpg")
	if l["fid"] != fids["ph/2020/x.jpg"] || l["mode"] != "420" || l["mtime"] != "5" {
		t.Fatalf("x.jpg after the prefix rename: %v", l)
	}
	l = ok(t, c, "mogfs_lookup domain=fs&key=pics/empty")
	if l["dir_mtime"] != "1700000000" {
		t.Fatalf("pics/empty after the prefix rename: %v", l)
	}
	wantErr(t, c, "mogfs_lookup domain=fs&key=ph", "unknown_key", "")
	a := ok(t, c, "file_debug fid="+markerFID)
	if a["fid_fid"] != "" {
		t.Fatalf("replaced marker %s still a file: %v", markerFID, a)
	}
	r = ok(t, c, "mogfs_rename_prefix domain=fs&from_prefix=ph/&to_prefix=pics2/")
	if r["count"] != "0" {
		t.Fatalf("rename of an empty prefix: %v", r)
	}
	// The delete worker drops the attributes of the fids it purges.
	id, _ := strconv.ParseInt(fids["ph/2020/x.jpg"], 10, 64)
	ok(t, c, "delete domain=fs&key=pics/2020/x.jpg")
	waitNoAttr(t, e, id)
}

// testMogfsCreateClose: mogfs_create_close commits the file and its
// attribute row together; bad attributes are refused before anything is
// committed, so the key keeps its previous version.
func testMogfsCreateClose(t *testing.T, e *mogfsEnv) {
	c := e.c
	upload := func(key, body string, attrs wire.Args) (fid string, reply string) {
		t.Helper()
		o := ok(t, c, "create_open "+enc(wire.Args{"domain": "fs", "key": key, "multi_dest": "1"}))
		put(t, o["path_1"], []byte(body))
		a := wire.Args{"domain": "fs", "key": key, "fid": o["fid"], "devid": o["devid_1"], "path": o["path_1"], "size": strconv.Itoa(len(body))}
		for k, v := range attrs {
			a[k] = v
		}
		return o["fid"], raw(t, c, "mogfs_create_close "+enc(a))
	}
	fid, r := upload("cc/a", "first", wire.Args{"mtime": "1600000000", "mtime_nsec": "42", "mode": "384"})
	if !strings.HasPrefix(r, "OK") {
		t.Fatalf("mogfs_create_close: %q", r)
	}
	l := ok(t, c, "mogfs_lookup domain=fs&key=cc/a")
	if l["fid"] != fid || l["size"] != "5" || l["mtime"] != "1600000000" || l["mtime_nsec"] != "42" || l["mode"] != "384" {
		t.Fatalf("after mogfs_create_close: %v", l)
	}
	// A new version gets its own row; the old fid goes the way of delete.
	fid2, r := upload("cc/a", "second", wire.Args{"mode": "256"})
	if !strings.HasPrefix(r, "OK") {
		t.Fatalf("second version: %q", r)
	}
	l = ok(t, c, "mogfs_lookup domain=fs&key=cc/a")
	if mt, _ := strconv.ParseInt(l["mtime"], 10, 64); l["fid"] != fid2 || l["mode"] != "256" || time.Since(time.Unix(mt, 0)) > time.Minute {
		t.Fatalf("second version without mtime (the tracker's time): %v", l)
	}
	old, _ := strconv.ParseInt(fid, 10, 64)
	waitNoAttr(t, e, old)
	// No attribute given: the defaults, 0755 for a directory marker.
	if _, r := upload("cc/dir/", "", nil); !strings.HasPrefix(r, "OK") {
		t.Fatalf("marker: %q", r)
	}
	if l := ok(t, c, "mogfs_lookup domain=fs&key=cc/dir"); l["dir_mode"] != "493" {
		t.Fatalf("marker committed without attributes: %v", l)
	}
	// Refused attributes commit nothing; the usual create_close errors too.
	for _, bad := range []wire.Args{{"mode": "12288"}, {"mtime_nsec": "1"}, {"mtime": "x"}, {"uid": "x"}} {
		if _, r := upload("cc/a", "third", bad); !strings.HasPrefix(r, "ERR bad_params ") {
			t.Fatalf("%v: %q", bad, r)
		}
	}
	if l := ok(t, c, "mogfs_lookup domain=fs&key=cc/a"); l["fid"] != fid2 || l["size"] != "6" {
		t.Fatalf("a refused commit changed the key: %v", l)
	}
	wantErr(t, c, "mogfs_create_close domain=fs&key=cc/a&fid=999999&devid=1&path=x", "bogus_args", "")
	wantErr(t, c, "mogfs_create_close domain=nope&key=cc/a", "unreg_domain", "Domain name invalid/not found")
}

// waitGone polls until GETs of the URLs fail (the delete worker ran).
func waitGone(t *testing.T, urls []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, u := range urls {
		for {
			code, _ := get(t, u)
			if code == 404 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still answers %d: the replaced file was not deleted", u, code)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// waitNoAttr polls until fid has no mogfs_attr row.
func waitNoAttr(t *testing.T, e *mogfsEnv, fid int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := e.db.QueryRow("SELECT COUNT(*) FROM mogfs_attr WHERE fid = ?", fid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fid %d still has its mogfs_attr row after being purged", fid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testMogfsListing: 10 000 files and 100 directories in one directory,
// listed in pages as ls does, and the top level of a bigger domain.
func testMogfsListing(t *testing.T, e *mogfsEnv) {
	c := e.c
	ok(t, c, "create_domain domain=big")
	var keys []string
	for i := 0; i < 10000; i++ {
		keys = append(keys, fmt.Sprintf("dir/f%05d", i))
	}
	for i := 0; i < 100; i++ {
		for j := 0; j < 20; j++ {
			keys = append(keys, fmt.Sprintf("dir/sub%03d/%02d", i, j))
		}
	}
	keys = append(keys, "dir", "dir0", "dir.txt", "di/r", "dir/", "dir/sub050/")
	e.insertKeys(t, "big", 500000000, keys)
	ok(t, c, "mogfs_set_attr domain=big&key=dir/sub050/&mode=448")
	all := e.keysOf(t, "big")
	want := wantLevel(all, "dir/")
	if len(want) != 10101 {
		t.Fatalf("model has %d entries", len(want))
	}
	t0 := time.Now()
	got, pages := listAll(t, c, "big", "dir/", 0)
	t.Logf("ls of 10 101 entries: %d pages in %v", pages, time.Since(t0))
	if pages != 11 {
		t.Fatalf("%d pages of the default 1000", pages)
	}
	if !slices.Equal(shownLevel(got), want) {
		t.Fatalf("listing of dir/ differs from the keys")
	}
	for _, en := range got {
		if en.typ == "f" && en.name != "" && (en.fields["size"] != strconv.Itoa(len("dir/"+en.name)) || en.fields["class"] != "default" || en.fields["devcount"] != "1") {
			t.Fatalf("entry %q: %v", en.name, en.fields)
		}
		if en.typ == "d" && (en.name == "sub050") != (en.fields["mode"] == "448") {
			t.Fatalf("directory %q: %v", en.name, en.fields)
		}
	}
	got, pages = listAll(t, c, "big", "dir/", 10000)
	if pages != 2 || !slices.Equal(shownLevel(got), want) {
		t.Fatalf("listing with limit 10000: %d pages", pages)
	}
	got, _ = listAll(t, c, "big", "dir/", 777)
	if !slices.Equal(shownLevel(got), want) {
		t.Fatal("listing with limit 777 differs")
	}
	got, _ = listAll(t, c, "big", "", 1)
	if w := wantLevel(all, ""); !slices.Equal(shownLevel(got), w) {
		t.Fatalf("top level: %v, want %v", shownLevel(got), w)
	}
	got, _ = listAll(t, c, "big", "dir/sub050/", 3)
	if w := wantLevel(all, "dir/sub050/"); !slices.Equal(shownLevel(got), w) || len(w) != 21 {
		t.Fatalf("dir/sub050/: %v, want %v", shownLevel(got), w)
	}
	// A directory rename of the big tree, and the listing of its target.
	r := ok(t, c, "mogfs_rename_prefix domain=big&from_prefix=dir/&to_prefix=moved/")
	if r["count"] != strconv.Itoa(10000+2000+2) {
		t.Fatalf("rename of dir/: %v", r)
	}
	got, _ = listAll(t, c, "big", "moved/", 0)
	if !slices.Equal(shownLevel(got), want) {
		t.Fatal("listing of the moved tree differs")
	}
	if es, _ := listPage(t, c, "big", "dir/", "", 0); len(es) != 0 {
		t.Fatalf("dir/ after the move: %v", shownLevel(es))
	}
}

// testMogfsCase: keys that differ only in case, or that a collation sorts
// otherwise than bytes. Under a case-insensitive collation the database
// cannot hold "a/X" and "a/x" at once (create_close of one replaces the
// other); whatever it holds is listed, found and renamed by exact bytes.
func testMogfsCase(t *testing.T, e *mogfsEnv) {
	c := e.c
	ok(t, c, "create_domain domain=case")
	for _, k := range []string{"a/X", "a/x", "Dir/a", "dir/b", "DIR/c", "Dir/sub/x", "dir/sub/y", "d", "D/e", "b", "B/x", "a_b/1", "a%b/2", "ab/3", "a/ctl\x01", "a/\x01"} {
		store(t, c, "case", "", k, []byte(k))
	}
	keys := e.keysOf(t, "case")
	t.Logf("the database holds %q", keys)
	for _, p := range []string{"", "a/", "Dir/", "dir/", "DIR/", "dir/sub/", "D/", "B/", "a_b/", "a%b/"} {
		for _, limit := range []int{1, 2, 1000} {
			got, _ := listAll(t, c, "case", p, limit)
			if w := wantLevel(keys, p); !slices.Equal(shownLevel(got), w) {
				t.Fatalf("list %q limit %d: %q, want %q", p, limit, shownLevel(got), w)
			}
		}
	}
	for _, k := range []string{"a/X", "a/x", "A/x", "dir", "Dir", "DIR", "dIr", "d", "D", "a_b", "a%b", "a"} {
		r, err := c.Do("mogfs_lookup", wire.Args{"domain": "case", "key": k})
		isFile, isDir := slices.Contains(keys, k), false
		for _, kk := range keys {
			isDir = isDir || strings.HasPrefix(kk, k+"/")
		}
		if !isFile && !isDir {
			if we, ok := err.(*wire.Error); !ok || we.Code != "unknown_key" {
				t.Fatalf("lookup %q: %v %v, want unknown_key", k, r, err)
			}
			continue
		}
		if err != nil || r["file"] != strconv.Itoa(boolInt(isFile)) || r["dir"] != strconv.Itoa(boolInt(isDir)) {
			t.Fatalf("lookup %q among %q: %v %v", k, keys, r, err)
		}
	}
	// Renaming "dir/" moves exactly the keys under "dir/".
	r := ok(t, c, "mogfs_rename_prefix domain=case&from_prefix=dir/&to_prefix=moved/")
	var want []string
	n := 0
	for _, k := range keys {
		if rest, found := strings.CutPrefix(k, "dir/"); found {
			k = "moved/" + rest
			n++
		}
		want = append(want, k)
	}
	sort.Strings(want)
	if got := e.keysOf(t, "case"); !slices.Equal(got, want) || r["count"] != strconv.Itoa(n) {
		t.Fatalf("after renaming dir/: %q (count %s), want %q", got, r["count"], want)
	}
	// A case-only rename of a file works whatever the collation.
	ok(t, c, "mogfs_rename domain=case&from_key=ab/3&to_key=AB/3")
	if got := e.keysOf(t, "case"); !slices.Contains(got, "AB/3") || slices.Contains(got, "ab/3") {
		t.Fatalf("after renaming ab/3 to AB/3: %q", got)
	}
}

// testMogfsConcurrent: two renames of one prefix at once, and of one key
// at once, from two connections: one wins, nothing is lost.
func testMogfsConcurrent(t *testing.T, e *mogfsEnv) {
	c := e.c
	c2 := e.cl.Tracker.Conn(t)
	ok(t, c, "create_domain domain=race")
	var keys []string
	for i := 0; i < 300; i++ {
		keys = append(keys, fmt.Sprintf("src/%03d", i), fmt.Sprintf("src/sub/%03d", i))
	}
	e.insertKeys(t, "race", 600000000, keys)
	for round := 0; round < 5; round++ {
		from := "src/"
		if round > 0 {
			from = fmt.Sprintf("r%d/", round-1)
		}
		targets := []string{fmt.Sprintf("r%d/", round), fmt.Sprintf("x%d/", round)}
		replies := make([]wire.Args, 2)
		var wg sync.WaitGroup
		for i, conn := range []*mogtest.TrackerConn{c, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := conn.Do("mogfs_rename_prefix", wire.Args{"domain": "race", "from_prefix": from, "to_prefix": targets[i]})
				if err != nil {
					t.Error(err)
				}
				replies[i] = r
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		counts := []string{replies[0]["count"], replies[1]["count"]}
		total := strconv.Itoa(len(keys))
		if !(counts[0] == total && counts[1] == "0" || counts[0] == "0" && counts[1] == total) {
			t.Fatalf("round %d: counts %v, want one %s and one 0", round, counts, total)
		}
		if counts[1] == total {
			ok(t, c, "mogfs_rename_prefix "+enc(wire.Args{"domain": "race", "from_prefix": targets[1], "to_prefix": targets[0]}))
		}
		got := e.keysOf(t, "race")
		if len(got) != len(keys) {
			t.Fatalf("round %d: %d keys, want %d", round, len(got), len(keys))
		}
		for _, k := range got {
			if !strings.HasPrefix(k, targets[0]) {
				t.Fatalf("round %d: key %q outside %s", round, k, targets[0])
			}
		}
	}
	// Two renames of one key at once: one moves it, the other finds it
	// gone.
	store(t, c, "race", "", "one", []byte("1"))
	for round := 0; round < 5; round++ {
		from := "one"
		if round > 0 {
			from = fmt.Sprintf("one-%d-0", round-1)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, conn := range []*mogtest.TrackerConn{c, c2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = conn.Do("mogfs_rename", wire.Args{"domain": "race", "from_key": from, "to_key": fmt.Sprintf("one-%d-%d", round, i)})
			}()
		}
		wg.Wait()
		var won int
		for i, err := range errs {
			if err == nil {
				won = i
				continue
			}
			if we, ok := err.(*wire.Error); !ok || we.Code != "unknown_key" {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v, want exactly one unknown_key", round, errs)
		}
		if won == 1 {
			ok(t, c, "mogfs_rename "+enc(wire.Args{"domain": "race", "from_key": fmt.Sprintf("one-%d-1", round), "to_key": fmt.Sprintf("one-%d-0", round)}))
		}
		ok(t, c, "mogfs_lookup "+enc(wire.Args{"domain": "race", "key": fmt.Sprintf("one-%d-0", round)}))
	}
}

// TestMogfsWithoutTable: a tracker whose database user may not create
// mogfs_attr answers the mogfs commands as an original tracker does
// (unknown_command, so mogfs falls back), and serves the rest.
func TestMogfsWithoutTable(t *testing.T) {
	m := mogtest.NewMySQL(t)
	mogtest.SetupSchema(t, m.DBIDSN, m.User, m.Password)
	user, pass := m.Account(t, "SELECT, INSERT, UPDATE, DELETE, LOCK TABLES")
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: m.DBIDSN, User: user, Pass: pass})
	c := tr.Conn(t)
	ok(t, c, "create_domain domain=d")
	for _, cmd := range []string{"mogfs_lookup domain=d&key=a", "mogfs_list_dir domain=d", "mogfs_set_attr domain=d&key=a&mode=1",
		"mogfs_create_close domain=d&key=a",
		"mogfs_rename domain=d&from_key=a&to_key=b", "mogfs_rename_prefix domain=d&from_prefix=a/&to_prefix=b/"} {
		wantErr(t, c, cmd, "unknown_command", "Unknown server command")
	}
}
