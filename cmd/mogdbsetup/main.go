// Command mogdbsetup creates or upgrades a MogileFS database; see package
// tools/mogdbsetup.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mogilefs-go/mogilefs/tools/mogdbsetup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := mogdbsetup.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
