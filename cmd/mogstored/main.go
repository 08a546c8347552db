// Command mogstored is the MogileFS storage node. It takes the original's
// options and config file; see the usage text (mogstored --help).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/mogstored"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogstored"))
		return
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	o, err := parseArgs(args, os.Getenv)
	if errors.Is(err, errHelp) {
		fmt.Print(usage)
		return 0
	}
	if err == nil {
		err = o.loadConfig()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: %v\n\n%s", err, usage)
		return 1
	}
	child := daemonChild()
	if o.daemonize && child == nil {
		return daemonize()
	}
	out := &switchWriter{w: os.Stderr}
	log := slog.New(slog.NewTextHandler(out, nil))
	hup := notifyHUP()
	// Catch SIGTERM before anything listens: with --server=nginx the HTTP
	// port answers as soon as nginx is up, and a supervisor (or a test) may
	// stop us at that moment; the default action would leave nginx running.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ml, err := listenMetrics(o.metricsListen, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: %v\n", err)
		return 1
	}
	srv, err := mogstored.Listen(o.cfg, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mogstored: %v\n", err)
		return 1
	}
	ml.serve(ctx, srv, log)
	go reloadOnHUP(ctx, hup, args, srv, log)
	if child != nil {
		out.set(child.detach())
	} else {
		fmt.Println("Running.")
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("mogstored failed", "err", err)
		return 1
	}
	return 0
}
