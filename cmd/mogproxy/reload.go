package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
)

// onHUP empties the gateway's caches and re-reads the S3 keys file (when
// the S3 API is served) on every SIGHUP until ctx is done. A keys file
// that no longer reads keeps the keys in use. (Other options are not
// re-read: changing them needs a restart.)
func onHUP(ctx context.Context, hup chan os.Signal, g *gateway.Gateway, s3srv *s3.Server, keysFile string, log *slog.Logger) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			g.ClearCaches()
			if s3srv != nil {
				s3srv.ClearCaches()
				if keys, err := s3.LoadKeys(keysFile); err != nil {
					log.Error("SIGHUP: S3 keys not reloaded, the previous ones stay in use", "err", err)
				} else {
					s3srv.SetKeys(keys)
					log.Info("SIGHUP: S3 keys reloaded", "keys", len(keys))
				}
			}
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
