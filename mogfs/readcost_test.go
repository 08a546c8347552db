package mogfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// trackerRequests sums a mount's tracker requests by command.
func trackerRequests(t *testing.T, maddr string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	f := metricstest.Scrape(t, maddr)["mogilefs_mogfs_tracker_requests_total"]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "command" {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func diff(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// readCounted reads every key of data through the mount at mnt, checks
// the bytes, and returns the tracker requests (by command) and node GETs
// the reads cost.
func readCounted(t *testing.T, e *env, mnt, maddr string, data map[string][]byte, what string) (map[string]float64, float64) {
	t.Helper()
	before, gets := trackerRequests(t, maddr), nodeGets(t, e)
	for k, want := range data {
		if got, err := os.ReadFile(filepath.Join(mnt, k)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s read of %s: %d bytes, %v", what, k, len(got), err)
		}
	}
	req, g := diff(before, trackerRequests(t, maddr)), nodeGets(t, e)-gets
	t.Logf("%s reads of %d files: tracker %v, node GETs %v", what, len(data), req, g)
	return req, g
}

// smallFilesEnv is a fast-path cluster holding n small files r/f0…,
// whose contents it returns by key.
func smallFilesEnv(t *testing.T, n int) (*env, map[string][]byte) {
	t.Helper()
	e := newFastEnv(t, true)
	data := map[string][]byte{}
	for i := range n {
		k := "r/f" + strconv.Itoa(i)
		data[k] = bytes.Repeat([]byte{byte('a' + i)}, 3000+i)
		e.put(t, k, data[k])
	}
	return e, data
}

// meteredMount mounts e's domain with its metrics served (for
// trackerRequests) and the extra flags args; it returns the mount point
// and the metrics address.
func (e *env) meteredMount(t *testing.T, args ...string) (mnt, maddr string) {
	t.Helper()
	maddr = mogtest.FreeAddr(t, "127.0.0.1")
	mnt, p := e.mountProc(t, append([]string{"--domain=" + e.domain, "--class=one", "--metrics-listen=" + maddr}, args...)...)
	p.WaitPort(t, maddr, 30*time.Second)
	return mnt, maddr
}

// nodeGets sums the GETs the cluster's storage nodes answered.
func nodeGets(t *testing.T, e *env) float64 {
	t.Helper()
	var sum float64
	for _, n := range e.cl.Nodes {
		sum += metricstest.Scrape(t, n.MetricsAddr).Sum("mogilefs_mogstored_http_requests_total", "method", "GET")
	}
	return sum
}

// TestReadCost: a small file read on a fresh mount after ls -l costs the
// open's lookup and one GET (its lookup names a copy, docs/mogfs.md §4);
// read again, the lookup alone (the page cache holds the content).
func TestReadCost(t *testing.T) {
	const n = 20
	e, data := smallFilesEnv(t, n)
	mnt, maddr := e.meteredMount(t)
	run(t, "ls", "-l", filepath.Join(mnt, "r"))
	readAll := func(what string) (map[string]float64, float64) { return readCounted(t, e, mnt, maddr, data, what) }
	// (The tracker's monitor GETs each device's usage file now and
	// then: a GET or two more than the reads.)
	req, gets := readAll("cold")
	if req["get_paths"] != 0 || req["mogfs_lookup"] > n || len(req) > 1 || gets < n || gets > n+2 {
		t.Fatalf("cold reads: tracker %v, node GETs %v; want at most one mogfs_lookup and one GET per file", req, gets)
	}
	req, gets = readAll("warm")
	if req["get_paths"] != 0 || req["mogfs_lookup"] > n || len(req) > 1 || gets > 2 {
		t.Fatalf("warm reads: tracker %v, node GETs %v; want at most one mogfs_lookup per file and no GET", req, gets)
	}
}
