package tracker_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// BenchmarkInProcess runs the tracker inside the test process (storage
// nodes are real mogstored processes) so that its hot paths can be
// profiled per phase with pprof:
//
//	MOGTEST_PROFILE_DIR=/tmp/prof go test -run '^$' -bench InProcess/sqlite -benchtime 20000x ./tracker/
//
// writes <backend>-<phase>.cpu.pprof, .allocs.pprof and .trace there for the
// phases open (create_open), close (create_close: HEAD size check and
// commit) and paths (get_paths noverify). The allocs/op and cpu-µs/op
// reported per phase count the whole process, the load goroutines
// included.
func BenchmarkInProcess(b *testing.B) {
	benchBackends(b, func(b *testing.B, o mogtest.TrackerOptions) {
		dsn, user, pass := mogtest.SQLiteDSN(b), "", ""
		if o.MySQL != nil {
			dsn, user, pass = o.MySQL.DBIDSN, o.MySQL.User, o.MySQL.Password
		}
		mogtest.SetupSchema(b, dsn, user, pass)
		ctx, cancel := context.WithCancel(context.Background())
		st, err := sqlstore.Open(ctx, sqlstore.Config{DSN: dsn, User: user, Password: pass})
		if err != nil {
			b.Fatal(err)
		}
		node := mogtest.StartMogstored(b, mogtest.MogstoredOptions{DevIDs: []int{1, 2}, Args: []string{"--no-fsync"}})
		_, mgmt, _ := net.SplitHostPort(node.MgmtAddr)
		cfg := tracker.DefaultConfig()
		cfg.Listen = []string{mogtest.FreeAddr(b, "127.0.0.1")}
		cfg.MogstoredStreamPort, _ = strconv.Atoi(mgmt)
		cfg.Hostname = "bench"
		srv, err := tracker.New(cfg, st)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		b.Cleanup(func() {
			cancel()
			<-done
			st.Close()
		})
		mogtest.WaitPort(b, cfg.Listen[0], 30*time.Second)
		c := mustDial(b, cfg.Listen[0])
		host, port, _ := net.SplitHostPort(node.HTTPAddr)
		c.MustDo(b, "create_host", wire.Args{"host": "store1", "ip": host, "port": port, "status": "alive"})
		for _, d := range node.DevIDs {
			c.MustDo(b, "create_device", wire.Args{"hostname": "store1", "devid": strconv.Itoa(d), "state": "alive"})
		}
		c.MustDo(b, "create_domain", wire.Args{"domain": "bench"})
		c.MustDo(b, "create_class", wire.Args{"domain": "bench", "class": "one", "mindevcount": "1"})
		(&mogtest.Cluster{}).WaitWriteable(b, c)

		name := "sqlite"
		if o.MySQL != nil {
			name = "mariadb"
		}
		body := []byte("0123456789abcdef")
		opens := make([]wire.Args, b.N)
		addr := cfg.Listen[0]
		b.ResetTimer()
		phase(b, name, "open", func() {
			parallel(b, addr, b.N, func(tc *mogtest.TrackerConn, i int) error {
				a, err := tc.Do("create_open", wire.Args{"domain": "bench", "class": "one", "key": "k" + strconv.Itoa(i)})
				opens[i] = a
				return err
			})
		})
		b.StopTimer()
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		parallel(b, addr, b.N, func(_ *mogtest.TrackerConn, i int) error {
			resp, err := hc.Do(mustReq("PUT", opens[i]["path"], body))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		})
		b.StartTimer()
		phase(b, name, "close", func() {
			parallel(b, addr, b.N, func(tc *mogtest.TrackerConn, i int) error {
				a := opens[i]
				_, err := tc.Do("create_close", wire.Args{"domain": "bench", "key": "k" + strconv.Itoa(i), "fid": a["fid"],
					"devid": a["devid"], "path": a["path"], "size": strconv.Itoa(len(body))})
				return err
			})
		})
		phase(b, name, "paths", func() {
			parallel(b, addr, b.N, func(tc *mogtest.TrackerConn, i int) error {
				r, err := tc.Raw("get_paths domain=bench&noverify=1&key=k" + strconv.Itoa(i%1000))
				if err == nil && (len(r) < 10 || r[:3] != "OK ") {
					b.Errorf("get_paths: %q", r)
				}
				return err
			})
		})
	})
}

func mustDial(b *testing.B, addr string) *mogtest.TrackerConn {
	c, err := mogtest.DialTracker(addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// phase runs f, reporting its rate, and profiles it when
// MOGTEST_PROFILE_DIR is set.
func phase(b *testing.B, backend, name string, f func()) {
	dir := os.Getenv("MOGTEST_PROFILE_DIR")
	var cpu *os.File
	if dir != "" {
		var err error
		if cpu, err = os.Create(filepath.Join(dir, backend+"-"+name+".cpu.pprof")); err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			b.Fatal(err)
		}
		runtime.MemProfileRate = 4096
		if tf, err := os.Create(filepath.Join(dir, backend+"-"+name+".trace")); err == nil {
			trace.Start(tf)
			defer tf.Close()
			defer trace.Stop()
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU(b)
	t0 := time.Now()
	f()
	d := time.Since(t0)
	cpuUsed := processCPU(b) - cpu0
	runtime.ReadMemStats(&m1)
	if cpu != nil {
		pprof.StopCPUProfile()
		cpu.Close()
		if mf, err := os.Create(filepath.Join(dir, backend+"-"+name+".allocs.pprof")); err == nil {
			pprof.Lookup("allocs").WriteTo(mf, 0)
			mf.Close()
		}
		runtime.MemProfileRate = 512 * 1024
	}
	b.ReportMetric(float64(b.N)/d.Seconds(), name+"/s")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), name+"-allocs/op")
	b.ReportMetric(float64(cpuUsed/time.Microsecond)/float64(b.N), name+"-cpu-µs/op")
}

// processCPU is the CPU time (user and system) this process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
