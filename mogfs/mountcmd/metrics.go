package mountcmd

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/mogfs"
	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// startMetrics binds addr ("" = no metrics) and serves the mount's
// metrics there for the life of the process.
func startMetrics(addr string, spool *keyspace.Spool, log *slog.Logger) (*mogfs.Metrics, error) {
	if addr == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	m, err := mogfs.NewMetrics(reg, spool)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if _, err := metrics.Start(context.Background(), addr, reg, log); err != nil {
		return nil, fmt.Errorf("metrics_listen: %w", err)
	}
	return m, nil
}
