package tracker

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The tracker's metrics (see RegisterMetrics):
//
//	mogilefs_tracker_commands_total{command,result}            counter
//	mogilefs_tracker_command_duration_seconds{command,result}  histogram
//	mogilefs_tracker_connections                               gauge
//	mogilefs_tracker_queries_pending / _running                gauge
//	mogilefs_tracker_queue_length{queue}                       gauge (replicate, delete, fsck, rebalance)
//	mogilefs_tracker_replication_backlog                       gauge (file_to_replicate rows due now)
//	mogilefs_tracker_queue_scrape_errors_total                 counter
//	mogilefs_tracker_device_free_mb{devid,host}                gauge
//	mogilefs_tracker_device_total_mb{devid,host}               gauge
//	mogilefs_tracker_device_observed_state{devid,host,state}   gauge (1 for the current state)
//	mogilefs_tracker_device_status{devid,host,status}          gauge (1 for the database status)
//	mogilefs_tracker_monitor_rounds_total                      counter
//	mogilefs_tracker_fastpath_commits_total                    counter (fastpath_commit batches answered OK)
//	mogilefs_tracker_fastpath_commit_items_total{status}       counter (their items, by status)
//	mogilefs_tracker_fastpath_leases_total                     counter (fastpath_lease answered OK)
//	mogilefs_tracker_fastpath_leased_fids_total                counter (the fids they leased)
//
// result is "ok" or the ERR code; command is the protocol command, or
// "unknown" for a word the tracker does not know (so a client cannot
// create series at will). The duration runs from the line being read to
// the reply being ready, including any wait for a free query slot.

// queueRefresh is the longest the queue figures are reused: they cost a
// COUNT(*) per queue on the database, so scrapes do not each run them.
const queueRefresh = 10 * time.Second

// dueCounter is the optional store method behind the replication
// backlog (sqlstore has it).
type dueCounter interface {
	QueueDue(ctx context.Context, q store.Queue) (int64, error)
}

// cmdSeries are the pre-resolved "ok" series of one command.
type cmdSeries struct {
	ok    prometheus.Counter
	okLat prometheus.Observer
}

// trackerMetrics count the commands; the rest is read at scrape time.
type trackerMetrics struct {
	cmds *prometheus.CounterVec
	lat  *prometheus.HistogramVec
	// known is built once and only read: no lock on the command path.
	known map[string]cmdSeries

	fpCommits, fpLeases, fpLeased prometheus.Counter
	fpItems                       *prometheus.CounterVec
	fpItemsOK                     prometheus.Counter
}

// fastpathCommit counts a fastpath_commit batch and its items' statuses.
func (m *trackerMetrics) fastpathCommit(status []string) {
	if m == nil {
		return
	}
	m.fpCommits.Inc()
	ok := 0
	for _, st := range status {
		if st == "ok" {
			ok++
			continue
		}
		m.fpItems.WithLabelValues(st).Inc()
	}
	m.fpItemsOK.Add(float64(ok))
}

// fastpathLease counts a fastpath_lease of n fids.
func (m *trackerMetrics) fastpathLease(n int) {
	if m == nil {
		return
	}
	m.fpLeases.Inc()
	m.fpLeased.Add(float64(n))
}

// command counts one command and its latency; code is "" for OK.
func (m *trackerMetrics) command(cmd, code string, d time.Duration) {
	if m == nil {
		return
	}
	if code == "" {
		if c, ok := m.known[cmd]; ok {
			c.ok.Inc()
			c.okLat.Observe(d.Seconds())
			return
		}
	}
	if _, ok := m.known[cmd]; !ok {
		cmd = "unknown"
	}
	result := code
	if result == "" {
		result = "ok"
	}
	m.cmds.WithLabelValues(cmd, result).Inc()
	m.lat.WithLabelValues(cmd, result).Observe(d.Seconds())
}

// RegisterMetrics adds the tracker's metrics to reg and starts counting
// commands. Call it after New and before Run.
func (s *Server) RegisterMetrics(reg prometheus.Registerer) error {
	const sub = "tracker"
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metrics.Namespace, Subsystem: sub, Name: name, Help: help}
	}
	m := &trackerMetrics{
		cmds: prometheus.NewCounterVec(prometheus.CounterOpts(opts("commands_total",
			"Protocol commands answered, by command and result (ok or the ERR code).")), []string{"command", "result"}),
		lat: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: sub, Name: "command_duration_seconds",
			Help:    "Time to answer a protocol command, including the wait for a query slot.",
			Buckets: metrics.LatencyBuckets,
		}, []string{"command", "result"}),
		known: map[string]cmdSeries{},
		fpCommits: prometheus.NewCounter(prometheus.CounterOpts(opts("fastpath_commits_total",
			"fastpath_commit batches answered OK."))),
		fpItems: prometheus.NewCounterVec(prometheus.CounterOpts(opts("fastpath_commit_items_total",
			"Items of fastpath_commit batches, by status (ok or the refusal).")), []string{"status"}),
		fpLeases: prometheus.NewCounter(prometheus.CounterOpts(opts("fastpath_leases_total",
			"fastpath_lease commands answered OK."))),
		fpLeased: prometheus.NewCounter(prometheus.CounterOpts(opts("fastpath_leased_fids_total",
			"Fids leased to storage nodes by fastpath_lease."))),
	}
	m.fpItemsOK = m.fpItems.WithLabelValues("ok")
	for name := range s.handlers {
		m.known[name] = cmdSeries{ok: m.cmds.WithLabelValues(name, "ok"), okLat: m.lat.WithLabelValues(name, "ok")}
	}
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("connections", "Open client connections.")), func() float64 {
		s.connMu.Lock()
		defer s.connMu.Unlock()
		return float64(len(s.conns))
	})
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("queries_pending", "Queries waiting for a free query slot (!stats pending_queries).")), func() float64 {
		w, _, _, _ := s.slots.state()
		return float64(w)
	})
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("queries_running", "Queries being processed (!stats processing_queries).")), func() float64 {
		_, r, _, _ := s.slots.state()
		return float64(r)
	})
	rounds := prometheus.NewCounterFunc(prometheus.CounterOpts(opts("monitor_rounds_total", "Completed monitor rounds over the devices.")), func() float64 {
		return float64(s.cl.RoundsCompleted())
	})
	master := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("job_master", "1 while this tracker holds the cluster's job-master role, else 0 (!stats is_job_master).")), func() float64 {
		return float64(s.stats.get("is_job_master"))
	})
	for _, c := range []prometheus.Collector{m.cmds, m.lat, m.fpCommits, m.fpItems, m.fpLeases, m.fpLeased, conns, pending, running, rounds, master, newQueueCollector(s.st, s.log), newDeviceCollector(s.cl)} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	s.metrics = m
	return nil
}

// queueCollector reports the queue lengths, read from the store at most
// every queueRefresh.
type queueCollector struct {
	st  store.Store
	log interface {
		Warn(msg string, args ...any)
	}
	length, backlog *prometheus.Desc
	errs            prometheus.Counter

	mu      sync.Mutex
	read    time.Time
	lengths map[string]int64
	due     int64
	haveDue bool
}

var metricQueues = []struct {
	name string
	q    store.Queue
}{{"replicate", store.QueueReplicate}, {"delete", store.QueueDelete}, {"fsck", store.QueueFsck}, {"rebalance", store.QueueRebalance}}

func newQueueCollector(st store.Store, log interface{ Warn(string, ...any) }) *queueCollector {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "tracker", n) }
	return &queueCollector{
		st: st, log: log,
		length:  prometheus.NewDesc(name("queue_length"), "Rows in a work queue (replicate, delete, fsck, rebalance); read at most every 10 s.", []string{"queue"}, nil),
		backlog: prometheus.NewDesc(name("replication_backlog"), "file_to_replicate rows due now (not deferred, not leased); read at most every 10 s.", nil, nil),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "tracker", Name: "queue_scrape_errors_total",
			Help: "Failed reads of the queue lengths for metrics."}),
		lengths: map[string]int64{},
	}
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- q.length
	ch <- q.backlog
	q.errs.Describe(ch)
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if time.Since(q.read) >= queueRefresh {
		q.refresh()
	}
	for _, mq := range metricQueues {
		if n, ok := q.lengths[mq.name]; ok {
			ch <- prometheus.MustNewConstMetric(q.length, prometheus.GaugeValue, float64(n), mq.name)
		}
	}
	if q.haveDue {
		ch <- prometheus.MustNewConstMetric(q.backlog, prometheus.GaugeValue, float64(q.due))
	}
	q.errs.Collect(ch)
}

// refresh reads the queues; a failed read keeps the previous figure.
func (q *queueCollector) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.read = time.Now()
	for _, mq := range metricQueues {
		n, err := q.st.QueueLength(ctx, mq.q)
		if err != nil {
			q.errs.Inc()
			q.log.Warn("metrics: queue length not read", "queue", mq.name, "err", err)
			continue
		}
		q.lengths[mq.name] = n
	}
	if dc, ok := q.st.(dueCounter); ok {
		n, err := dc.QueueDue(ctx, store.QueueReplicate)
		if err != nil {
			q.errs.Inc()
			q.log.Warn("metrics: replication backlog not read", "err", err)
			return
		}
		q.due, q.haveDue = n, true
	}
}

// deviceCollector reports every device of the cluster snapshot.
type deviceCollector struct {
	cl                        *cluster.Cluster
	free, total, obs, devstat *prometheus.Desc
}

// observedStates are the monitor's device states; "unknown" is a device
// not checked yet.
var observedStates = []string{cluster.Writeable, cluster.Readable, cluster.Unreachable, "unknown"}

// deviceStatuses are the device table's status values.
var deviceStatuses = []string{"alive", "dead", "down", "readonly", "drain"}

func newDeviceCollector(cl *cluster.Cluster) *deviceCollector {
	name := func(n string) string { return prometheus.BuildFQName(metrics.Namespace, "tracker", n) }
	labels := []string{"devid", "host"}
	return &deviceCollector{
		cl:      cl,
		free:    prometheus.NewDesc(name("device_free_mb"), "Free MB of a device (monitor's latest usage reading, else the database row).", labels, nil),
		total:   prometheus.NewDesc(name("device_total_mb"), "Total MB of a device (monitor's latest usage reading, else the database row).", labels, nil),
		obs:     prometheus.NewDesc(name("device_observed_state"), "1 for the state the monitor observed a device in.", append(labels, "state"), nil),
		devstat: prometheus.NewDesc(name("device_status"), "1 for a device's status in the database.", append(labels, "status"), nil),
	}
}

func (d *deviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- d.free
	ch <- d.total
	ch <- d.obs
	ch <- d.devstat
}

func (d *deviceCollector) Collect(ch chan<- prometheus.Metric) {
	snap := d.cl.Snapshot()
	if snap == nil {
		return
	}
	for _, dev := range snap.Devices {
		id, host := strconv.Itoa(dev.ID), ""
		if dev.Host != nil {
			host = dev.Host.Name
		}
		if total, used, ok := dev.Usage(); ok {
			ch <- prometheus.MustNewConstMetric(d.free, prometheus.GaugeValue, float64(total-used), id, host)
			ch <- prometheus.MustNewConstMetric(d.total, prometheus.GaugeValue, float64(total), id, host)
		}
		state := dev.Obs.State // as get_devices reports observed_state
		if state == "" {
			state = "unknown"
		}
		for _, st := range observedStates {
			ch <- prometheus.MustNewConstMetric(d.obs, prometheus.GaugeValue, boolValue(st == state), id, host, st)
		}
		for _, st := range deviceStatuses {
			ch <- prometheus.MustNewConstMetric(d.devstat, prometheus.GaugeValue, boolValue(st == dev.Status), id, host, st)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
