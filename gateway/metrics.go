package gateway

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
)

// The gateway's metrics (see RegisterMetrics):
//
//	mogilefs_gateway_requests_total{method,code}               counter
//	mogilefs_gateway_request_duration_seconds{method,code}     histogram
//	mogilefs_gateway_sent_bytes_total                          counter (response bodies)
//	mogilefs_gateway_cache_requests_total{cache,result}        counter (cache meta|content, result hit|miss)
//	mogilefs_gateway_meta_cache_entries                        gauge
//	mogilefs_gateway_content_cache_bytes                       gauge
//	mogilefs_gateway_node_failovers_total                      counter
//
// method is GET, HEAD, PUT, DELETE, OPTIONS or other; code is the status
// sent (499 when the client went away before an answer). A failover is a
// storage node path that failed during a read, after which the next copy
// was tried (or the read failed if it was the last).

var gatewayMethods = [...]string{"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "other"}

func gatewayMethod(m string) int {
	switch m {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPut:
		return 2
	case http.MethodDelete:
		return 3
	case http.MethodOptions:
		return 4
	}
	return 5
}

type gwCell struct {
	reqs prometheus.Counter
	lat  prometheus.Observer
}

// gatewayMetrics resolve each (method, code) series once and keep it in
// an array: a request costs atomic loads and the updates, no label
// lookups.
type gatewayMetrics struct {
	reqs  *prometheus.CounterVec
	lat   *prometheus.HistogramVec
	cells [len(gatewayMethods)][600]atomic.Pointer[gwCell]
	sent  prometheus.Counter

	metaHit, metaMiss, contentHit, contentMiss prometheus.Counter
}

// RegisterMetrics adds the gateway's metrics to reg and starts counting.
// Call it before serving.
func (g *Gateway) RegisterMetrics(reg prometheus.Registerer) error {
	const sub = "gateway"
	m := &gatewayMetrics{
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub,
			Name: "requests_total", Help: "HTTP requests answered, by method and status code."}, []string{"method", "code"}),
		lat: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metrics.Namespace, Subsystem: sub,
			Name: "request_duration_seconds", Help: "Time to answer a request (to the end of its body), by method and status code.",
			Buckets: metrics.LatencyBuckets}, []string{"method", "code"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub,
			Name: "sent_bytes_total", Help: "Response body bytes sent."}),
	}
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub,
		Name: "cache_requests_total", Help: "Cache lookups: meta (tracker answers) and content (small files), hit or miss."},
		[]string{"cache", "result"})
	m.metaHit, m.metaMiss = cache.WithLabelValues("meta", "hit"), cache.WithLabelValues("meta", "miss")
	m.contentHit, m.contentMiss = cache.WithLabelValues("content", "hit"), cache.WithLabelValues("content", "miss")
	entries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: sub,
		Name: "meta_cache_entries", Help: "Tracker answers held in the cache."}, func() float64 {
		return float64(g.cache.Len())
	})
	bytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: sub,
		Name: "content_cache_bytes", Help: "Bytes of small files held in memory."}, func() float64 {
		return float64(g.content.Bytes())
	})
	failovers := prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: sub,
		Name: "node_failovers_total", Help: "Storage node paths that failed during a read (the next copy is tried)."}, func() float64 {
		return float64(g.health.failures.Load())
	})
	for _, c := range []prometheus.Collector{m.reqs, m.lat, m.sent, cache, entries, bytes, failovers} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	g.metrics = m
	return nil
}

// request counts one answered request.
func (m *gatewayMetrics) request(rec *request) {
	if m == nil {
		return
	}
	code := rec.rp.status()
	if code < 0 || code >= 600 {
		code = 0
	}
	mi := gatewayMethod(rec.r.Method)
	p := &m.cells[mi][code]
	c := p.Load()
	if c == nil {
		label := strconv.Itoa(code)
		c = &gwCell{reqs: m.reqs.WithLabelValues(gatewayMethods[mi], label), lat: m.lat.WithLabelValues(gatewayMethods[mi], label)}
		if !p.CompareAndSwap(nil, c) {
			c = p.Load()
		}
	}
	c.reqs.Inc()
	c.lat.Observe(time.Since(rec.start).Seconds())
	if n := rec.rp.n; n > 0 {
		m.sent.Add(float64(n))
	}
}

// lookup counts a tracker-answer cache lookup.
func (m *gatewayMetrics) lookup(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.metaHit.Inc()
	} else {
		m.metaMiss.Inc()
	}
}

// contentLookup counts a small-file cache lookup.
func (m *gatewayMetrics) contentLookup(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.contentHit.Inc()
	} else {
		m.contentMiss.Inc()
	}
}
