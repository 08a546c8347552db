package mogstored

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// The storage node's metrics (see RegisterMetrics):
//
//	mogilefs_mogstored_http_requests_total{method,status}        counter
//	mogilefs_mogstored_http_request_duration_seconds{method,status} histogram
//	mogilefs_mogstored_http_received_bytes_total                 counter (request bodies)
//	mogilefs_mogstored_http_sent_bytes_total                     counter (response bodies)
//	mogilefs_mogstored_device_free_bytes{devid}                  gauge (from the usage refresh)
//	mogilefs_mogstored_device_total_bytes{devid}                 gauge
//	mogilefs_mogstored_device_used_bytes{devid}                  gauge
//	mogilefs_mogstored_usage_refreshes_total                     counter
//	mogilefs_mogstored_sidechannel_commands_total{command}       counter
//
// method is GET, HEAD, PUT, DELETE, MKCOL or other; status is the class
// (2xx, 4xx, ...). Requests the server could not parse (answered 400
// before any handler runs) are not counted. With --server=nginx or none
// there are no HTTP metrics: nginx serves the requests.

// methods and status classes index the pre-resolved series.
var (
	meteredMethods = [...]string{"GET", "HEAD", "PUT", "DELETE", "MKCOL", "other"}
	statusLabels   = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	sideCommands   = [...]string{nodeproto.CmdSize, nodeproto.CmdDigest, nodeproto.CmdWatch, nodeproto.CmdManage, "invalid"}
)

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "PUT":
		return 2
	case "DELETE":
		return 3
	case "MKCOL":
		return 4
	}
	return 5
}

func statusIndex(code int) int {
	if code < 100 || code > 599 {
		return 5
	}
	return code/100 - 1
}

// reqCell holds the resolved series of one method and status class.
type reqCell struct {
	reqs prometheus.Counter
	lat  prometheus.Observer
}

// nodeMetrics are a Server's metrics. The request series are resolved on
// first use and kept in an array, so a request costs two atomic loads,
// a counter increment and a histogram observation: no label lookups.
type nodeMetrics struct {
	reqs     *prometheus.CounterVec
	lat      *prometheus.HistogramVec
	cells    [len(meteredMethods)][len(statusLabels)]atomic.Pointer[reqCell]
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	sideVec  *prometheus.CounterVec
	side     [len(sideCommands)]prometheus.Counter
	refresh  prometheus.Counter
	usage    *usageCollector
}

func newNodeMetrics() *nodeMetrics {
	const sub = "mogstored"
	m := &nodeMetrics{
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "http_requests_total",
			Help: "HTTP requests answered, by method and status class.",
		}, []string{"method", "status"}),
		lat: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "http_request_duration_seconds",
			Help:    "Time from a parsed request head to the end of its response, by method and status class.",
			Buckets: metrics.LatencyBuckets,
		}, []string{"method", "status"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "http_received_bytes_total",
			Help: "Request body bytes read (PUT uploads).",
		}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "http_sent_bytes_total",
			Help: "Response body bytes sent.",
		}),
		refresh: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "usage_refreshes_total",
			Help: "Device usage measurements taken (one per device per refresh).",
		}),
		usage: &usageCollector{devs: map[int]nodeproto.Usage{}},
	}
	sideVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: sub, Name: "sidechannel_commands_total",
		Help: "Side-channel (management port) commands received, by kind.",
	}, []string{"command"})
	for i, c := range sideCommands {
		m.side[i] = sideVec.WithLabelValues(c)
	}
	m.usage.descs(sub)
	m.sideVec = sideVec
	return m
}

func (m *nodeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.reqs, m.lat, m.bytesIn, m.bytesOut, m.refresh, m.sideVec, m.usage}
}

// cell returns the series of method index mi and status index si.
func (m *nodeMetrics) cell(mi, si int) *reqCell {
	p := &m.cells[mi][si]
	if c := p.Load(); c != nil {
		return c
	}
	c := &reqCell{
		reqs: m.reqs.WithLabelValues(meteredMethods[mi], statusLabels[si]),
		lat:  m.lat.WithLabelValues(meteredMethods[mi], statusLabels[si]),
	}
	if p.CompareAndSwap(nil, c) {
		return c
	}
	return p.Load()
}

// RegisterMetrics adds the node's metrics to reg and starts counting
// requests, side-channel commands and device usage. Call it after Listen
// and before Run.
func (s *Server) RegisterMetrics(reg prometheus.Registerer) error {
	m := newNodeMetrics()
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("mogstored: register metrics: %w", err)
		}
	}
	if s.http != nil {
		s.http.Handler = &meteredHandler{next: s.http.Handler, m: m, count: func(r *httpd.Request, status int) {
			m.cell(methodIndex(r.Method), statusIndex(status)).reqs.Inc()
		}}
	}
	if s.fp != nil {
		fm := newFPMetrics()
		for _, c := range fm.collectors() {
			if err := reg.Register(c); err != nil {
				return fmt.Errorf("mogstored: register metrics: %w", err)
			}
		}
		s.fp.m = fm
	}
	s.usage.observer = m
	s.side.metrics = m
	return nil
}

// meteredHandler counts and times the requests of next, and counts their
// bytes. A request is counted when its status is fixed, before the
// response leaves, so that a client that has its answer finds its request
// counted; the time and the bytes are added when the handler returns.
type meteredHandler struct {
	next  httpd.Handler
	m     *nodeMetrics
	count func(r *httpd.Request, status int)
}

func (h *meteredHandler) ServeHTTP(w *httpd.ResponseWriter, r *httpd.Request) {
	start := time.Now()
	var body *countingReader
	if r.ContentLength != 0 {
		body = &countingReader{r: r.Body}
		r.Body = body
	}
	w.OnRespond(h.count)
	h.next.ServeHTTP(w, r)
	status := w.Status()
	if !w.Written() {
		status = 500 // what the server answers for a handler that did not
	}
	h.m.cell(methodIndex(r.Method), statusIndex(status)).lat.Observe(time.Since(start).Seconds())
	if n := w.Sent(); n > 0 {
		h.m.bytesOut.Add(float64(n))
	}
	if body != nil && body.n > 0 {
		h.m.bytesIn.Add(float64(body.n))
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sideCommand counts one side-channel command of kind (a nodeproto.Cmd*
// value, or "" for a line that did not parse).
func (m *nodeMetrics) sideCommand(kind string) {
	if m == nil {
		return
	}
	for i, c := range sideCommands[:len(sideCommands)-1] {
		if c == kind {
			m.side[i].Inc()
			return
		}
	}
	m.side[len(sideCommands)-1].Inc()
}

// measured records a device's usage from the usage refresh.
func (m *nodeMetrics) measured(devid int, us nodeproto.Usage) {
	if m == nil {
		return
	}
	m.refresh.Inc()
	m.usage.mu.Lock()
	m.usage.devs[devid] = us
	m.usage.mu.Unlock()
}

// present drops the devices that are gone from the docroot.
func (m *nodeMetrics) present(ids map[int]bool) {
	if m == nil {
		return
	}
	m.usage.mu.Lock()
	for id := range m.usage.devs {
		if !ids[id] {
			delete(m.usage.devs, id)
		}
	}
	m.usage.mu.Unlock()
}

// usageCollector exposes the last usage measured of every device.
type usageCollector struct {
	free, total, used *prometheus.Desc

	mu   sync.Mutex
	devs map[int]nodeproto.Usage
}

func (u *usageCollector) descs(sub string) {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, sub, n) }
	u.free = prometheus.NewDesc(name("device_free_bytes"), "Bytes available to the node on the device's filesystem, from the last usage refresh.", []string{"devid"}, nil)
	u.total = prometheus.NewDesc(name("device_total_bytes"), "Size of the device (used + available), from the last usage refresh.", []string{"devid"}, nil)
	u.used = prometheus.NewDesc(name("device_used_bytes"), "Bytes used on the device, from the last usage refresh.", []string{"devid"}, nil)
}

func (u *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- u.free
	ch <- u.total
	ch <- u.used
}

func (u *usageCollector) Collect(ch chan<- prometheus.Metric) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, us := range u.devs {
		dev := strconv.Itoa(id)
		ch <- prometheus.MustNewConstMetric(u.free, prometheus.GaugeValue, float64(us.Available)*1024, dev)
		ch <- prometheus.MustNewConstMetric(u.total, prometheus.GaugeValue, float64(us.Total)*1024, dev)
		ch <- prometheus.MustNewConstMetric(u.used, prometheus.GaugeValue, float64(us.Used)*1024, dev)
	}
}
