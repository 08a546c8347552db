package mogstored_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mogclient "github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// The fast path against the three-step upload on the same kind of
// cluster (one node, one device, fsync off, SQLite), 16 uploaders:
//
//	go test ./mogstored -run '^$' -bench 'Put4K' -benchtime 20000x

// benchWorkers is how many goroutines upload at once.
const benchWorkers = 16

// cpuTime is the user+system CPU time a process used so far.
func cpuTime(b *testing.B, p *mogtest.Proc) time.Duration {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(p.Cmd.Process.Pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stime) * (time.Second / 100) // USER_HZ
}

// benchParallel runs fn from benchWorkers goroutines and reports the
// rate and the CPU the cluster's node and tracker spent per file.
func benchParallel(b *testing.B, cl *mogtest.Cluster, fn func(i int64) error) {
	b.SetParallelism(max(1, benchWorkers/runtime.GOMAXPROCS(0)))
	var n atomic.Int64
	b.ReportAllocs()
	node0, tr0 := cpuTime(b, cl.Nodes[0].Proc), cpuTime(b, cl.Tracker.Proc)
	defer func() {
		node, tr := cpuTime(b, cl.Nodes[0].Proc)-node0, cpuTime(b, cl.Tracker.Proc)-tr0
		b.ReportMetric(float64(node.Microseconds())/float64(b.N), "node-µs/file")
		b.ReportMetric(float64(tr.Microseconds())/float64(b.N), "tracker-µs/file")
	}()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := fn(n.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "files/s")
}

func BenchmarkFastPathPut4K(b *testing.B) {
	cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Hosts: 1, FastPath: true, Domain: "d",
		Classes: map[string]int{"one": 1}, NodeArgs: []string{"--nofsync"}, NodeMetrics: true})
	n := cl.Nodes[0]
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(n.Mogstored.URL("/_fastpath"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte(`"ready":true`)) {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("node not ready")
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	data := make([]byte, 4096)
	benchParallel(b, cl, func(i int64) error {
		req, _ := http.NewRequest("PUT", n.Mogstored.URL("/_put?domain=d&class=one&key=bench/"+strconv.FormatInt(i, 10)),
			bytes.NewReader(data))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("PUT /_put: %d", resp.StatusCode)
		}
		return nil
	})
	f := metricstest.Scrape(b, n.MetricsAddr)
	commits, _ := f.Value("mogilefs_mogstored_fastpath_commits_total")
	items, _ := f.HistogramSum("mogilefs_mogstored_fastpath_commit_items")
	b.ReportMetric(items/commits, "files/commit")
}

func BenchmarkThreeStepPut4K(b *testing.B) {
	cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Hosts: 1, Domain: "d",
		Classes: map[string]int{"one": 1}, NodeArgs: []string{"--nofsync"}})
	c, err := mogclient.New(mogclient.Config{Domain: "d", Trackers: []string{cl.Tracker.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	ctx := mogtest.Context(b)
	data := make([]byte, 4096)
	benchParallel(b, cl, func(i int64) error {
		_, err := c.StoreBytes(ctx, "bench/"+strconv.FormatInt(i, 10), "one", data)
		return err
	})
}
