package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/metrics"
)

// startMetrics binds the metrics address ("" = none) and serves the
// gateway's metrics there until ctx is done.
func startMetrics(ctx context.Context, addr string, g *gateway.Gateway, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	reg := metrics.NewRegistry()
	if err := g.RegisterMetrics(reg); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if _, err := metrics.Start(ctx, addr, reg, log); err != nil {
		return fmt.Errorf("--metrics-listen: %w", err)
	}
	return nil
}

// clearOnHUP empties the gateway's caches on every SIGHUP until ctx is
// done. (Its options are not re-read: changing them needs a restart.)
func clearOnHUP(ctx context.Context, hup chan os.Signal, g *gateway.Gateway, log *slog.Logger) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			g.ClearCaches()
			log.Info("SIGHUP: caches cleared (other settings need a restart)")
		}
	}
}

// notifyHUP starts catching SIGHUP (whose default action would end the
// process).
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}
