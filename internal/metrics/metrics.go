package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name of the project.
const Namespace = "mogilefs"

// LatencyBuckets are the histogram buckets, in seconds, of request and
// command latencies: 100 µs to 30 s.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewRegistry returns a registry with the Go runtime and process
// collectors registered.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg at /metrics and the Go profiler at /debug/pprof/.
func Handler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{log},
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       30 * time.Second,
	}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><a href="/metrics">/metrics</a><br><a href="/debug/pprof/">/debug/pprof/</a></body></html>`+"\n")
	})
	return mux
}

// slogPrinter adapts a *slog.Logger to promhttp's error log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	if p.log != nil {
		p.log.Warn("metrics: " + fmt.Sprint(v...))
	}
}

// Server is a bound metrics listener.
type Server struct {
	l   net.Listener
	srv *http.Server
}

// Listen binds addr ("ip:port", or a bare port meaning all addresses) for
// reg's metrics. Serve must be called to answer.
func Listen(addr string, reg *prometheus.Registry, log *slog.Logger) (*Server, error) {
	addr, err := NormalizeAddr(addr)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return &Server{l: l, srv: &http.Server{
		Handler:           Handler(reg, log),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}}, nil
}

// NormalizeAddr checks a metrics listen address and turns a bare port
// into ":port".
func NormalizeAddr(addr string) (string, error) {
	if p, err := strconv.Atoi(addr); err == nil {
		if p < 0 || p > 65535 {
			return "", fmt.Errorf("metrics: listen address %q: port out of range", addr)
		}
		return ":" + addr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("metrics: listen address %q: want ip:port: %w", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("metrics: listen address %q: bad port", addr)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return "", fmt.Errorf("metrics: listen address %q: %q is not an IP address", addr, host)
	}
	return addr, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Serve answers until ctx is done, then closes the listener and waits up
// to 5 s for scrapes in flight.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", err)
	}
	return nil
}

// Start binds addr and serves reg there in the background until ctx is
// done; errors after the bind are logged. It returns the bound address.
func Start(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) (net.Addr, error) {
	s, err := Listen(addr, reg, log)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := s.Serve(ctx); err != nil && log != nil {
			log.Error("metrics listener stopped", "addr", s.Addr().String(), "err", err)
		}
	}()
	if log != nil {
		log.Info("serving metrics", "addr", s.Addr().String())
	}
	return s.Addr(), nil
}

// Source is a daemon whose metrics can be registered (the tracker, the
// gateway, a storage node).
type Source interface {
	RegisterMetrics(prometheus.Registerer) error
}

// StartFor registers src's metrics in a new registry and serves them on
// addr as Start does; an empty addr serves nothing.
func StartFor(ctx context.Context, addr string, src Source, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	reg := NewRegistry()
	if err := src.RegisterMetrics(reg); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	_, err := Start(ctx, addr, reg, log)
	return err
}

// StatusClass returns "1xx" … "5xx" for an HTTP status code, "other"
// outside 100–599.
func StatusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return statusClasses[code/100-1]
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}
