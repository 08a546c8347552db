package mountcmd

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/mogfs"
	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// startMetrics binds addr ("" = no metrics) and serves the mount's
// metrics there for the life of the process, with those of its client c.
func startMetrics(addr string, spool *keyspace.Spool, c *client.Client, log *slog.Logger) (*mogfs.Metrics, error) {
	if addr == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	m, err := mogfs.NewMetrics(reg, spool)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := reg.Register(clientStats{c}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if _, err := metrics.Start(context.Background(), addr, reg, log); err != nil {
		return nil, fmt.Errorf("metrics_listen: %w", err)
	}
	return m, nil
}

// clientStats reports the mount's client.Stats: which way its uploads
// went and the tracker requests it sent.
//
//	mogilefs_mogfs_uploads_total{path}            counter (fastpath: one PUT /_put; three_step: create_open, PUT, close)
//	mogilefs_mogfs_fastpath_fallbacks_total       counter (uploads a node could not take, sent three-step)
//	mogilefs_mogfs_tracker_requests_total{command} counter
type clientStats struct{ c *client.Client }

var (
	uploadsDesc = prometheus.NewDesc(metrics.Namespace+"_mogfs_uploads_total",
		"Files uploaded, by the way they went: fastpath (one request to a storage node) or three_step.", []string{"path"}, nil)
	fallbacksDesc = prometheus.NewDesc(metrics.Namespace+"_mogfs_fastpath_fallbacks_total",
		"Uploads a storage node could not take through the fast path, sent the three-step way.", nil, nil)
	trackerDesc = prometheus.NewDesc(metrics.Namespace+"_mogfs_tracker_requests_total",
		"Requests sent to trackers, by command.", []string{"command"}, nil)
)

func (clientStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- uploadsDesc
	ch <- fallbacksDesc
	ch <- trackerDesc
}

func (s clientStats) Collect(ch chan<- prometheus.Metric) {
	st := s.c.Stats()
	ch <- prometheus.MustNewConstMetric(uploadsDesc, prometheus.CounterValue, float64(st.FastPathPuts), "fastpath")
	ch <- prometheus.MustNewConstMetric(uploadsDesc, prometheus.CounterValue, float64(st.ThreeStepPuts), "three_step")
	ch <- prometheus.MustNewConstMetric(fallbacksDesc, prometheus.CounterValue, float64(st.FastPathFallbacks))
	for cmd, n := range st.TrackerCommands {
		ch <- prometheus.MustNewConstMetric(trackerDesc, prometheus.CounterValue, float64(n), cmd)
	}
}
