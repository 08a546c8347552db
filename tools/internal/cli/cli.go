package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// Env is the process environment of a tool run.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable (HOME, MOGUTILSCONF).
	Getenv func(string) string
	// StderrTerminal reports whether Stderr is a terminal; progress bars
	// are drawn only then.
	StderrTerminal bool
	// EtcConfig is the system-wide configuration file
	// (/etc/mogilefs/mogilefs.conf); tests point it elsewhere.
	EtcConfig string
}

// SystemConfig is the original's system-wide configuration file.
const SystemConfig = "/etc/mogilefs/mogilefs.conf"

// OSEnv returns the environment of the running process.
func OSEnv() *Env {
	return &Env{
		Stdin:          os.Stdin,
		Stdout:         os.Stdout,
		Stderr:         os.Stderr,
		Getenv:         os.Getenv,
		StderrTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		EtcConfig:      SystemConfig,
	}
}

// Run is the body of every tool's main: it runs main with a context that
// is cancelled by SIGINT/SIGTERM and returns the exit status.
func Run(main func(ctx context.Context, env *Env, args []string) int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills the process as usual.
		<-ctx.Done()
		stop()
	}()
	return main(ctx, OSEnv(), os.Args[1:])
}
