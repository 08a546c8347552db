// Command mogproxy is an HTTP gateway to MogileFS: GET, HEAD, PUT and
// DELETE of /<domain>/<key>, optionally behind nginx with X-Accel-Redirect.
// See docs/mogproxy.md.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/internal/version"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogproxy"))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, env{getenv: os.Getenv, etcConfig: systemConfig}))
}

// run is mogproxy's main; it returns the exit status: 0 after a clean
// shutdown, 2 for bad options, 1 for any other failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, e env) int {
	o, help, err := parseArgs(args, e)
	if err != nil {
		fmt.Fprintf(stderr, "mogproxy: %v\nRun 'mogproxy --help' for the options.\n", err)
		return 2
	}
	if o.help {
		fmt.Fprint(stdout, help)
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	o.cfg.Logger = log
	g, err := gateway.New(o.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mogproxy: %v\n", err)
		return 2
	}
	defer g.Close()
	if err := metrics.StartFor(ctx, o.metricsListen, g, log); err != nil {
		fmt.Fprintf(stderr, "mogproxy: --metrics-listen: %v\n", err)
		return 1
	}
	var s3srv *s3.Server
	if o.s3Listen != "" {
		keys, err := s3.LoadKeys(o.s3Keys)
		if err != nil {
			fmt.Fprintf(stderr, "mogproxy: --s3-keys: %v\n", err)
			return 2
		}
		s3srv, err = s3.New(s3.Config{Trackers: o.cfg.Trackers, Listen: o.s3Listen, Keys: keys, BaseDomain: o.s3Domain,
			TrackerTimeout: o.cfg.TrackerTimeout, NodeTimeout: o.cfg.NodeTimeout, LogRequests: o.cfg.LogRequests, Logger: log,
			CacheTTL: o.cfg.CacheTTL, CacheEntries: o.cfg.CacheEntries, Content: g.ContentCache(),
			AbandonedUploads: abandoned(o.s3Abandoned)})
		if err != nil {
			fmt.Fprintf(stderr, "mogproxy: %v\n", err)
			return 2
		}
		defer s3srv.Close()
	}
	go onHUP(ctx, notifyHUP(), g, s3srv, o.s3Keys, log)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- g.Run(ctx) }()
	running := 1
	if s3srv != nil {
		running++
		go func() { errc <- s3srv.Run(ctx) }()
	}
	status := 0
	for ; running > 0; running-- {
		if err := <-errc; err != nil {
			log.Error("mogproxy stopped", "err", err)
			status = 1
			cancel() // one server failing stops the other
		}
	}
	if status == 0 {
		log.Info("mogproxy stopped")
	}
	return status
}

// abandoned is the s3.Config.AbandonedUploads of --s3-abandoned-uploads
// (0 there means never).
func abandoned(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
