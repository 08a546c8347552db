package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/mogilefs-go/mogilefs/internal/conffile"
	"github.com/mogilefs-go/mogilefs/tracker"
)

// loadConfig reads the config file (--config, else the default file if
// it exists, unless --skipconfig) and merges the command line over it.
func loadConfig(o *options) (tracker.Config, []string, error) {
	var entries []conffile.Entry
	path := o.config
	if path == "" {
		if f, err := os.Open(defaultConfig); err == nil {
			f.Close()
			path = defaultConfig
		}
	}
	if path != "" && !o.skipConfig {
		var err error
		if entries, err = conffile.ReadFile(path); err != nil {
			return tracker.Config{}, nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	cfg, warnings, err := tracker.ParseConfig(entries, o.cli)
	if err != nil {
		if path != "" && !o.skipConfig {
			return tracker.Config{}, nil, fmt.Errorf("%s: %w", path, err)
		}
		return tracker.Config{}, nil, err
	}
	return cfg, warnings, nil
}

// logLevel is the slog level of the debug setting.
func logLevel(debug int) slog.Level {
	if debug > 0 {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// reloadOnHUP re-reads the configuration on every SIGHUP until ctx is
// done and applies what can change at run time: debug (the log level),
// the query and worker counts (as "!want" does), node_timeout and
// conn_timeout. It logs what it applied and what needs a restart; a
// config that does not parse changes nothing.
func reloadOnHUP(ctx context.Context, hup chan os.Signal, o *options, srv *tracker.Server, level *slog.LevelVar, log *slog.Logger) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		cfg, warnings, err := loadConfig(o)
		if err != nil {
			log.Error("SIGHUP: config not reloaded; nothing changed", "err", err)
			continue
		}
		for _, w := range warnings {
			log.Warn(w)
		}
		applied, restart := srv.Reload(cfg)
		level.Set(logLevel(cfg.Debug))
		log.Info("SIGHUP: config reloaded", "applied", strings.Join(applied, ","), "needs_restart", strings.Join(restart, ","))
		for _, k := range restart {
			log.Warn("SIGHUP: setting changed; restart mogilefsd to apply it", "setting", k)
		}
	}
}
