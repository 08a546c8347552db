// Command mogilefsd is the MogileFS tracker: it serves the tracker protocol
// (port 7001 by default) over a MySQL/MariaDB or SQLite metadata database
// and monitors the storage nodes. Flags and the config file
// (/etc/mogilefs/mogilefsd.conf) are the original's.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tracker"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

const defaultConfig = "/etc/mogilefs/mogilefsd.conf"

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogilefsd"))
		return
	}
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "mogilefsd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	cfg, warnings, err := loadConfig(o)
	if err != nil {
		return err
	}
	if cfg.Daemonize && os.Getenv(daemonEnv) == "" {
		return daemonize(cfg)
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg, level)
	for _, w := range append(o.warnings, warnings...) {
		log.Warn(w)
	}
	if err := checkUser(cfg.User, log); err != nil {
		return err
	}
	cfg.Logger = log
	cfg.Testing = os.Getenv("TESTING") != ""
	if cfg.Testing {
		cfg.FakeUtilization = fakeUtilization(os.Environ())
		if v, err := strconv.Atoi(os.Getenv("T_TEMPFILE_TOO_OLD")); err == nil && v > 0 {
			cfg.TempfileTooOld = time.Duration(v) * time.Second
		}
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	st, err := sqlstore.Open(ctx, sqlstore.Config{
		DSN: cfg.DBDSN[0], Failover: cfg.DBDSN[1:], User: cfg.DBUser, Password: cfg.DBPass,
		NoSchemaCheck: cfg.NoSchemaCheck, ListConns: cfg.DBListConns, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("unable to establish connection with your MogileFS database (run mogdbsetup if it is not set up): %w", err)
	}
	defer st.Close()
	if cfg.Hostname, err = os.Hostname(); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	cfg.Background = background(cfg, st)
	srv, err := tracker.New(cfg, st)
	if err != nil {
		return err
	}
	if err := metrics.StartFor(ctx, cfg.MetricsListen, srv, log); err != nil {
		return fmt.Errorf("metrics_listen: %w", err)
	}
	go reloadOnHUP(ctx, hup, o, srv, level, log)
	if cfg.PIDFile != "" {
		if err := os.WriteFile(cfg.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("couldn't write pidfile %s: %w", cfg.PIDFile, err)
		}
		defer os.Remove(cfg.PIDFile)
	}
	return srv.Run(ctx)
}

func newLogger(cfg tracker.Config, level *slog.LevelVar) *slog.Logger {
	level.Set(logLevel(cfg.Debug))
	var w io.Writer = os.Stderr
	if os.Getenv(daemonEnv) != "" {
		w = daemonLog()
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

var fakeIORe = regexp.MustCompile(`^T_FAKE_IO_DEV(\d+)=(.*)$`)

// fakeUtilization reads the original's test hook T_FAKE_IO_DEV<devid>.
func fakeUtilization(env []string) map[int]string {
	out := map[int]string{}
	for _, e := range env {
		if m := fakeIORe.FindStringSubmatch(e); m != nil {
			if id, err := strconv.Atoi(m[1]); err == nil {
				out[id] = strings.TrimSpace(m[2])
			}
		}
	}
	return out
}
