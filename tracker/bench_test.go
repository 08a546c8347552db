package tracker_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
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
		pid := cl.Tracker.Proc.Cmd.Process.Pid
		b.ResetTimer()
		cpu0 := cpuTime(b, pid)
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
		b.ReportMetric(float64((cpuTime(b, pid)-cpu0)/time.Microsecond)/float64(n.Load()), "tracker-cpu-µs/req")
	})
}

// BenchmarkCreateOpenClose measures the tracker's side of uploads:
// create_open for b.N keys over 16 connections (timed), the PUTs to the
// storage nodes (not timed: their speed is the storage node's), then the
// b.N create_close calls (timed, each with its HEAD size check and
// commit). pairs/s = b.N / (open time + close time).
func BenchmarkCreateOpenClose(b *testing.B) {
	benchBackends(b, func(b *testing.B, o mogtest.TrackerOptions) {
		cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "bench"})
		body := []byte("0123456789abcdef")
		opens := make([]wire.Args, b.N)
		pid := cl.Tracker.Proc.Cmd.Process.Pid
		b.ResetTimer()
		cpu0 := cpuTime(b, pid)
		var dbCPU0 time.Duration
		if o.MySQL != nil {
			if raw, err := os.ReadFile(os.Getenv("MOGTEST_MYSQLD_PIDFILE")); err == nil {
				if mp, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
					dbCPU0 = cpuTime(b, mp)
				}
			}
		}
		tOpen := parallel(b, cl.Tracker.Addr, b.N, func(tc *mogtest.TrackerConn, i int) error {
			a, err := tc.Do("create_open", wire.Args{"domain": "bench", "key": "k" + strconv.Itoa(i)})
			opens[i] = a
			return err
		})
		b.StopTimer()
		cpuOpen := cpuTime(b, pid) - cpu0
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		parallel(b, cl.Tracker.Addr, b.N, func(_ *mogtest.TrackerConn, i int) error {
			resp, err := hc.Do(mustReq("PUT", opens[i]["path"], body))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		})
		b.StartTimer()
		cpu1 := cpuTime(b, pid)
		tClose := parallel(b, cl.Tracker.Addr, b.N, func(tc *mogtest.TrackerConn, i int) error {
			a := opens[i]
			_, err := tc.Do("create_close", wire.Args{"domain": "bench", "key": "k" + strconv.Itoa(i), "fid": a["fid"],
				"devid": a["devid"], "path": a["path"], "size": strconv.Itoa(len(body))})
			return err
		})
		cpuClose := cpuTime(b, pid) - cpu1
		if o.MySQL != nil {
			if raw, err := os.ReadFile(os.Getenv("MOGTEST_MYSQLD_PIDFILE")); err == nil {
				if mp, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
					b.ReportMetric(float64((cpuTime(b, mp)-dbCPU0)/time.Microsecond)/float64(b.N), "mysqld-cpu-µs/pair")
				}
			}
		}
		b.ReportMetric(float64(b.N)/(tOpen+tClose).Seconds(), "pairs/s")
		b.ReportMetric(float64((cpuOpen+cpuClose)/time.Microsecond)/float64(b.N), "tracker-cpu-µs/pair")
		b.ReportMetric(float64(b.N)/tOpen.Seconds(), "opens/s")
		b.ReportMetric(float64(b.N)/tClose.Seconds(), "closes/s")
	})
}

// BenchmarkUploadEndToEnd is create_open, PUT and create_close in a row
// on 16 connections: bounded by the storage node's PUT rate.
func BenchmarkUploadEndToEnd(b *testing.B) {
	benchBackends(b, func(b *testing.B, o mogtest.TrackerOptions) {
		cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "bench"})
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		body := []byte("0123456789abcdef")
		b.ResetTimer()
		d := parallel(b, cl.Tracker.Addr, b.N, func(tc *mogtest.TrackerConn, i int) error {
			key := "k" + strconv.Itoa(i)
			a, err := tc.Do("create_open", wire.Args{"domain": "bench", "key": key})
			if err != nil {
				return err
			}
			resp, err := hc.Do(mustReq("PUT", a["path"], body))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			_, err = tc.Do("create_close", wire.Args{"domain": "bench", "key": key, "fid": a["fid"],
				"devid": a["devid"], "path": a["path"], "size": strconv.Itoa(len(body))})
			return err
		})
		b.ReportMetric(float64(b.N)/d.Seconds(), "uploads/s")
	})
}

// cpuTime is the CPU time (user+system) process pid used so far, from
// /proc (clock ticks of 10 ms).
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// parallel runs f for i in [0, n) on benchConns connections and returns
// the time it took.
func parallel(b *testing.B, addr string, n int, f func(tc *mogtest.TrackerConn, i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < benchConns; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc, err := mogtest.DialTracker(addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer tc.Close()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(tc, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0)
}

func mustReq(method, url string, body []byte) *http.Request {
	r, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	return r
}
