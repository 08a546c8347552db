package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mogilefs-go/mogilefs/gateway"
)

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
