package tracker_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestFiles covers the file commands against real storage nodes on
// SQLite and MariaDB.
func TestFiles(t *testing.T) {
	forBackends(t, func(t *testing.T, o mogtest.TrackerOptions) {
		// No job master: no replication, deletion or fsck/rebalance runs
		// behind the test's back.
		o.Args = append(o.Args, "--no-job_master")
		o.Env = []string{"TESTING=1", "T_FAKE_IO_DEV1=95", "T_FAKE_IO_DEV2=5"}
		cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "files",
			Classes: map[string]int{"two": 2}})
		c := cl.Tracker.Conn(t)
		ok(t, c, "create_class domain=files&class=md5&mindevcount=1&hashtype=MD5")
		t.Run("create_open", func(t *testing.T) { testCreateOpen(t, c, cl) })
		t.Run("create_close", func(t *testing.T) { testCreateClose(t, c, cl) })
		t.Run("get_paths", func(t *testing.T) { testGetPaths(t, c, cl) })
		t.Run("delete rename updateclass", func(t *testing.T) { testKeyOps(t, c) })
		t.Run("file_info file_debug", func(t *testing.T) { testInfo(t, c) })
		t.Run("list", func(t *testing.T) { testList(t, c) })
		t.Run("nginx", func(t *testing.T) { testNginx(t, c) })
		t.Run("edit_file", func(t *testing.T) { testEditFile(t, c) })
	})
}

// blobPath is where a node keeps fid on devid.
func blobPath(cl *mogtest.Cluster, devid int, fid string) string {
	n, _ := strconv.ParseInt(fid, 10, 64)
	for _, node := range cl.Nodes {
		if slices.Contains(node.DevIDs, devid) {
			return filepath.Join(node.DocRoot, filepath.FromSlash(nodeproto.FIDPath(devid, n)))
		}
	}
	return ""
}

func testCreateOpen(t *testing.T, c *mogtest.TrackerConn, cl *mogtest.Cluster) {
	wantErr(t, c, "create_open key=a", "no_domain", "")
	wantErr(t, c, "create_open domain=nope&key=a", "unreg_domain", "")
	wantErr(t, c, "create_open domain=files&key=a&class=nope", "unreg_class", "")
	wantErr(t, c, "create_open domain=files&key=a&size=1000000000000000", "no_devices", "No devices found to store file")
	wantErr(t, c, "create_open domain=files&key="+strings.Repeat("k", 256), "db", "Key longer than 255 bytes")
	a := ok(t, c, "create_open domain=files&key=a")
	if a["fid"] == "" || a["devid"] == "" {
		t.Fatalf("create_open: %v", a)
	}
	devid := atoi(t, a["devid"])
	var node *mogtest.Node
	for _, n := range cl.Nodes {
		if slices.Contains(n.DevIDs, devid) {
			node = n
		}
	}
	want := fmt.Sprintf("http://%s:%d/dev%d/0/000/000/%010s.fid", node.IP, node.HTTPPort, devid, a["fid"])
	if a["path"] != want {
		t.Fatalf("path %q, want %q", a["path"], want)
	}
	// multi_dest: one device per host.
	a = ok(t, c, "create_open domain=files&key=b&multi_dest=1")
	if a["dev_count"] != "2" || a["devid_1"] == a["devid_2"] || a["path_1"] == "" || a["path_2"] == "" {
		t.Fatalf("multi_dest: %v", a)
	}
	// Explicit fids: free ones work, used ones do not.
	a = ok(t, c, "create_open domain=files&key=c&fid=7000000")
	if a["fid"] != "7000000" {
		t.Fatalf("explicit fid: %v", a)
	}
	wantErr(t, c, "create_open domain=files&key=c&fid=7000000", "fid_in_use", "fid_in_use")
	// debug_profile.
	a = ok(t, c, "create_open domain=files&key=d&debug_profile=1")
	if atoi(t, a["profpoints"]) < 3 || a["prof_1_name"] != "begin" || a["prof_1_time"] == "" {
		t.Fatalf("debug_profile: %v", a)
	}
	// The directories exist on the node after create_open (MKCOL, or
	// created by the PUT for nodes that do not need MKCOL).
	put(t, ok(t, c, "create_open domain=files&key=e")["path"], []byte("x"))
}

func testCreateClose(t *testing.T, c *mogtest.TrackerConn, cl *mogtest.Cluster) {
	open := func(key string) wire.Args { return ok(t, c, "create_open domain=files&key="+key) }
	closeArgs := func(o wire.Args, key string, size int) wire.Args {
		return wire.Args{"domain": "files", "key": key, "fid": o["fid"], "devid": o["devid"], "path": o["path"], "size": strconv.Itoa(size)}
	}
	o := open("cc")
	wantErr(t, c, "create_close domain=files&key=cc&devid=1&path=x", "no_fid", "no_fid")
	wantErr(t, c, "create_close domain=files&key=cc&fid="+o["fid"]+"&path=x", "no_devid", "")
	wantErr(t, c, "create_close domain=files&key=cc&fid="+o["fid"]+"&devid=1", "no_path", "")
	bad := closeArgs(o, "cc", 3)
	bad["checksum"] = "MD5:xyz"
	wantErr(t, c, "create_close "+enc(bad), "invalid_checksum_format", "")
	bad = closeArgs(o, "cc", 3)
	bad["path"] = o["path"] + "x"
	wantErr(t, c, "create_close "+enc(bad), "bogus_args", "bogus_args")
	bad = closeArgs(o, "cc", 3)
	base := o["path"][:strings.Index(o["path"], "/dev")]
	bad["fid"], bad["path"] = "6999999", base+nodeproto.FIDPath(atoi(t, o["devid"]), 6999999)
	wantErr(t, c, "create_close "+enc(bad), "no_temp_file", "No tempfile or file already closed")
	// Not uploaded: size_verify_error; the tempfile is gone afterwards.
	txt := wantErr(t, c, "create_close "+enc(closeArgs(o, "cc", 3)), "size_verify_error", "")
	if !strings.HasPrefix(txt, "Expected: 3; actual: 0 (missing); path: "+o["path"]+"; error: ") {
		t.Fatalf("size_verify_error text: %q", txt)
	}
	wantErr(t, c, "create_close "+enc(closeArgs(o, "cc", 3)), "no_temp_file", "")

	// Wrong device.
	o = ok(t, c, "create_open domain=files&key=cc")
	other := 3 - atoi(t, o["devid"])
	bad = closeArgs(o, "cc", 3)
	bad["devid"] = strconv.Itoa(other)
	bad["path"] = strings.Replace(o["path"], "/dev"+o["devid"]+"/", "/dev"+strconv.Itoa(other)+"/", 1)
	for _, n := range cl.Nodes {
		if slices.Contains(n.DevIDs, other) {
			bad["path"] = fmt.Sprintf("http://%s:%d%s", n.IP, n.HTTPPort, nodeproto.FIDPath(other, int64(atoi(t, o["fid"]))))
		}
	}
	wantErr(t, c, "create_close "+enc(bad), "invalid_destdev",
		"File uploaded to invalid dest "+strconv.Itoa(other)+". Valid devices were: "+o["devid"])

	// A good version, then failed overwrites that must leave it intact.
	fid1 := store(t, c, "files", "", "keep", []byte("version one"))
	o = open("keep")
	put(t, o["path"], []byte("version two"))
	txt = wantErr(t, c, "create_close "+enc(closeArgs(o, "keep", 5)), "size_mismatch", "")
	if txt != "Expected: 5; actual: 11; path: "+o["path"] {
		t.Fatalf("size_mismatch text: %q", txt)
	}
	o = open("keep")
	put(t, o["path"], []byte("version two"))
	bad = closeArgs(o, "keep", 11)
	bad["checksum"] = "MD5:" + strings.Repeat("0", 32)
	bad["checksumverify"] = "1"
	txt = wantErr(t, c, "create_close "+enc(bad), "checksum_mismatch", "")
	sum := md5.Sum([]byte("version two"))
	if want := fmt.Sprintf("Expected: Checksum[f=%s;MD5=%s]; actual: MD5:%s; path: %s", o["fid"], strings.Repeat("0", 32), hex.EncodeToString(sum[:]), o["path"]); txt != want {
		t.Fatalf("checksum_mismatch text:\n%q\nwant\n%q", txt, want)
	}
	ps := paths(t, c, "files", "keep", "")
	if len(ps) != 1 {
		t.Fatalf("paths after failed closes: %v", ps)
	}
	if _, body := get(t, ps[0]); string(body) != "version one" {
		t.Fatalf("content after failed closes: %q", body)
	}
	if a := ok(t, c, "file_info domain=files&key=keep"); a["fid"] != fid1 {
		t.Fatalf("fid changed after failed closes: %v", a)
	}
	// A close without a key discards the upload.
	o = open("")
	put(t, o["path"], []byte("gone"))
	ok(t, c, "create_close "+enc(wire.Args{"domain": "files", "fid": o["fid"], "devid": o["devid"], "path": o["path"]}))
	if a := ok(t, c, "file_debug fid="+o["fid"]); a["delqueue_fid"] != o["fid"] || a["fid_fid"] != "" {
		t.Fatalf("discarded upload: %v", a)
	}

	// Overwrite: the new version wins, the old fid is queued for delete.
	fid2 := store(t, c, "files", "", "keep", []byte("version three"))
	if _, body := get(t, paths(t, c, "files", "keep", "")[0]); string(body) != "version three" {
		t.Fatalf("after overwrite: %q", body)
	}
	if a := ok(t, c, "file_debug fid="+fid1); a["delqueue_fid"] != fid1 {
		t.Fatalf("old fid not queued for delete: %v", a)
	}
	if fid2 == fid1 {
		t.Fatal("same fid")
	}

	// Checksums: verified and kept for an MD5 class, ignored otherwise.
	body := []byte("checked content")
	sum = md5.Sum(body)
	o = ok(t, c, "create_open domain=files&key=sum&class=md5")
	put(t, o["path"], body)
	a := closeArgs(o, "sum", len(body))
	a["checksum"] = "MD5:" + hex.EncodeToString(sum[:])
	a["checksumverify"] = "1"
	ok(t, c, "create_close "+enc(a))
	if fi := ok(t, c, "file_info domain=files&key=sum"); fi["checksum"] != "MD5:"+hex.EncodeToString(sum[:]) || fi["class"] != "md5" {
		t.Fatalf("file_info with checksum: %v", fi)
	}
	o = open("nosum")
	put(t, o["path"], body)
	a = closeArgs(o, "nosum", len(body))
	a["checksum"] = "MD5:" + hex.EncodeToString(sum[:])
	ok(t, c, "create_close "+enc(a))
	if fd := ok(t, c, "file_debug domain=files&key=nosum"); fd["checksum"] != "NONE" {
		t.Fatalf("checksum kept for a class without hashtype: %v", fd)
	}
	// size 0 means "do not compare"; empty files work.
	o = open("empty")
	put(t, o["path"], nil)
	ok(t, c, "create_close "+enc(closeArgs(o, "empty", 0)))
	if fi := ok(t, c, "file_info domain=files&key=empty"); fi["length"] != "0" {
		t.Fatalf("empty file: %v", fi)
	}
	// Key "0" is a valid key.
	store(t, c, "files", "", "0", []byte("zero"))
	if _, b := get(t, paths(t, c, "files", "0", "")[0]); string(b) != "zero" {
		t.Fatalf("key 0: %q", b)
	}
}

func testGetPaths(t *testing.T, c *mogtest.TrackerConn, cl *mogtest.Cluster) {
	wantErr(t, c, "get_paths domain=files", "no_key", "no_key")
	wantErr(t, c, "get_paths domain=files&key=", "no_key", "")
	wantErr(t, c, "get_paths domain=files&key=nope", "unknown_key", "unknown_key")
	fid := store(t, c, "files", "", "gp", []byte("hello"))
	a := ok(t, c, "get_paths domain=files&key=gp")
	if a["paths"] != "1" {
		t.Fatalf("one copy: %v", a)
	}
	devid := atoi(t, strings.TrimPrefix(strings.Split(a["path1"], "/")[3], "dev"))
	// A second copy through httpcopy.
	other := 3 - devid
	ok(t, c, fmt.Sprintf("httpcopy sdevid=%d&ddevid=%d&fid=%s", devid, other, fid))
	ps := paths(t, c, "files", "gp", "&noverify=1")
	if len(ps) != 2 {
		t.Fatalf("two copies: %v", ps)
	}
	for _, p := range ps {
		if _, b := get(t, p); string(b) != "hello" {
			t.Fatalf("%s: %q", p, b)
		}
	}
	// Ordering by the fake utilization: dev2 (5%) before dev1 (95%) most
	// of the time.
	first2 := 0
	for i := 0; i < 200; i++ {
		if strings.Contains(paths(t, c, "files", "gp", "&noverify=1")[0], "/dev2/") {
			first2++
		}
	}
	if first2 < 150 {
		t.Fatalf("dev2 first %d/200 times, want most", first2)
	}
	// The first path is verified with a HEAD: a missing blob is skipped
	// unless noverify (later paths are not checked).
	if err := os.Remove(blobPath(cl, 2, fid)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		ps = paths(t, c, "files", "gp", "")
		if len(ps) == 0 || !strings.Contains(ps[0], "/dev1/") {
			t.Fatalf("verified paths: %v", ps)
		}
	}
	if ps = paths(t, c, "files", "gp", "&noverify=1&pathcount=5"); len(ps) != 2 {
		t.Fatalf("noverify paths: %v", ps)
	}
	// A down device's copy is only a last resort.
	ok(t, c, "set_state host=store1&device=1&state=down")
	if ps = paths(t, c, "files", "gp", "&noverify=1"); len(ps) != 1 || !strings.Contains(ps[0], "/dev2/") {
		t.Fatalf("with dev1 down: %v", ps)
	}
	ok(t, c, "set_state host=store2&device=2&state=down")
	if ps = paths(t, c, "files", "gp", "&noverify=1"); len(ps) != 1 {
		t.Fatalf("backup path with both down: %v", ps)
	}
	ok(t, c, "set_state host=store1&device=1&state=alive")
	ok(t, c, "set_state host=store2&device=2&state=alive")
	// Drain devices come last.
	ok(t, c, "set_state host=store2&device=2&state=drain")
	for i := 0; i < 20; i++ {
		if ps = paths(t, c, "files", "gp", "&noverify=1"); len(ps) != 2 || !strings.Contains(ps[1], "/dev2/") {
			t.Fatalf("with dev2 draining: %v", ps)
		}
	}
	ok(t, c, "set_state host=store2&device=2&state=alive")
	// The noverify cache forgets deleted keys at once.
	paths(t, c, "files", "gp", "&noverify=1")
	ok(t, c, "delete domain=files&key=gp")
	wantErr(t, c, "get_paths domain=files&key=gp&noverify=1", "unknown_key", "")
	// zone=alt answers with a host's altip.
	ok(t, c, "update_host host=store1&altip=10.9.9.9&altmask=10.9.0.0/16")
	o := ok(t, c, "create_open domain=files&key=alt&zone=alt&multi_dest=1")
	found := false
	for _, k := range []string{"path_1", "path_2"} {
		if strings.HasPrefix(o[k], "http://10.9.9.9:") {
			found = true
		}
	}
	if !found {
		t.Fatalf("zone=alt: %v", o)
	}
	// A client inside altmask gets the altip without asking.
	ok(t, c, "update_host host=store1&altmask=127.0.0.0/8")
	o = ok(t, c, "create_open domain=files&key=alt&multi_dest=1")
	if !strings.HasPrefix(o["path_1"], "http://10.9.9.9:") && !strings.HasPrefix(o["path_2"], "http://10.9.9.9:") {
		t.Fatalf("altmask: %v", o)
	}
	ok(t, c, "update_host host=store1&altip=&altmask=")
}

func testKeyOps(t *testing.T, c *mogtest.TrackerConn) {
	store(t, c, "files", "", "k1", []byte("one"))
	store(t, c, "files", "", "k2", []byte("two"))
	wantErr(t, c, "delete domain=files", "no_key", "")
	wantErr(t, c, "delete domain=files&key=nope", "unknown_key", "")
	wantErr(t, c, "rename domain=files&from_key=k1", "no_key", "")
	wantErr(t, c, "rename domain=files&to_key=k1", "no_key", "")
	wantErr(t, c, "rename domain=files&from_key=nope&to_key=x", "unknown_key", "")
	wantErr(t, c, "rename domain=files&from_key=k1&to_key=k2", "key_exists", "Target key name already exists; can't overwrite.")
	ok(t, c, "rename domain=files&from_key=k1&to_key=k3")
	wantErr(t, c, "get_paths domain=files&key=k1&noverify=1", "unknown_key", "")
	if _, b := get(t, paths(t, c, "files", "k3", "")[0]); string(b) != "one" {
		t.Fatalf("renamed: %q", b)
	}
	wantErr(t, c, "updateclass domain=files&class=two", "no_key", "")
	wantErr(t, c, "updateclass domain=files&key=k3", "no_class", "No class provided")
	wantErr(t, c, "updateclass domain=files&key=k3&class=nope", "class_not_found", "")
	wantErr(t, c, "updateclass domain=files&key=nope&class=two", "invalid_key", "invalid_key")
	ok(t, c, "updateclass domain=files&key=k3&class=two")
	if a := ok(t, c, "file_info domain=files&key=k3"); a["class"] != "two" {
		t.Fatalf("updateclass: %v", a)
	}
	if a := ok(t, c, "file_debug domain=files&key=k3"); a["replqueue_fid"] == "" {
		t.Fatalf("updateclass did not queue replication: %v", a)
	}
	ok(t, c, "delete domain=files&key=k3")
	wantErr(t, c, "delete domain=files&key=k3", "unknown_key", "")
	wantErr(t, c, "file_info domain=files&key=k3", "unknown_key", "")
}

func testInfo(t *testing.T, c *mogtest.TrackerConn) {
	fid := store(t, c, "files", "", "info", []byte("12345"))
	wantErr(t, c, "file_info domain=files", "no_key", "")
	wantErr(t, c, "file_info key=info", "no_domain", "")
	a := ok(t, c, "file_info domain=files&key=info&devices=1")
	if a["fid"] != fid || a["domain"] != "files" || a["class"] != "default" || a["key"] != "info" ||
		a["length"] != "5" || a["devcount"] != "1" || a["devids"] == "" {
		t.Fatalf("file_info: %v", a)
	}
	if _, there := a["checksum"]; there {
		t.Fatalf("checksum for a class without hashtype: %v", a)
	}
	store(t, c, "files", "md5", "nosum", []byte("x"))
	if a := ok(t, c, "file_info domain=files&key=nosum"); a["checksum"] != "MISSING" {
		t.Fatalf("hashtype class without checksum: %v", a)
	}
	a = ok(t, c, "file_debug domain=files&key=info")
	if a["fid_fid"] != fid || a["fid_dkey"] != "info" || a["fid_length"] != "5" || a["fid_domain"] != "files" ||
		a["fid_class"] != "default" || a["checksum"] != "NONE" || a["devids"] == "" || a["replqueue_fid"] != fid {
		t.Fatalf("file_debug: %v", a)
	}
	// A copy that already meets its class policy is not queued for
	// replication; one that does not, or whose class wants a checksum the
	// client did not give, is.
	ok(t, c, "create_class domain=files&class=single&mindevcount=1")
	store(t, c, "files", "single", "single", []byte("x"))
	if a := ok(t, c, "file_debug domain=files&key=single"); a["replqueue_fid"] != "" || a["fid_class"] != "single" {
		t.Fatalf("mindevcount 1 queued for replication: %v", a)
	}
	if a := ok(t, c, "file_debug domain=files&key=nosum"); a["replqueue_fid"] == "" {
		t.Fatalf("hashtype class without checksum not queued: %v", a)
	}
	ok(t, c, "create_class domain=files&class=single2&mindevcount=1&replpolicy=MultipleHosts(2)")
	store(t, c, "files", "single2", "single2", []byte("x"))
	if a := ok(t, c, "file_debug domain=files&key=single2"); a["replqueue_fid"] == "" {
		t.Fatalf("MultipleHosts(2) with one copy not queued: %v", a)
	}
	if a["devpath_"+a["devids"]] == "" {
		t.Fatalf("file_debug devpath: %v", a)
	}
	if a := ok(t, c, "file_debug fid="+fid); a["fid_fid"] != fid {
		t.Fatalf("file_debug by fid: %v", a)
	}
	if a := ok(t, c, "file_debug fid=99999999"); len(a) != 1 || a["checksum"] != "NONE" {
		t.Fatalf("file_debug unknown fid: %v", a)
	}
	wantErr(t, c, "file_debug domain=files&key=nope", "unknown_key", "")
	wantErr(t, c, "file_debug domain=files", "no_key", "")
	o := ok(t, c, "create_open domain=files&key=temp")
	if a := ok(t, c, "file_debug fid="+o["fid"]); a["tempfile_dkey"] != "temp" || a["tempfile_devids"] != o["devid"] {
		t.Fatalf("file_debug of a tempfile: %v", a)
	}
}

func testList(t *testing.T, c *mogtest.TrackerConn) {
	ok(t, c, "create_domain domain=lst")
	for _, k := range []string{"a/1", "a/2", "a_b", "ab", "b"} {
		store(t, c, "lst", "", k, []byte(k))
	}
	keys := func(line string) []string {
		a := ok(t, c, line)
		var out []string
		for i := 1; i <= atoi(t, a["key_count"]); i++ {
			out = append(out, a["key_"+strconv.Itoa(i)])
		}
		return out
	}
	// The order is the database collation's (MariaDB's default sorts "_"
	// after letters); compare as sets where it matters.
	if k := keys("list_keys domain=lst"); !slices.Equal(slices.Sorted(slices.Values(k)), []string{"a/1", "a/2", "a_b", "ab", "b"}) {
		t.Fatalf("all keys: %v", k)
	}
	if k := keys("list_keys domain=lst&prefix=a/"); !slices.Equal(k, []string{"a/1", "a/2"}) {
		t.Fatalf("prefix a/: %v", k)
	}
	if k := keys("list_keys domain=lst&prefix=a_"); !slices.Equal(k, []string{"a_b"}) {
		t.Fatalf("prefix a_ (LIKE escape): %v", k)
	}
	a := ok(t, c, "list_keys domain=lst&prefix=a&after=a/1&limit=2")
	if a["key_count"] != "2" || a["key_1"] != "a/2" || a["next_after"] != max(a["key_1"], a["key_2"]) {
		t.Fatalf("after+limit: %v", a)
	}
	wantErr(t, c, "list_keys domain=lst&prefix=a&after=b", "after_mismatch", "Pattern does not match the after-value?")
	wantErr(t, c, "list_keys domain=lst&prefix=zzz", "none_match", "No keys match that pattern and after-value (if any).")
	wantErr(t, c, "list_keys domain=lst&after=b", "none_match", "")
	wantErr(t, c, "list_keys", "no_domain", "")
	a = ok(t, c, "list_fids from=0&to=2")
	if a["fid_count"] != "2" || a["fid_1_fid"] >= a["fid_2_fid"] && len(a["fid_1_fid"]) >= len(a["fid_2_fid"]) {
		t.Fatalf("list_fids: %v", a)
	}
	for _, f := range []string{"fid", "domain", "class", "key", "length", "devcount"} {
		if _, there := a["fid_1_"+f]; !there {
			t.Fatalf("list_fids lacks fid_1_%s: %v", f, a)
		}
	}
	if a := ok(t, c, "list_fids from=999999999"); a["fid_count"] != "0" {
		t.Fatalf("list_fids past the end: %v", a)
	}
}

// testNginx sends the exact lines nginx-mogilefs-module sends: raw,
// unescaped keys and paths, create_close repeating create_open's reply
// pairs plus size.
func testNginx(t *testing.T, c *mogtest.TrackerConn) {
	ok(t, c, "create_domain domain=ng")
	key := "/img/2024:a.b-c,d.jpg"
	r := raw(t, c, "create_open key="+key+"&domain=ng&class=default")
	a, err := wire.ParseReply(r)
	if err != nil {
		t.Fatalf("create_open: %q", r)
	}
	if !strings.Contains(r, "path=http://") {
		t.Fatalf("path must travel unescaped: %q", r)
	}
	put(t, a["path"], []byte("nginx"))
	line := "create_close key=" + key + "&domain=ng&class=default&fid=" + a["fid"] + "&devid=" + a["devid"] + "&path=" + a["path"] + "&size=5"
	if r := raw(t, c, line); r != "OK " {
		t.Fatalf("create_close: %q", r)
	}
	r = raw(t, c, "get_paths key="+key+"&domain=ng&noverify=1")
	if !strings.HasPrefix(r, "OK ") || !strings.Contains(r, "path1=http://") || !strings.Contains(r, "paths=1") {
		t.Fatalf("get_paths: %q", r)
	}
	a, _ = wire.ParseReply(r)
	if _, b := get(t, a["path1"]); string(b) != "nginx" {
		t.Fatalf("content: %q", b)
	}
	// Memcached-style escaping of a space in the key.
	store(t, c, "ng", "", "/with space", []byte("sp"))
	if r := raw(t, c, "get_paths key=/with%20space&domain=ng"); !strings.Contains(r, "paths=1") {
		t.Fatalf("escaped key: %q", r)
	}
	wantErr(t, c, "get_paths key=/x&domain=unknown", "unreg_domain", "")
	if r := raw(t, c, "delete key="+key+"&domain=ng"); r != "OK " {
		t.Fatalf("delete: %q", r)
	}
	wantErr(t, c, "delete key="+key+"&domain=ng", "unknown_key", "")
}

func testEditFile(t *testing.T, c *mogtest.TrackerConn) {
	fid := store(t, c, "files", "", "ed", []byte("edit me"))
	a := ok(t, c, "edit_file domain=files&key=ed")
	if a["fid"] == "" || a["fid"] == fid || a["oldpath"] == "" || a["newpath"] == "" || a["devid"] == "" || a["class"] != "0" {
		t.Fatalf("edit_file: %v", a)
	}
	wantErr(t, c, "edit_file domain=files&key=nope", "unknown_key", "")
	wantErr(t, c, "edit_file domain=files", "no_key", "")
	// The file's only copy moved to the new fid: updateclass finds no
	// device.
	wantErr(t, c, "updateclass domain=files&key=ed&class=two", "no_devices", "No devices found to store file")
	wantErr(t, c, "httpcopy sdevid=1&ddevid=999&fid="+fid, "copy_err", "")
	wantErr(t, c, "file_debug key=x", "no_domain", "")
	wantErr(t, c, "file_debug domain=nope&key=x", "unreg_domain", "")
}
