package mogstored_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// noRedirect is an HTTP client that shows redirects instead of
// following them.
var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// fpReply is an HTTP answer.
type fpReply struct {
	code int
	hdr  http.Header
	body string
}

func fpDo(t *testing.T, method, u string, body []byte, hdr ...string) fpReply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fpReply{resp.StatusCode, resp.Header, string(b)}
}

func putURL(n *mogtest.Node, domain, key, class string) string {
	q := url.Values{"domain": {domain}, "key": {key}}
	if class != "" {
		q.Set("class", class)
	}
	return n.Mogstored.URL("/_put?" + q.Encode())
}

func keyURL(n *mogtest.Node, domain, key string) string {
	return n.Mogstored.URL("/_key?" + url.Values{"domain": {domain}, "key": {key}}.Encode())
}

// fpStatus is GET /_fastpath.
type fpStatus struct {
	FastPath int   `json:"fastpath"`
	Ready    bool  `json:"ready"`
	Attrs    bool  `json:"attrs"`
	Devices  []int `json:"devices"`
}

func getStatus(t *testing.T, m *mogtest.Mogstored) fpStatus {
	t.Helper()
	r := fpDo(t, "GET", m.URL("/_fastpath"), nil)
	var st fpStatus
	if r.code != 200 || r.hdr.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(r.body), &st) != nil {
		t.Fatalf("GET /_fastpath: %d %q %q", r.code, r.hdr.Get("Content-Type"), r.body)
	}
	return st
}

// waitReady waits until the node holds a usable lease.
func waitReady(t *testing.T, m *mogtest.Mogstored) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !getStatus(t, m).Ready {
		if time.Now().After(deadline) {
			t.Fatalf("node not ready after 45 s:\n%s", m.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fpCluster starts a tracker and hosts nodes with the fast path on, a
// domain "d" with classes one (1 copy) and two (2 copies), and waits
// until every node is ready.
func fpCluster(t *testing.T, hosts int, o mogtest.ClusterOptions) *mogtest.Cluster {
	t.Helper()
	o.Hosts, o.FastPath, o.Domain = hosts, true, "d"
	o.Classes = map[string]int{"one": 1, "two": 2}
	o.NodeArgs = append(o.NodeArgs, "--nofsync")
	cl := mogtest.StartCluster(t, o)
	for _, n := range cl.Nodes {
		waitReady(t, n.Mogstored)
	}
	return cl
}

// fidFiles lists the .fid files under the node's docroot.
func fidFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".fid") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestFastPathOffWithoutTrackers(t *testing.T) {
	t.Parallel()
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{})
	u := m.URL("/_put?" + url.Values{"domain": {"d"}, "key": {"k"}}.Encode())
	for _, c := range []struct{ method, url string }{
		{"GET", m.URL("/_fastpath")}, {"HEAD", m.URL("/_fastpath")}, {"PUT", u},
		{"GET", m.URL("/_key?domain=d&key=k")}, {"HEAD", m.URL("/_key?domain=d&key=k")},
	} {
		var body []byte
		if c.method == "PUT" {
			body = []byte("hello")
		}
		if r := fpDo(t, c.method, c.url, body); r.code != 404 {
			t.Errorf("%s %s: %d, want 404", c.method, c.url, r.code)
		}
	}
	if files := fidFiles(t, m.DocRoot); len(files) != 0 {
		t.Errorf("files written: %v", files)
	}
}

// TestFastPathDisabledByTracker: a tracker whose fast path is off (or one
// without the commands) leaves the node not ready, and uploads are
// answered 503 with X-MogileFS-Retry.
func TestFastPathDisabledByTracker(t *testing.T) {
	t.Parallel()
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	c := tr.Conn(t)
	if _, err := c.Do("set_server_setting", wire.Args{"key": "fastpath", "value": "off"}); err != nil {
		t.Logf("set fastpath off: %v (a tracker without the fast path)", err)
	}
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Trackers: []string{tr.Addr}})
	// The node logs the first fastpath_info answer.
	m.WaitOutput(t, "fast path: tracker settings", 15*time.Second)
	st := getStatus(t, m)
	if st.FastPath != 1 || st.Ready || len(st.Devices) != 0 {
		t.Fatalf("status %+v", st)
	}
	r := fpDo(t, "PUT", m.URL("/_put?domain=d&key=k"), []byte("hello"))
	if r.code != 503 || r.hdr.Get("X-MogileFS-Retry") != "1" {
		t.Fatalf("PUT: %d %v", r.code, r.hdr)
	}
	if files := fidFiles(t, m.DocRoot); len(files) != 0 {
		t.Errorf("files written: %v", files)
	}
}

func TestFastPathPutThenGetPaths(t *testing.T) {
	t.Parallel()
	cl := fpCluster(t, 1, mogtest.ClusterOptions{})
	n := cl.Nodes[0]
	body := []byte("fast path content")
	r := fpDo(t, "PUT", putURL(n, "d", "k1", "one"), body)
	if r.code != 200 {
		t.Fatalf("PUT /_put: %d %v %q", r.code, r.hdr, r.body)
	}
	fid, _ := strconv.ParseInt(r.hdr.Get("X-MogileFS-FID"), 10, 64)
	devid, _ := strconv.Atoi(r.hdr.Get("X-MogileFS-Devid"))
	want := "http://" + n.Mogstored.HTTPAddr + nodeproto.FIDPath(devid, fid)
	if fid <= 0 || devid != n.DevIDs[0] || r.hdr.Get("X-MogileFS-Path") != want || r.body != "" {
		t.Fatalf("answer %v %q, want path %s", r.hdr, r.body, want)
	}
	a := cl.Tracker.Conn(t).MustDo(t, "get_paths", wire.Args{"domain": "d", "key": "k1", "noverify": "1"})
	if a["paths"] != "1" || a["path1"] != want {
		t.Fatalf("get_paths: %v, want %s", a, want)
	}
	if g := fpDo(t, "GET", a["path1"], nil); g.code != 200 || g.body != string(body) {
		t.Fatalf("GET %s: %d %q", a["path1"], g.code, g.body)
	}
	// file_info knows the size the node reported.
	fi := cl.Tracker.Conn(t).MustDo(t, "file_info", wire.Args{"domain": "d", "key": "k1"})
	if fi["length"] != strconv.Itoa(len(body)) || fi["fid"] != strconv.FormatInt(fid, 10) || fi["class"] != "one" {
		t.Fatalf("file_info: %v", fi)
	}
	// The default class, a verified Content-MD5 (201), and overwriting
	// the key replaces its fid.
	sum := md5.Sum([]byte("second"))
	r2 := fpDo(t, "PUT", putURL(n, "d", "k1", ""), []byte("second"), "Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	if r2.code != 201 || r2.hdr.Get("X-MogileFS-FID") == r.hdr.Get("X-MogileFS-FID") {
		t.Fatalf("second PUT: %d %v", r2.code, r2.hdr)
	}
	a = cl.Tracker.Conn(t).MustDo(t, "get_paths", wire.Args{"domain": "d", "key": "k1", "noverify": "1"})
	if g := fpDo(t, "GET", a["path1"], nil); g.code != 200 || g.body != "second" {
		t.Fatalf("GET after overwrite: %d %q", g.code, g.body)
	}
}

func TestFastPathBatches(t *testing.T) {
	t.Parallel()
	cl := fpCluster(t, 1, mogtest.ClusterOptions{NodeMetrics: true})
	n := cl.Nodes[0]
	const puts = 16
	var wg sync.WaitGroup
	codes := make([]int, puts)
	for i := range puts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = fpDo(t, "PUT", putURL(n, "d", "batch"+strconv.Itoa(i), "one"), []byte("content "+strconv.Itoa(i))).code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("PUT %d: %d", i, c)
		}
	}
	f := metricstest.Scrape(t, n.MetricsAddr)
	ok, _ := f.Value("mogilefs_mogstored_fastpath_puts_total", "outcome", "ok")
	commits, _ := f.Value("mogilefs_mogstored_fastpath_commits_total")
	items, _ := f.HistogramSum("mogilefs_mogstored_fastpath_commit_items")
	t.Logf("%v uploads in %v commits", ok, commits)
	if ok != puts || items != puts || commits < 1 || commits >= puts {
		t.Fatalf("puts %v, items %v, commits %v\n%s", ok, items, commits, f)
	}
	c := cl.Tracker.Conn(t)
	for i := range puts {
		a := c.MustDo(t, "get_paths", wire.Args{"domain": "d", "key": "batch" + strconv.Itoa(i), "noverify": "1"})
		if g := fpDo(t, "GET", a["path1"], nil); g.body != "content "+strconv.Itoa(i) {
			t.Fatalf("key %d: %q", i, g.body)
		}
	}
}

func TestFastPathRefusals(t *testing.T) {
	t.Parallel()
	cl := fpCluster(t, 1, mogtest.ClusterOptions{})
	n := cl.Nodes[0]
	c := cl.Tracker.Conn(t)
	for _, tc := range []struct {
		name, domain, key, class string
		hdr                      []string
		code                     int
		errCode                  string
	}{
		{"unknown domain", "nodomain", "k", "", nil, 400, "unreg_domain"},
		{"unknown class", "d", "k", "noclass", nil, 400, "unreg_class"},
		{"no key", "d", "", "", nil, 400, "no_key"},
		{"md5 mismatch", "d", "k", "one", []string{"Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 16))}, 400, "checksum_mismatch"},
	} {
		r := fpDo(t, "PUT", putURL(n, tc.domain, tc.key, tc.class), []byte("refused"), tc.hdr...)
		if r.code != tc.code || r.hdr.Get("X-MogileFS-Error") != tc.errCode {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.code, r.hdr.Get("X-MogileFS-Error"), tc.code, tc.errCode)
		}
	}
	if files := fidFiles(t, n.DocRoot); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
	if _, err := c.Do("get_paths", wire.Args{"domain": "d", "key": "k"}); !isCode(err, "unknown_key") {
		t.Errorf("get_paths after refusals: %v", err)
	}
	// Bodies the fast path does not take.
	big := make([]byte, 1<<20+1)
	if r := fpDo(t, "PUT", putURL(n, "d", "big", ""), big); r.code != 413 {
		t.Errorf("PUT of 1 MiB + 1: %d", r.code)
	}
	req, _ := http.NewRequest("PUT", putURL(n, "d", "chunked", ""), io.MultiReader(strings.NewReader("x")))
	req.ContentLength = -1
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != 411 {
		t.Errorf("chunked PUT: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func isCode(err error, code string) bool {
	we, ok := err.(*wire.Error)
	return ok && we.Code == code
}

func TestFastPathKey(t *testing.T) {
	t.Parallel()
	cl := fpCluster(t, 2, mogtest.ClusterOptions{})
	a, b := cl.Nodes[0], cl.Nodes[1]
	body := "0123456789 a key read by domain and key"
	r := fpDo(t, "PUT", putURL(a, "d", "rk", "one"), []byte(body))
	if r.code != 200 {
		t.Fatalf("PUT: %d", r.code)
	}
	path := r.hdr.Get("X-MogileFS-Path")
	// Node a has the copy: it serves it, ranges included.
	g := fpDo(t, "GET", keyURL(a, "d", "rk"), nil)
	if g.code != 200 || g.body != body || g.hdr.Get("X-MogileFS-FID") != r.hdr.Get("X-MogileFS-FID") ||
		g.hdr.Get("X-MogileFS-Paths") != path {
		t.Fatalf("GET /_key on a: %d %v %q", g.code, g.hdr, g.body)
	}
	if g := fpDo(t, "GET", keyURL(a, "d", "rk"), nil, "Range", "bytes=2-5"); g.code != 206 || g.body != "2345" {
		t.Fatalf("range: %d %q", g.code, g.body)
	}
	if h := fpDo(t, "HEAD", keyURL(a, "d", "rk"), nil); h.code != 200 || h.hdr.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("HEAD: %d %v", h.code, h.hdr)
	}
	// Node b has none: 307 to a's copy.
	g = fpDo(t, "GET", keyURL(b, "d", "rk"), nil)
	if g.code != 307 || g.hdr.Get("Location") != path || g.hdr.Get("X-MogileFS-Paths") != path {
		t.Fatalf("GET /_key on b: %d %v", g.code, g.hdr)
	}
	for _, tc := range []struct{ domain, key, code string }{{"d", "nokey", "unknown_key"}, {"nodomain", "k", "unreg_domain"}} {
		if g := fpDo(t, "GET", keyURL(b, tc.domain, tc.key), nil); g.code != 404 || g.hdr.Get("X-MogileFS-Error") != tc.code {
			t.Errorf("GET /_key %s/%s: %d %q", tc.domain, tc.key, g.code, g.hdr.Get("X-MogileFS-Error"))
		}
	}
	// An upload through this node replaces what it cached of the key.
	if r := fpDo(t, "PUT", putURL(a, "d", "rk", "one"), []byte("new "+body)); r.code != 200 {
		t.Fatalf("second PUT: %d", r.code)
	}
	if g := fpDo(t, "GET", keyURL(a, "d", "rk"), nil); g.code != 200 || g.body != "new "+body {
		t.Fatalf("GET /_key after the overwrite: %d %q", g.code, g.body)
	}
	body = "new " + body
	// Many lookups at once are answered alike.
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "rk"
			if i%2 == 1 {
				key = "missing" + strconv.Itoa(i)
			}
			g := fpDo(t, "GET", keyURL(a, "d", key), nil)
			if key == "rk" && (g.code != 200 || g.body != body) || key != "rk" && g.code != 404 {
				t.Errorf("concurrent GET /_key %s: %d", key, g.code)
			}
		}()
	}
	wg.Wait()
}

// TestFastPathTrackerGone: with its trackers down the node answers 503
// (nothing sent, file removed); a stopped tracker that got the commit and
// never answered gives 500 (file kept); a new tracker on the same
// database commits again.
func TestFastPathTrackerGone(t *testing.T) {
	t.Parallel()
	first, second := mogtest.FreeAddr(t, "127.0.0.1"), mogtest.FreeAddr(t, "127.0.0.1")
	cl := fpCluster(t, 1, mogtest.ClusterOptions{Tracker: mogtest.TrackerOptions{Addr: first},
		NodeArgs: []string{"--trackers=" + first + "," + second}})
	n := cl.Nodes[0]
	if r := fpDo(t, "PUT", putURL(n, "d", "before", "one"), []byte("before")); r.code != 200 {
		t.Fatalf("PUT: %d", r.code)
	}
	// A stopped tracker takes the command and never answers: the
	// outcome is unknown, the file stays.
	cl.Tracker.Proc.Cmd.Process.Signal(syscall.SIGSTOP)
	r := fpDo(t, "PUT", putURL(n, "d", "stopped", "one"), []byte("stopped"))
	cl.Tracker.Proc.Cmd.Process.Signal(syscall.SIGCONT)
	if r.code != 500 || r.hdr.Get("X-MogileFS-Retry") != "" {
		t.Fatalf("PUT to a stopped tracker: %d %v", r.code, r.hdr)
	}
	if files := fidFiles(t, n.DocRoot); len(files) != 2 {
		t.Fatalf("files after an unknown outcome: %v", files)
	}
	cl.Tracker.Proc.Kill()
	r = fpDo(t, "PUT", putURL(n, "d", "down", "one"), []byte("down"))
	if r.code != 503 || r.hdr.Get("X-MogileFS-Retry") != "1" {
		t.Fatalf("PUT with no tracker: %d %v", r.code, r.hdr)
	}
	if files := fidFiles(t, n.DocRoot); len(files) != 2 {
		t.Fatalf("files after a refused upload: %v", files)
	}
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: cl.Tracker.DSN, Addr: second, StreamPort: cl.StreamPort})
	r = fpDo(t, "PUT", putURL(n, "d", "after", "one"), []byte("after"))
	if r.code != 200 {
		t.Fatalf("PUT after a new tracker started: %d %v\n%s", r.code, r.hdr, n.Mogstored.Output())
	}
	c := tr.Conn(t)
	for _, k := range []string{"before", "after"} {
		a := c.MustDo(t, "get_paths", wire.Args{"domain": "d", "key": k, "noverify": "1"})
		if g := fpDo(t, "GET", a["path1"], nil); g.code != 200 || g.body != k {
			t.Fatalf("%s: %d %q", k, g.code, g.body)
		}
	}
	if _, err := c.Do("get_paths", wire.Args{"domain": "d", "key": "down"}); !isCode(err, "unknown_key") {
		t.Fatalf("get_paths of the refused upload: %v", err)
	}
}

// TestFastPathLeaseTTL: a lease is not used past lease_ttl (60 s, the
// least, with the tracker's tempfile_too_old at 600 s).
func TestFastPathLeaseTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a minute for a lease to expire")
	}
	t.Parallel()
	cl := fpCluster(t, 1, mogtest.ClusterOptions{NodeMetrics: true,
		Tracker: mogtest.TrackerOptions{Env: []string{"TESTING=1", "T_TEMPFILE_TOO_OLD=600"}}})
	n := cl.Nodes[0]
	info := cl.Tracker.Conn(t).MustDo(t, "fastpath_info", nil)
	if info["lease_ttl"] != "60" {
		t.Fatalf("fastpath_info: %v", info)
	}
	r := fpDo(t, "PUT", putURL(n, "d", "k1", "one"), []byte("one"))
	first, _ := strconv.ParseInt(r.hdr.Get("X-MogileFS-FID"), 10, 64)
	if r.code != 200 {
		t.Fatalf("PUT: %d", r.code)
	}
	metricstest.Wait(t, n.MetricsAddr, 90*time.Second, "the first lease expired", func(f metricstest.Families) bool {
		v, _ := f.Value("mogilefs_mogstored_fastpath_expired_fids_total")
		return v > 0
	})
	f := metricstest.Scrape(t, n.MetricsAddr)
	expired, _ := f.Value("mogilefs_mogstored_fastpath_expired_fids_total")
	waitReady(t, n.Mogstored)
	r = fpDo(t, "PUT", putURL(n, "d", "k2", "one"), []byte("two"))
	second, _ := strconv.ParseInt(r.hdr.Get("X-MogileFS-FID"), 10, 64)
	// One tracker on SQLite leases consecutive fids: the first lease
	// was first .. first+255 less the one used.
	if r.code != 200 || expired != 255 || second <= first+255 {
		t.Fatalf("after expiry: %d fid %d (first %d), %v fids expired", r.code, second, first, expired)
	}
}
