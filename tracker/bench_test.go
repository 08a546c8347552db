package tracker_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// The benchmarks run 16 client connections against a real tracker and
// real storage nodes and report requests per second:
//
//	go test -run '^$' -bench . -benchtime 5s ./tracker/
//
// (with MOGTEST_MYSQL_DSN set for the MariaDB variants).

func benchBackends(b *testing.B, f func(b *testing.B, o mogtest.TrackerOptions)) {
	b.Run("sqlite", func(b *testing.B) { f(b, mogtest.TrackerOptions{}) })
	b.Run("mariadb", func(b *testing.B) {
		m := mogtest.NewMySQL(b)
		f(b, mogtest.TrackerOptions{MySQL: &m})
	})
}

const benchConns = 16

func BenchmarkGetPathsNoverify(b *testing.B) {
	benchBackends(b, func(b *testing.B, o mogtest.TrackerOptions) {
		cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "bench"})
		c := cl.Tracker.Conn(b)
		const keys = 100
		for i := 0; i < keys; i++ {
			store(b, c, "bench", "", "key"+strconv.Itoa(i), []byte("payload"))
		}
		var n atomic.Int64
		b.SetParallelism((benchConns + 1) / 2) // 2 cores -> 16 goroutines
		b.ResetTimer()
		t0 := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			tc, err := mogtest.DialTracker(cl.Tracker.Addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer tc.Close()
			i := 0
			for pb.Next() {
				i++
				r, err := tc.Raw("get_paths domain=bench&noverify=1&key=key" + strconv.Itoa(i%keys))
				if err != nil || len(r) < 10 || r[:3] != "OK " {
					b.Errorf("get_paths: %q %v", r, err)
					return
				}
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/time.Since(t0).Seconds(), "req/s")
	})
}

func BenchmarkCreateOpenClose(b *testing.B) {
	benchBackends(b, func(b *testing.B, o mogtest.TrackerOptions) {
		cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "bench"})
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		body := []byte("0123456789abcdef")
		var n, seq atomic.Int64
		b.SetParallelism((benchConns + 1) / 2)
		b.ResetTimer()
		t0 := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			tc, err := mogtest.DialTracker(cl.Tracker.Addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer tc.Close()
			for pb.Next() {
				key := fmt.Sprintf("k%d", seq.Add(1))
				a, err := tc.Do("create_open", wire.Args{"domain": "bench", "key": key})
				if err != nil {
					b.Errorf("create_open: %v", err)
					return
				}
				resp, err := hc.Do(mustReq("PUT", a["path"], body))
				if err != nil {
					b.Errorf("PUT: %v", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if _, err := tc.Do("create_close", wire.Args{"domain": "bench", "key": key, "fid": a["fid"],
					"devid": a["devid"], "path": a["path"], "size": strconv.Itoa(len(body))}); err != nil {
					b.Errorf("create_close: %v", err)
					return
				}
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/time.Since(t0).Seconds(), "pairs/s")
	})
}

func mustReq(method, url string, body []byte) *http.Request {
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	return r
}
