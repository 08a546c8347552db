package mogstored

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
)

// The fast path's metrics (with --trackers; see RegisterMetrics):
//
//	mogilefs_mogstored_fastpath_puts_total{outcome}   counter: /_put answered: ok, refused (400),
//	                                                  retry (503), unknown (500), failed (not written)
//	mogilefs_mogstored_fastpath_commits_total         counter: fastpath_commit batches answered
//	mogilefs_mogstored_fastpath_commit_items          histogram: uploads per batch (_sum, _count)
//	mogilefs_mogstored_fastpath_errors_total{code}    counter: item statuses other than ok and the
//	                                                  node's own failures (no_lease, commit_failed, ...)
//	mogilefs_mogstored_fastpath_leased_fids_total     counter
//	mogilefs_mogstored_fastpath_expired_fids_total    counter: leased fids dropped unused at lease_ttl
//	mogilefs_mogstored_fastpath_key_lookups_total{source} counter: /_key lookups, cache or tracker
//	mogilefs_mogstored_fastpath_paths_batches_total   counter: fastpath_paths commands sent
type fpMetrics struct {
	puts      *prometheus.CounterVec
	commits   prometheus.Counter
	items     prometheus.Histogram
	errors    *prometheus.CounterVec
	leasedN   prometheus.Counter
	expiredN  prometheus.Counter
	lookups   *prometheus.CounterVec
	pathsSent prometheus.Counter
}

func newFPMetrics() *fpMetrics {
	const sub = "mogstored"
	opts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub, Name: name, Help: help}
	}
	return &fpMetrics{
		puts:    prometheus.NewCounterVec(opts("fastpath_puts_total", "Fast-path uploads (/_put) answered, by outcome."), []string{"outcome"}),
		commits: prometheus.NewCounter(opts("fastpath_commits_total", "fastpath_commit batches answered by a tracker.")),
		items: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "fastpath_commit_items",
			Help:    "Uploads per fastpath_commit batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		errors:    prometheus.NewCounterVec(opts("fastpath_errors_total", "Fast-path failures, by code."), []string{"code"}),
		leasedN:   prometheus.NewCounter(opts("fastpath_leased_fids_total", "Fids leased from the trackers.")),
		expiredN:  prometheus.NewCounter(opts("fastpath_expired_fids_total", "Leased fids dropped unused when their lease expired.")),
		lookups:   prometheus.NewCounterVec(opts("fastpath_key_lookups_total", "/_key lookups, by source (cache or tracker)."), []string{"source"}),
		pathsSent: prometheus.NewCounter(opts("fastpath_paths_batches_total", "fastpath_paths commands sent.")),
	}
}

func (m *fpMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.puts, m.commits, m.items, m.errors, m.leasedN, m.expiredN, m.lookups, m.pathsSent}
}

func (m *fpMetrics) put(outcome string) {
	if m != nil {
		m.puts.WithLabelValues(outcome).Inc()
	}
}

func (m *fpMetrics) error(code string) {
	if m != nil {
		m.errors.WithLabelValues(code).Inc()
	}
}

func (m *fpMetrics) batch(n int) {
	if m != nil {
		m.commits.Inc()
		m.items.Observe(float64(n))
	}
}

func (m *fpMetrics) leased(n int) {
	if m != nil {
		m.leasedN.Add(float64(n))
	}
}

func (m *fpMetrics) expired(n int) {
	if m != nil {
		m.expiredN.Add(float64(n))
	}
}

func (m *fpMetrics) lookup(source string) {
	if m != nil {
		m.lookups.WithLabelValues(source).Inc()
	}
}

func (m *fpMetrics) pathsBatch() {
	if m != nil {
		m.pathsSent.Inc()
	}
}
