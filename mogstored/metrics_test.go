package mogstored

import (
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkRequestMetrics is what the metered handler adds to a request:
// the series lookup and the counter and histogram updates ("metrics"),
// against the clock reads alone ("clock"), which the handler makes too.
// Besides ns/op it reports the process CPU time per op (cpu-ns/op),
// which a busy machine disturbs less than the wall clock.
func BenchmarkRequestMetrics(b *testing.B) {
	m := newNodeMetrics()
	reg := prometheus.NewRegistry()
	for _, c := range m.collectors() {
		reg.MustRegister(c)
	}
	var sink float64
	b.Run("clock", func(b *testing.B) {
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			sink += time.Since(start).Seconds()
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	})
	b.Run("metrics", func(b *testing.B) {
		b.ReportAllocs()
		c0 := cpuTime()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			c := m.cell(methodIndex("GET"), statusIndex(200))
			c.reqs.Inc()
			c.lat.Observe(time.Since(start).Seconds())
			m.bytesOut.Add(4096)
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	})
	_ = sink
}

// cpuTime is the process's user+system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestRequestCells: each method and status class gets its own series,
// resolved once.
func TestRequestCells(t *testing.T) {
	m := newNodeMetrics()
	if m.cell(0, 1) != m.cell(0, 1) {
		t.Fatal("cell resolved twice")
	}
	for _, c := range []struct {
		method string
		code   int
		mi, si int
	}{{"GET", 200, 0, 1}, {"HEAD", 304, 1, 2}, {"PUT", 507, 2, 4}, {"DELETE", 404, 3, 3}, {"MKCOL", 400, 4, 3}, {"PROPFIND", 405, 5, 3}, {"GET", 0, 0, 5}, {"GET", 700, 0, 5}} {
		if mi, si := methodIndex(c.method), statusIndex(c.code); mi != c.mi || si != c.si {
			t.Errorf("%s %d: indexes %d,%d, want %d,%d", c.method, c.code, mi, si, c.mi, c.si)
		}
	}
}
