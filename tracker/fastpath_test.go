package tracker_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestFastpath covers the fast path's commands (docs/fastpath.md §10)
// over a real tracker and real storage nodes, on SQLite and MariaDB.
func TestFastpath(t *testing.T) {
	forBackends(t, func(t *testing.T, o mogtest.TrackerOptions) {
		o.Args = append(o.Args, "--no-job_master") // the queues stay as the commands left them
		cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "fp",
			Classes: map[string]int{"two": 2, "one": 1}})
		c := cl.Tracker.Conn(t)
		ok(t, c, "create_class domain=fp&class=md5&mindevcount=1&hashtype=MD5")
		ok(t, c, "create_domain domain=fp2")
		f := &fpEnv{t: t, c: c, cl: cl}
		t.Run("info", f.testInfo)
		t.Run("lease", f.testLease)
		t.Run("commit", f.testCommit)
		t.Run("peers", f.testPeers)
		t.Run("refusals", f.testRefusals)
		t.Run("lease_expired", f.testLeaseExpired)
		t.Run("attrs", f.testAttrs)
		t.Run("paths", f.testPaths)
		t.Run("off", f.testOff)
		t.Run("dev_not_writable", f.testNotWritable) // last: leaves device 2 dead
	})
}

type fpEnv struct {
	t  *testing.T
	c  *mogtest.TrackerConn
	cl *mogtest.Cluster
}

func (f *fpEnv) node(devid int) *mogtest.Node {
	for _, n := range f.cl.Nodes {
		if slices.Contains(n.DevIDs, devid) {
			return n
		}
	}
	f.t.Fatalf("no node has device %d", devid)
	return nil
}

// lease leases n fids on devid.
func (f *fpEnv) lease(t *testing.T, devid, n int) []string {
	t.Helper()
	a := ok(t, f.c, fmt.Sprintf("fastpath_lease devid=%d&count=%d", devid, n))
	if a["count"] != strconv.Itoa(n) || a["time"] == "" {
		t.Fatalf("lease: %v", a)
	}
	var fids []string
	prev := int64(0)
	for i := 1; i <= n; i++ {
		fid, err := strconv.ParseInt(a["fid_"+strconv.Itoa(i)], 10, 64)
		if err != nil || fid <= prev {
			t.Fatalf("lease fids not ascending: %v", a)
		}
		prev = fid
		fids = append(fids, a["fid_"+strconv.Itoa(i)])
	}
	return fids
}

// write stores body as fid on devid, as a node's /_put does.
func (f *fpEnv) write(t *testing.T, devid int, fid string, body []byte) {
	t.Helper()
	n := f.node(devid)
	id, _ := strconv.ParseInt(fid, 10, 64)
	put(t, fmt.Sprintf("http://%s:%d%s", n.IP, n.HTTPPort, nodeproto.FIDPath(devid, id)), body)
}

// item is one fastpath_commit item's arguments.
type item struct {
	fid, devid, domain, key, class, size, checksum string
}

func commitLine(items ...item) string {
	a := wire.Args{"count": strconv.Itoa(len(items))}
	for i, it := range items {
		p := "_" + strconv.Itoa(i+1)
		a["fid"+p], a["devid"+p], a["domain"+p], a["key"+p], a["class"+p], a["size"+p] = it.fid, it.devid, it.domain, it.key, it.class, it.size
		if it.checksum != "" {
			a["checksum"+p] = it.checksum
		}
	}
	return "fastpath_commit " + enc(a)
}

// commit sends the items and returns their statuses.
func (f *fpEnv) commit(t *testing.T, items ...item) []string {
	t.Helper()
	a := ok(t, f.c, commitLine(items...))
	if a["count"] != strconv.Itoa(len(items)) {
		t.Fatalf("commit: %v", a)
	}
	var out []string
	for i := range items {
		out = append(out, a["status_"+strconv.Itoa(i+1)])
	}
	return out
}

func wantStatus(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

func (f *fpEnv) testInfo(t *testing.T) {
	a := ok(t, f.c, "fastpath_info")
	if a["enabled"] != "1" || a["batch_max"] != "256" || a["lease_max"] != "1000" || a["lease_ttl"] != "3000" || a["host_count"] != "2" {
		t.Fatalf("fastpath_info: %v", a)
	}
	for i, n := range f.cl.Nodes {
		p := strconv.Itoa(i + 1)
		if a["host_"+p] != fmt.Sprintf("http://%s:%d", n.IP, n.HTTPPort) || a["hostid_"+p] != strconv.Itoa(n.HostID) {
			t.Fatalf("host %s: %v", p, a)
		}
	}
}

func (f *fpEnv) testLease(t *testing.T) {
	fids := f.lease(t, 1, 20)
	more := f.lease(t, 1, 3)
	if atoi(t, more[0]) <= atoi(t, fids[19]) {
		t.Fatalf("second lease %v overlaps the first %v", more, fids)
	}
	a := ok(t, f.c, "file_debug fid="+fids[0])
	if a["tempfile_devids"] != "1" || a["tempfile_dmid"] != "0" || a["tempfile_classid"] != "0" || a["fid_fid"] != "" {
		t.Fatalf("leased fid's rows: %v", a)
	}
	wantErr(t, f.c, "fastpath_lease devid=1&count=0", "bad_params", "")
	wantErr(t, f.c, "fastpath_lease devid=1&count=1001", "bad_params", "")
	ok(t, f.c, "fastpath_lease devid=1&count=1000")
	wantErr(t, f.c, "fastpath_lease devid=99&count=1", "unknown_device", "")
}

func (f *fpEnv) testCommit(t *testing.T) {
	body := []byte("fast path content")
	size := strconv.Itoa(len(body))
	// A key stored the three-step way, replaced by the fast path.
	oldFID := store(t, f.c, "fp", "", "replaced", []byte("old"))
	fids := f.lease(t, 1, 4)
	for _, fid := range fids {
		f.write(t, 1, fid, body)
	}
	sum := md5.Sum(body)
	items := []item{
		{fids[0], "1", "fp", "new", "one", size, ""},
		{fids[1], "1", "fp", "replaced", "", size, ""},
		{fids[2], "1", "fp", "two copies", "two", size, ""},
		{fids[3], "1", "fp", "summed", "md5", size, "MD5:" + hex.EncodeToString(sum[:])},
	}
	wantStatus(t, f.commit(t, items...), "ok", "ok", "ok", "ok")
	for _, it := range items {
		ps := paths(t, f.c, "fp", it.key, "")
		if len(ps) != 1 || !strings.Contains(ps[0], "/dev1/") || !strings.HasSuffix(ps[0], fmt.Sprintf("%010s.fid", it.fid)) {
			t.Fatalf("get_paths of %q: %v", it.key, ps)
		}
		if code, got := get(t, ps[0]); code != 200 || string(got) != string(body) {
			t.Fatalf("GET %s: %d %q", ps[0], code, got)
		}
		a := ok(t, f.c, "file_info domain=fp&key="+wire.Escape(it.key)+"&devices=1")
		if a["fid"] != it.fid || a["length"] != size || a["devids"] != "1" {
			t.Fatalf("file_info of %q: %v", it.key, a)
		}
	}
	a := ok(t, f.c, "file_info domain=fp&key=summed")
	if a["checksum"] != "MD5:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("checksum: %v", a)
	}
	// The replaced fid is queued for deletion, as create_close does.
	a = ok(t, f.c, "file_debug fid="+oldFID)
	if a["fid_fid"] != "" || a["delqueue_fid"] != oldFID {
		t.Fatalf("replaced fid %s: %v", oldFID, a)
	}
	// Replication is queued for a class that wants two copies only.
	for _, want := range []struct {
		fid    string
		queued bool
	}{{fids[0], false}, {fids[2], true}, {fids[3], false}} {
		a = ok(t, f.c, "file_debug fid="+want.fid)
		if (a["replqueue_fid"] != "") != want.queued || a["tempfile_devids"] != "" {
			t.Fatalf("fid %s: replication queued %v, want %v: %v", want.fid, a["replqueue_fid"] != "", want.queued, a)
		}
	}
	// The same batch again (its answer was lost): ok again, nothing
	// else changes.
	wantStatus(t, f.commit(t, items...), "ok", "ok", "ok", "ok")
	if a := ok(t, f.c, "file_info domain=fp&key=replaced"); a["fid"] != fids[1] {
		t.Fatalf("after the repeat: %v", a)
	}
	// get_paths noverify saw the new fid at once (the cache was
	// invalidated by the commit).
	ps := paths(t, f.c, "fp", "replaced", "&noverify=1")
	if len(ps) != 1 || !strings.HasSuffix(ps[0], fmt.Sprintf("%010s.fid", fids[1])) {
		t.Fatalf("noverify paths after the commit: %v", ps)
	}
}

// testPeers: a lease with peers names the other host's device and
// records it in the tempfile rows; a commit naming the peer copy writes
// both file_on rows and devcount 2, and queues no replication for a
// class of two copies (docs/fastpath.md §4.5).
func (f *fpEnv) testPeers(t *testing.T) {
	a := ok(t, f.c, "fastpath_lease devid=1&count=5&peers=2")
	n2 := f.node(2)
	// Two hosts of one device each: one peer, on the other host.
	if a["count"] != "5" || a["peer_count"] != "1" || a["peer_devid_1"] != "2" ||
		a["peer_url_1"] != fmt.Sprintf("http://%s:%d", n2.IP, n2.HTTPPort) || a["peer_devid_2"] != "" {
		t.Fatalf("lease with peers: %v", a)
	}
	var fids []string
	for i := 1; i <= 5; i++ {
		fids = append(fids, a["fid_"+strconv.Itoa(i)])
	}
	if d := ok(t, f.c, "file_debug fid="+fids[0]); d["tempfile_devids"] != "1,2" {
		t.Fatalf("leased fid with a peer: %v", d)
	}
	// Without peers= the answer is as before.
	if a := ok(t, f.c, "fastpath_lease devid=1&count=1"); a["peer_count"] != "" {
		t.Fatalf("lease without peers: %v", a)
	}
	wantErr(t, f.c, "fastpath_lease devid=1&count=1&peers=3", "bad_params", "")
	wantErr(t, f.c, "fastpath_lease devid=1&count=1&peers=x", "bad_params", "")

	body := []byte("two copies at once")
	size := strconv.Itoa(len(body))
	for _, fid := range fids[:3] {
		f.write(t, 1, fid, body)
		f.write(t, 2, fid, body)
	}
	commit := func(it item, peers string) string {
		t.Helper()
		args := wire.Args{"count": "1", "fid_1": it.fid, "devid_1": it.devid, "domain_1": it.domain, "key_1": it.key,
			"class_1": it.class, "size_1": it.size, "peers_1": peers}
		return ok(t, f.c, "fastpath_commit "+enc(args))["status_1"]
	}
	// Refusals first: they write nothing.
	for _, bad := range []struct{ peers, want string }{
		{"99", "bogus_args"}, {"1", "bogus_args"}, {"2,2", "bogus_args"}, {"2,x", "bogus_args"},
	} {
		if got := commit(item{fids[0], "1", "fp", "peer refused", "two", size, ""}, bad.peers); got != bad.want {
			t.Fatalf("peers_1=%s: %s, want %s", bad.peers, got, bad.want)
		}
	}
	wantErr(t, f.c, "file_info domain=fp&key=peer+refused", "unknown_key", "")
	if got := commit(item{fids[0], "1", "fp", "two at once", "two", size, ""}, "2"); got != "ok" {
		t.Fatalf("commit with a peer: %s", got)
	}
	// The lease of device 2 alone does not name device 1.
	other := f.lease(t, 2, 1)
	if got := commit(item{other[0], "2", "fp", "not leased there", "two", size, ""}, "1"); got != "invalid_destdev" {
		t.Fatalf("commit with a peer outside the lease: %s", got)
	}
	// One copy for a class of two (the peer failed): replication queued.
	if got := commit(item{fids[1], "1", "fp", "one of two", "two", size, ""}, ""); got != "ok" {
		t.Fatalf("commit without the peer: %s", got)
	}
	for _, want := range []struct {
		key, fid, devids string
		queued           bool
	}{{"two at once", fids[0], "1,2", false}, {"one of two", fids[1], "1", true}} {
		a := ok(t, f.c, "file_info domain=fp&key="+wire.Escape(want.key)+"&devices=1")
		if a["fid"] != want.fid || a["devids"] != want.devids || a["devcount"] != strconv.Itoa(len(strings.Split(want.devids, ","))) {
			t.Fatalf("file_info of %q: %v, want devids %s", want.key, a, want.devids)
		}
		d := ok(t, f.c, "file_debug fid="+want.fid)
		if (d["replqueue_fid"] != "") != want.queued || d["tempfile_devids"] != "" {
			t.Fatalf("fid %s: replication queued %v, want %v: %v", want.fid, d["replqueue_fid"] != "", want.queued, d)
		}
	}
	ps := paths(t, f.c, "fp", "two at once", "")
	if len(ps) != 2 {
		t.Fatalf("get_paths of two copies: %v", ps)
	}
	for _, p := range ps {
		if code, got := get(t, p); code != 200 || string(got) != string(body) {
			t.Fatalf("GET %s: %d %q", p, code, got)
		}
	}
	// Sent again: ok, nothing doubled.
	if got := commit(item{fids[0], "1", "fp", "two at once", "two", size, ""}, "2"); got != "ok" {
		t.Fatalf("commit repeated: %s", got)
	}
	if a := ok(t, f.c, "file_info domain=fp&key=two+at+once&devices=1"); a["devids"] != "1,2" || a["devcount"] != "2" {
		t.Fatalf("after the repeat: %v", a)
	}
}

func (f *fpEnv) testRefusals(t *testing.T) {
	fids := f.lease(t, 1, 3)
	other := f.lease(t, 2, 1)
	items := []item{
		{fids[0], "1", "nope", "k", "", "1", ""},
		{fids[0], "1", "fp", "k", "nope", "1", ""},
		{fids[0], "1", "fp", "", "", "1", ""},
		{fids[0], "1", "fp", strings.Repeat("k", 256), "", "1", ""},
		{fids[0], "1", "fp", "k", "md5", "1", "MD5:xyz"},
		{fids[0], "99", "fp", "k", "", "1", ""},
		{"0", "1", "fp", "k", "", "1", ""},
		{fids[1], "1", "fp", "good1", "one", "1", ""},
		{other[0], "1", "fp", "wrong device", "", "1", ""},
		{fids[2], "1", "fp2", "good2", "", "1", ""},
		{fids[2], "1", "fp2", "same fid twice", "", "1", ""},
	}
	wantStatus(t, f.commit(t, items...), "unreg_domain", "unreg_class", "no_key", "key_too_long", "invalid_checksum_format",
		"bogus_args", "bogus_args", "ok", "invalid_destdev", "ok", "bogus_args")
	if a := ok(t, f.c, "file_info domain=fp&key=good1"); a["fid"] != fids[1] {
		t.Fatalf("good item: %v", a)
	}
	if a := ok(t, f.c, "file_info domain=fp2&key=good2"); a["fid"] != fids[2] {
		t.Fatalf("good item in another domain: %v", a)
	}
	wantErr(t, f.c, "file_info domain=fp&key=k", "unknown_key", "")
	wantErr(t, f.c, "file_info domain=fp&key=wrong+device", "unknown_key", "")
	// A refused item leaves its tempfile row for the reaper.
	if a := ok(t, f.c, "file_debug fid="+other[0]); a["tempfile_devids"] != "2" || a["fid_fid"] != "" {
		t.Fatalf("refused item's fid: %v", a)
	}
	// Batch sizes.
	wantErr(t, f.c, "fastpath_commit count=0", "bad_params", "")
	var many []item
	for i := 0; i < 257; i++ {
		many = append(many, item{fids[0], "1", "fp", "many" + strconv.Itoa(i), "", "1", ""})
	}
	wantErr(t, f.c, commitLine(many...), "bad_params", "")
	if got := f.commit(t, many[:256]...); len(got) != 256 || got[0] != "ok" || got[1] != "bogus_args" {
		t.Fatalf("256 items: %v", got[:2])
	}
}

func (f *fpEnv) testLeaseExpired(t *testing.T) {
	fids := f.lease(t, 1, 2)
	// The reaper removes a tempfile row: simulate it on the database.
	tr := f.cl.Tracker
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := sqlstore.Open(ctx, sqlstore.Config{DSN: tr.DSN, User: tr.User, Password: tr.Pass})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fid, _ := strconv.ParseInt(fids[0], 10, 64)
	if err := st.DeleteTempfile(ctx, fid); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, f.commit(t, item{fids[0], "1", "fp", "expired", "", "1", ""}, item{fids[1], "1", "fp", "kept", "", "1", ""}),
		"lease_expired", "ok")
	wantErr(t, f.c, "file_info domain=fp&key=expired", "unknown_key", "")
	// A committed fid sent again under another key is not "committed
	// before": its lease is gone.
	wantStatus(t, f.commit(t, item{fids[1], "1", "fp", "kept elsewhere", "", "1", ""}), "lease_expired")
}

func (f *fpEnv) testPaths(t *testing.T) {
	fids := f.lease(t, 1, 1)
	f.write(t, 1, fids[0], []byte("12345"))
	wantStatus(t, f.commit(t, item{fids[0], "1", "fp", "looked up", "one", "5", ""}), "ok")
	a := ok(t, f.c, "fastpath_paths "+enc(wire.Args{"count": "4", "domain_1": "fp", "key_1": "looked up",
		"domain_2": "fp", "key_2": "not there", "domain_3": "nope", "key_3": "x", "domain_4": "fp", "key_4": "looked up"}))
	want := paths(t, f.c, "fp", "looked up", "&noverify=1")
	for _, p := range []string{"1", "4"} {
		if a["status_"+p] != "ok" || a["fid_"+p] != fids[0] || a["length_"+p] != "5" || a["paths_"+p] != "1" || a["path_"+p+"_1"] != want[0] {
			t.Fatalf("fastpath_paths item %s: %v (get_paths %v)", p, a, want)
		}
	}
	if a["count"] != "4" || a["status_2"] != "unknown_key" || a["status_3"] != "unreg_domain" || a["fid_2"] != "" {
		t.Fatalf("fastpath_paths: %v", a)
	}
	wantErr(t, f.c, "fastpath_paths count=257", "bad_params", "")
	if a := ok(t, f.c, "fastpath_paths count=0"); a["count"] != "0" {
		t.Fatalf("no keys: %v", a)
	}
}

func (f *fpEnv) testOff(t *testing.T) {
	wantErr(t, f.c, "set_server_setting key=fastpath&value=maybe", "invalid_format", "")
	ok(t, f.c, "set_server_setting key=fastpath&value=off")
	if a := ok(t, f.c, "server_setting key=fastpath"); a["value"] != "off" {
		t.Fatalf("setting: %v", a)
	}
	a := ok(t, f.c, "fastpath_info")
	if a["enabled"] != "0" || a["host_count"] != "0" || a["host_1"] != "" {
		t.Fatalf("fastpath_info when off: %v", a)
	}
	wantErr(t, f.c, "fastpath_lease devid=1&count=1", "fastpath_off", "")
	ok(t, f.c, "set_server_setting key=fastpath&value=on")
	if a := ok(t, f.c, "fastpath_info"); a["enabled"] != "1" {
		t.Fatalf("fastpath_info when on again: %v", a)
	}
	f.lease(t, 1, 1)
}

func (f *fpEnv) testNotWritable(t *testing.T) {
	host := f.node(2).Hostname
	ok(t, f.c, "set_state host="+host+"&device=2&state=readonly")
	wantErr(t, f.c, "fastpath_lease devid=2&count=1", "dev_not_writable", "")
	if a := ok(t, f.c, "fastpath_info"); a["host_count"] != "1" || a["hostid_1"] != strconv.Itoa(f.node(1).HostID) {
		t.Fatalf("fastpath_info with host 2's only device readonly: %v", a)
	}
	ok(t, f.c, "set_state host="+host+"&device=2&state=alive")
	f.lease(t, 2, 1)
	ok(t, f.c, "update_host host="+host+"&status=down")
	wantErr(t, f.c, "fastpath_lease devid=2&count=1", "dev_not_writable", "")
	ok(t, f.c, "update_host host="+host+"&status=alive")
	ok(t, f.c, "set_state host="+host+"&device=2&state=dead")
	wantErr(t, f.c, "fastpath_lease devid=2&count=1", "dev_not_writable", "")
}

// attrItem is an item of mogfs_fastpath_commit: item with attribute
// arguments (name, value pairs, suffixed on the wire).
type attrItem struct {
	item
	attrs []string
}

func (f *fpEnv) commitAttrs(t *testing.T, items ...attrItem) []string {
	t.Helper()
	a := wire.Args{"count": strconv.Itoa(len(items))}
	for i, it := range items {
		p := "_" + strconv.Itoa(i+1)
		a["fid"+p], a["devid"+p], a["domain"+p], a["key"+p], a["class"+p], a["size"+p] = it.fid, it.devid, it.domain, it.key, it.class, it.size
		for j := 0; j+1 < len(it.attrs); j += 2 {
			a[it.attrs[j]+p] = it.attrs[j+1]
		}
	}
	r := ok(t, f.c, "mogfs_fastpath_commit "+enc(a))
	var out []string
	for i := range items {
		out = append(out, r["status_"+strconv.Itoa(i+1)])
	}
	return out
}

// testAttrs: mogfs_fastpath_commit writes the mogfs_attr row with the
// file, with mogfs_create_close's checks and defaults (docs/fastpath.md
// §10.3a).
func (f *fpEnv) testAttrs(t *testing.T) {
	if a := ok(t, f.c, "fastpath_info"); a["attrs"] != "1" {
		t.Fatalf("fastpath_info without attrs=1: %v", a)
	}
	body := []byte("with attributes")
	size := strconv.Itoa(len(body))
	fids := f.lease(t, 1, 8)
	for _, fid := range fids {
		f.write(t, 1, fid, body)
	}
	before := time.Now().Unix()
	items := []attrItem{
		{item{fids[0], "1", "fp", "attr/a", "one", size, ""}, []string{"mode", "33188", "uid", "1000", "gid", "100",
			"mtime", "1700000000", "mtime_nsec", "5", "atime", "1600000000", "atime_nsec", "7", "ctime", "1650000000", "rdev", "0"}},
		{item{fids[1], "1", "fp", "attr/b", "", size, ""}, []string{"mode", "420"}},
		{item{fids[2], "1", "fp", "attr/bad", "", size, ""}, []string{"mode", "abc"}},
		{item{fids[3], "1", "fp", "attr/badnsec", "", size, ""}, []string{"mtime_nsec", "5"}},
		{item{fids[4], "1", "fp", "attr/badtype", "", size, ""}, []string{"mode", strconv.Itoa(0o170644)}},
		{item{fids[5], "1", "fp", "attr/dir/", "", size, ""}, []string{"uid", "5"}},
		{item{fids[6], "1", "fp", "attr/plain", "", size, ""}, nil},
	}
	wantStatus(t, f.commitAttrs(t, items...), "ok", "ok", "bad_params", "bad_params", "bad_params", "ok", "ok")
	// The same checks as mogfs_create_close's.
	wantErr(t, f.c, "mogfs_create_close domain=fp&key=x&fid=1&devid=1&path=x&mode=abc", "bad_params", "")
	wantErr(t, f.c, "mogfs_create_close domain=fp&key=x&fid=1&devid=1&path=x&mtime_nsec=5", "bad_params", "")
	l := ok(t, f.c, "mogfs_lookup domain=fp&key=attr/a")
	for k, v := range map[string]string{"fid": fids[0], "size": size, "mode": "33188", "uid": "1000", "gid": "100",
		"mtime": "1700000000", "mtime_nsec": "5", "atime": "1600000000", "atime_nsec": "7", "ctime": "1650000000"} {
		if l[k] != v {
			t.Fatalf("mogfs_lookup attr/a: %s=%q, want %q: %v", k, l[k], v, l)
		}
	}
	// Defaults: mtime now, mode 0644 (0755 for a key ending in "/"),
	// nothing else recorded.
	l = ok(t, f.c, "mogfs_lookup domain=fp&key=attr/b")
	if mt := int64(atoi(t, l["mtime"])); l["mode"] != "420" || mt < before || mt > time.Now().Unix() || l["uid"] != "" || l["atime"] != "" {
		t.Fatalf("mogfs_lookup attr/b: %v", l)
	}
	l = ok(t, f.c, "mogfs_lookup domain=fp&key=attr/dir/")
	if l["mode"] != "493" || l["uid"] != "5" {
		t.Fatalf("mogfs_lookup attr/dir/: %v", l)
	}
	l = ok(t, f.c, "mogfs_lookup domain=fp&key=attr/plain")
	if l["fid"] != fids[6] || l["mode"] != "" || l["mtime"] != "" {
		t.Fatalf("an item without attributes has a row: %v", l)
	}
	// Nothing written for a bad item: no key, the tempfile row left for
	// the reaper.
	for i, key := range []string{"attr/bad", "attr/badnsec", "attr/badtype"} {
		wantErr(t, f.c, "file_info domain=fp&key="+key, "unknown_key", "")
		if a := ok(t, f.c, "file_debug fid="+fids[2+i]); a["tempfile_devids"] != "1" || a["fid_fid"] != "" {
			t.Fatalf("refused item's fid: %v", a)
		}
	}
	// Sent again (a lost answer): ok, nothing changes.
	wantStatus(t, f.commitAttrs(t, items[0]), "ok")
	// An overwrite: the new fid's row replaces what the key showed.
	more := f.lease(t, 1, 2)
	f.write(t, 1, more[0], body)
	f.write(t, 1, more[1], body)
	wantStatus(t, f.commitAttrs(t, attrItem{item{more[0], "1", "fp", "attr/a", "", size, ""}, []string{"mode", "384", "mtime", "5"}}), "ok")
	l = ok(t, f.c, "mogfs_lookup domain=fp&key=attr/a")
	if l["fid"] != more[0] || l["mode"] != "384" || l["mtime"] != "5" || l["uid"] != "" {
		t.Fatalf("overwritten attr/a: %v", l)
	}
	// A hard-linked name is left to mogfs_create_close.
	ok(t, f.c, "mogfs_link domain=fp&from_key=attr/b&to_key=attr/ln")
	wantStatus(t, f.commitAttrs(t, attrItem{item{more[1], "1", "fp", "attr/ln", "", size, ""}, []string{"mode", "384"}}), "linked_key")
	if a := ok(t, f.c, "file_debug fid="+more[1]); a["tempfile_devids"] != "1" || a["fid_fid"] != "" {
		t.Fatalf("linked item's fid: %v", a)
	}
	if l = ok(t, f.c, "mogfs_lookup domain=fp&key=attr/ln"); l["fid"] != fids[1] || l["mode"] != "420" {
		t.Fatalf("linked name after the refusal: %v", l)
	}
}
