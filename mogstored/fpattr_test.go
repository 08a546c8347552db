package mogstored_test

import (
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// attrPutURL is /_put with mogfs attribute arguments (docs/fastpath.md
// §10.3a).
func attrPutURL(n *mogtest.Node, key string, attrs url.Values) string {
	q := url.Values{"domain": {"d"}, "key": {key}, "class": {"one"}}
	for k, v := range attrs {
		q[k] = v
	}
	return n.Mogstored.URL("/_put?" + q.Encode())
}

// TestFastPathAttrs: /_put with mogfs attributes commits them with the
// file, in batches mixed with plain uploads; a bad value is refused and
// leaves nothing.
func TestFastPathAttrs(t *testing.T) {
	t.Parallel()
	cl := fpCluster(t, 1, mogtest.ClusterOptions{NodeMetrics: true})
	n := cl.Nodes[0]
	c := cl.Tracker.Conn(t)
	if st := getStatus(t, n.Mogstored); !st.Attrs {
		t.Fatalf("GET /_fastpath does not offer attributes: %+v", st)
	}
	r := fpDo(t, "PUT", attrPutURL(n, "a", url.Values{"mode": {"33188"}, "uid": {"7"}, "gid": {"8"},
		"mtime": {"1700000000"}, "mtime_nsec": {"9"}, "atime": {"1600000000"}, "rdev": {""}}), []byte("attrs"))
	if r.code != 200 {
		t.Fatalf("PUT with attributes: %d %v %q", r.code, r.hdr, r.body)
	}
	l := c.MustDo(t, "mogfs_lookup", wire.Args{"domain": "d", "key": "a"})
	for k, v := range map[string]string{"fid": r.hdr.Get("X-MogileFS-FID"), "size": "5", "mode": "33188", "uid": "7",
		"gid": "8", "mtime": "1700000000", "mtime_nsec": "9", "atime": "1600000000", "rdev": ""} {
		if l[k] != v {
			t.Fatalf("mogfs_lookup: %s=%q, want %q: %v", k, l[k], v, l)
		}
	}
	// A bad value: the tracker's bad_params, as mogfs_create_close's;
	// no key and no file.
	files := len(fidFiles(t, n.DocRoot))
	r = fpDo(t, "PUT", attrPutURL(n, "bad", url.Values{"mode": {"-1"}}), []byte("bad"))
	if r.code != 400 || r.hdr.Get("X-MogileFS-Error") != "bad_params" {
		t.Fatalf("PUT with a bad mode: %d %v", r.code, r.hdr)
	}
	if got := len(fidFiles(t, n.DocRoot)); got != files {
		t.Fatalf("%d files after the refusal, %d before", got, files)
	}
	if _, err := c.Do("file_info", wire.Args{"domain": "d", "key": "bad"}); !isCode(err, "unknown_key") {
		t.Fatalf("file_info of the refused key: %v", err)
	}
	// Uploads with and without attributes at once: batches go as
	// mogfs_fastpath_commit, and the plain ones get no row.
	const puts = 16
	var wg sync.WaitGroup
	codes := make([]int, puts)
	for i := range puts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var attrs url.Values
			if i%2 == 0 {
				attrs = url.Values{"mode": {strconv.Itoa(0o600 + i)}}
			}
			codes[i] = fpDo(t, "PUT", attrPutURL(n, "mix"+strconv.Itoa(i), attrs), []byte("mixed")).code
		}()
	}
	wg.Wait()
	for i := range puts {
		if codes[i] != 200 {
			t.Fatalf("PUT %d: %d", i, codes[i])
		}
		l := c.MustDo(t, "mogfs_lookup", wire.Args{"domain": "d", "key": "mix" + strconv.Itoa(i)})
		want := ""
		if i%2 == 0 {
			want = strconv.Itoa(0o600 + i)
		}
		if l["mode"] != want || l["size"] != "5" {
			t.Fatalf("mix%d: mode %q, want %q: %v", i, l["mode"], want, l)
		}
	}
	f := metricstest.Scrape(t, n.MetricsAddr)
	if ok, _ := f.Value("mogilefs_mogstored_fastpath_puts_total", "outcome", "ok"); ok != puts+1 {
		t.Fatalf("%v uploads ok, want %d", ok, puts+1)
	}
}
