package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// nodeOf returns the cluster node serving url.
func nodeOf(t *testing.T, cl *mogtest.Cluster, u string) *mogtest.Node {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cl.Nodes {
		if p.Hostname() == n.IP {
			return n
		}
	}
	t.Fatalf("no node serves %s", u)
	return nil
}

// TestFailover reads files whose copies disappear or whose storage nodes
// die: before the transfer, and in the middle of it.
func TestFailover(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"two": 2}})
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{DefaultClass: "two"})
	hc := httpClient()
	files := trackerClient(t, cl, "files")
	ctx := context.Background()

	small := content("small", 50000)
	big := content("big", 48<<20)
	for key, data := range map[string][]byte{"small": small, "big": big, "gone": small, "unread": small} {
		if r := do(t, hc, "PUT", gw.URL+"/files/"+key, bytes.NewReader(data)); r.status != 201 {
			t.Fatalf("PUT %s: %v", key, r)
		}
		secondCopy(t, cl, files, key)
	}

	// A copy missing on disk (the node answers 404): the next one is
	// served.
	paths, err := files.Paths(ctx, "gone", clientPaths())
	if err != nil || len(paths) != 2 {
		t.Fatalf("paths of gone: %v %v", paths, err)
	}
	n := nodeOf(t, cl, paths[0])
	p, _ := url.Parse(paths[0])
	if err := os.Remove(filepath.Join(n.DocRoot, filepath.FromSlash(p.Path))); err != nil {
		t.Fatal(err)
	}
	if r := do(t, hc, "GET", gw.URL+"/files/gone", nil); r.status != 200 || !bytes.Equal(r.body, small) {
		t.Fatalf("GET with the first copy deleted: %v", r)
	}
	if r := do(t, hc, "HEAD", gw.URL+"/files/gone", nil); r.status != 200 {
		t.Errorf("HEAD with the first copy deleted: %v", r)
	}

	// A node dying in the middle of a transfer: the rest comes from the
	// other copy.
	paths, err = files.Paths(ctx, "big", clientPaths())
	if err != nil || len(paths) != 2 {
		t.Fatalf("paths of big: %v %v", paths, err)
	}
	first := nodeOf(t, cl, paths[0])
	req, _ := http.NewRequest("GET", gw.URL+"/files/big", nil)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET big: %v %v", resp, err)
	}
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	first.Proc.Kill()
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading after the node died: %v", err)
	}
	if got := append(head, rest...); !bytes.Equal(got, big) {
		t.Fatalf("content after mid-transfer failover differs (%d of %d bytes)", len(got), len(big))
	}
	// The transfer ended on the other copy.
	gw.Log.wait(t, 10*time.Second, func(r map[string]string) bool {
		return r["method"] == "GET" && r["key"] == "big" && r["url"] == paths[1]
	})

	// With that node down, every file is still served, from its other
	// copy; HEAD too.
	for _, key := range []string{"small", "big"} {
		want := small
		if key == "big" {
			want = big
		}
		if r := do(t, hc, "GET", gw.URL+"/files/"+key, nil); r.status != 200 || !bytes.Equal(r.body, want) {
			t.Errorf("GET %s with a node down: %d, %d bytes", key, r.status, len(r.body))
		}
		if r := do(t, hc, "HEAD", gw.URL+"/files/"+key, nil); r.status != 200 {
			t.Errorf("HEAD %s with a node down: %v", key, r)
		}
		if r := do(t, hc, "GET", gw.URL+"/files/"+key, nil, "Range", "bytes=10-19"); r.status != 206 || !bytes.Equal(r.body, want[10:20]) {
			t.Errorf("Range %s with a node down: %v", key, r)
		}
	}

	// No copy reachable: 503 for a file never read (so not in the
	// memory cache of small files) and for one too large for it, and the
	// failure is logged with the key.
	for _, n := range cl.Nodes {
		n.Proc.Kill()
	}
	for _, key := range []string{"unread", "big"} {
		for _, m := range []string{"GET", "HEAD"} {
			r := do(t, hc, m, gw.URL+"/files/"+key, nil)
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("%s %s with every node down: %v", m, key, r)
			}
		}
	}
	rec := gw.Log.wait(t, 10*time.Second, func(r map[string]string) bool {
		return r["key"] == "unread" && r["status"] == "503"
	})
	if rec["level"] != "ERROR" || !strings.Contains(rec["err"], "unread") || rec["fid"] == "" {
		t.Errorf("503 log line: %v", rec)
	}
	// A small file read before is still served, from memory: its fid's
	// content cannot have changed, and the tracker still names that fid.
	if r := do(t, hc, "GET", gw.URL+"/files/small", nil); r.status != 200 || !bytes.Equal(r.body, small) {
		t.Errorf("cached small file with every node down: %v", r)
	}
	if r := do(t, hc, "GET", gw.URL+"/files/small", nil, "Range", "bytes=49990-"); r.status != 206 || !bytes.Equal(r.body, small[49990:]) {
		t.Errorf("cached small file, Range: %v", r)
	}

	// Without the memory cache, every read needs a copy.
	nocache := startGateway(t, cl.Tracker.Addr, gateway.Config{ContentCacheBytes: -1})
	if r := do(t, hc, "GET", nocache.URL+"/files/small", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("small file without the memory cache, every node down: %v", r)
	}
}

// TestAbortMidTransfer: when the only copy of a file breaks off in the
// middle of a transfer, the answer (whose headers are out) is cut short
// and its connection closed, so the client sees a truncated transfer,
// never a complete-looking short file; the failure is logged. A request
// answered before the failure on the same connection is unaffected.
func TestAbortMidTransfer(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Hosts: 1})
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{ContentCacheBytes: -1})
	hc := httpClient()
	big := content("abort", 16<<20)
	if r := do(t, hc, "PUT", gw.URL+"/files/abort", bytes.NewReader(big)); r.status != 201 {
		t.Fatalf("PUT: %v", r)
	}
	if r := do(t, hc, "GET", gw.URL+"/files/abort", nil, "Range", "bytes=0-99"); r.status != 206 || !bytes.Equal(r.body, big[:100]) {
		t.Fatalf("Range before the failure: %v", r)
	}
	resp, err := hc.Get(gw.URL + "/files/abort")
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len(big)) {
		t.Fatalf("GET: %v %v", resp, err)
	}
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	cl.Nodes[0].Proc.Kill()
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("the transfer ended cleanly after %d bytes with the only copy gone", len(head)+len(rest))
	}
	if got := append(head, rest...); !bytes.Equal(got, big[:len(got)]) {
		t.Errorf("the %d bytes received differ from the file", len(got))
	}
	rec := gw.Log.wait(t, 30*time.Second, func(r map[string]string) bool {
		return r["method"] == "GET" && r["key"] == "abort" && r["err"] != ""
	})
	if rec["level"] != "ERROR" || !strings.Contains(rec["err"], "after") {
		t.Errorf("log line of the cut transfer: %v", rec)
	}
}
