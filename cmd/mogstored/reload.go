package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/mogstored"
)

// metricsListener is the bound --metricslisten port (nil: none).
type metricsListener struct {
	reg *prometheus.Registry
	s   *metrics.Server
}

// listenMetrics binds the metrics address before the node starts, so
// that a bad or busy address fails the start and leaves nothing behind.
func listenMetrics(addr string, log *slog.Logger) (*metricsListener, error) {
	if addr == "" {
		return nil, nil
	}
	reg := metrics.NewRegistry()
	s, err := metrics.Listen(addr, reg, log)
	if err != nil {
		return nil, fmt.Errorf("metricslisten: %w", err)
	}
	return &metricsListener{reg: reg, s: s}, nil
}

// serve registers the node's metrics and answers scrapes until ctx is
// done.
func (m *metricsListener) serve(ctx context.Context, srv *mogstored.Server, log *slog.Logger) {
	if m == nil {
		return
	}
	if err := srv.RegisterMetrics(m.reg); err != nil {
		log.Error("metrics not available", "err", err)
	}
	log.Info("serving metrics", "addr", m.s.Addr().String())
	go func() {
		if err := m.s.Serve(ctx); err != nil {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
}

// notifyHUP starts catching SIGHUP (whose default action would end the
// process).
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// reloadOnHUP handles SIGHUP until ctx is done: the device directories
// are rescanned at once, and the command line and config file are read
// again; settings that changed are logged as needing a restart (none of
// mogstored's settings changes at run time).
func reloadOnHUP(ctx context.Context, hup chan os.Signal, args []string, srv *mogstored.Server, log *slog.Logger) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		srv.Rescan()
		changed, err := changedSettings(args, srv.Config())
		if err != nil {
			log.Error("SIGHUP: config not reloaded", "err", err)
			continue
		}
		for _, name := range changed {
			log.Warn("SIGHUP: setting changed; restart mogstored to apply it", "setting", name)
		}
		log.Info("SIGHUP: rescanning devices", "settings_needing_restart", len(changed))
	}
}

// changedSettings parses args and the config file again and names the
// settings that differ from the running ones.
func changedSettings(args []string, running mogstored.Config) ([]string, error) {
	o, err := parseArgs(args, os.Getenv)
	if err == nil {
		err = o.loadConfig()
	}
	if err == nil {
		err = o.cfg.Check()
	}
	if err != nil {
		return nil, err
	}
	var out []string
	a, b := reflect.ValueOf(o.cfg), reflect.ValueOf(running)
	for i := 0; i < a.NumField(); i++ {
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			out = append(out, a.Type().Field(i).Name)
		}
	}
	return out, nil
}
