package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// Gateway is the HTTP handler. It is safe for concurrent use.
type Gateway struct {
	cfg    Config
	layout Layout
	log    *slog.Logger

	base      *client.Client
	clients   sync.Map // domain -> *client.Client sharing base's connections
	transport *http.Transport
	cache     *metaCache
	content   *contentCache
	health    *hostHealth
	bufs      sync.Pool       // *[]byte copy buffers
	metrics   *gatewayMetrics // nil unless RegisterMetrics was called
}

// MaxKeyBytes is the longest key MogileFS stores (file.dkey is
// VARCHAR(255)).
const MaxKeyBytes = 255

// copyBufSize is the size of the pooled buffers bodies are copied with.
const copyBufSize = 64 << 10

// New returns a Gateway for cfg. It contacts no tracker.
func New(cfg Config) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// One transport for every storage node: keep-alive, a large idle
	// pool per node, short connects so that a dead node costs little.
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          8192,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       25 * time.Second,
		ResponseHeaderTimeout: cfg.NodeTimeout,
		DisableCompression:    true,
		WriteBufferSize:       copyBufSize,
		ReadBufferSize:        copyBufSize,
	}
	base, err := client.New(client.Config{
		Trackers:    cfg.Trackers,
		Domain:      cfg.Domain,
		Timeout:     cfg.TrackerTimeout,
		NodeTimeout: cfg.NodeTimeout,
		// Lookups come in bursts (two tracker calls each): keep enough
		// connections open that a burst does not mean reconnecting.
		MaxIdlePerTracker: 128,
		HTTPClient:        &http.Client{Transport: tr},
		Logger:            cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g := &Gateway{
		cfg:       cfg,
		layout:    Layout{Prefix: cfg.Prefix, Domain: cfg.Domain, KeyFrom: cfg.KeyFrom},
		log:       cfg.Logger,
		base:      base,
		transport: tr,
		cache:     newMetaCache(cfg.CacheTTL, cfg.CacheEntries),
		content:   newContentCache(cfg.ContentCacheBytes, cfg.ContentCacheMaxFile),
		health:    newHostHealth(5 * time.Second),
	}
	g.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	return g, nil
}

// Layout returns the URL layout served.
func (g *Gateway) Layout() Layout { return g.layout }

// Close releases the tracker and storage node connections.
func (g *Gateway) Close() error {
	err := g.base.Close()
	g.transport.CloseIdleConnections()
	return err
}

// client returns the client for domain.
func (g *Gateway) client(domain string) *client.Client {
	if domain == g.cfg.Domain {
		return g.base
	}
	if c, ok := g.clients.Load(domain); ok {
		return c.(*client.Client)
	}
	c, _ := g.clients.LoadOrStore(domain, g.base.WithDomain(domain))
	return c.(*client.Client)
}

// allowed is the Allow header of a 405.
func (g *Gateway) allowed() string {
	if g.cfg.ReadOnly {
		return "GET, HEAD, OPTIONS"
	}
	return "GET, HEAD, PUT, DELETE, OPTIONS"
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &request{r: r, start: time.Now()}
	sw := &statusWriter{ResponseWriter: w}
	defer g.logRequest(rec, sw)
	defer g.metrics.request(rec, sw)

	if len(r.RequestURI) > g.cfg.MaxURLBytes {
		rec.err = fmt.Errorf("request target of %d bytes exceeds %d", len(r.RequestURI), g.cfg.MaxURLBytes)
		closeAfter(sw, r)
		textError(sw, http.StatusRequestURITooLong, "")
		return
	}
	if n := headerBytes(r); n > g.cfg.MaxHeaderBytes {
		rec.err = fmt.Errorf("request header fields of %d bytes exceed %d", n, g.cfg.MaxHeaderBytes)
		closeAfter(sw, r)
		textError(sw, http.StatusRequestHeaderFieldsTooLarge, "")
		return
	}
	domain, key, err := g.layout.Parse(r.URL.EscapedPath())
	rec.domain, rec.key = domain, key
	if err != nil {
		rec.err = err
		status := http.StatusNotFound
		if errors.Is(err, errNoKey) || errors.Is(err, errBadEscape) {
			status = http.StatusBadRequest
		}
		textError(sw, status, err.Error())
		return
	}
	if len(key) > MaxKeyBytes {
		// No such key can exist (the schema's dkey is 255 bytes wide).
		rec.err = fmt.Errorf("key of %d bytes exceeds %d", len(key), MaxKeyBytes)
		status := http.StatusNotFound
		if r.Method == http.MethodPut {
			status = http.StatusBadRequest
			closeAfter(sw, r)
		}
		textError(sw, status, fmt.Sprintf("key longer than %d bytes", MaxKeyBytes))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		g.serveGet(sw, r, rec)
	case http.MethodPut:
		if g.cfg.ReadOnly {
			g.methodNotAllowed(sw, rec)
			return
		}
		g.servePut(sw, r, rec)
	case http.MethodDelete:
		if g.cfg.ReadOnly {
			g.methodNotAllowed(sw, rec)
			return
		}
		g.serveDelete(sw, r, rec)
	case http.MethodOptions:
		sw.Header().Set("Allow", g.allowed())
		sw.WriteHeader(http.StatusNoContent)
	default:
		g.methodNotAllowed(sw, rec)
	}
}

func (g *Gateway) methodNotAllowed(w http.ResponseWriter, rec *request) {
	rec.err = fmt.Errorf("method %s not allowed", rec.r.Method)
	w.Header().Set("Allow", g.allowed())
	textError(w, http.StatusMethodNotAllowed, "")
}

// closeAfter makes the server close the connection after this response
// when the request may still have a body we are not going to read.
func closeAfter(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// headerBytes is the size of the request's header fields as sent.
func headerBytes(r *http.Request) int {
	n := len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// request is what the log line of one request reports.
type request struct {
	r      *http.Request
	start  time.Time
	domain string
	key    string
	fid    int64
	url    string // storage node URL used or failed
	err    error
}

// logRequest writes the request's log line: always for a failure, for a
// success only with Config.LogRequests.
func (g *Gateway) logRequest(rec *request, sw *statusWriter) {
	if rec.err == nil && !g.cfg.LogRequests {
		return
	}
	status := sw.status()
	if sw.code == 0 && rec.r.Context().Err() != nil {
		// Nothing was answered: the client had gone (nginx's 499).
		status = statusClientGone
	}
	attrs := []slog.Attr{
		slog.String("method", rec.r.Method),
		slog.String("domain", rec.domain),
		slog.String("key", rec.key),
		slog.Int("status", status),
		slog.Int64("bytes", sw.n),
		slog.Duration("elapsed", time.Since(rec.start)),
		slog.String("remote", rec.r.RemoteAddr),
	}
	if rec.fid != 0 {
		attrs = append(attrs, slog.Int64("fid", rec.fid))
	}
	if rec.url != "" {
		attrs = append(attrs, slog.String("url", rec.url))
	}
	level, msg := slog.LevelInfo, "request"
	if rec.err != nil {
		attrs = append(attrs, slog.String("err", rec.err.Error()))
		switch {
		case status == statusClientGone:
			msg = "request abandoned by the client"
		case status >= 500:
			level, msg = slog.LevelError, "request failed"
		default:
			level, msg = slog.LevelWarn, "request failed"
		}
	}
	g.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// statusClientGone is logged for a request whose client went away
// before it was answered, as nginx does.
const statusClientGone = 499

// statusWriter records the status and the number of body bytes written.
type statusWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Server returns an http.Server for the gateway with its limits set:
// request line and header sizes (checked precisely by the handler, which
// answers 414 and 431; the server's own limit is a generous backstop),
// a header read timeout, and an idle timeout. There is no overall
// timeout, as transfers may be large.
func (g *Gateway) Server() *http.Server {
	max := 4 * (g.cfg.MaxURLBytes + g.cfg.MaxHeaderBytes)
	if max < 1<<20 {
		max = 1 << 20
	}
	return &http.Server{
		Handler:           g,
		MaxHeaderBytes:    max,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx ends, then shuts down gracefully, waiting
// up to DefaultShutdownWait for running requests.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := g.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}

// Run listens on Config.Listen and serves until ctx ends.
func (g *Gateway) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.log.Info("mogproxy listening", "addr", ln.Addr().String(), "layout", g.layout.String(),
		"trackers", g.base.Trackers(), "accel_redirect", g.cfg.AccelRedirect, "read_only", g.cfg.ReadOnly)
	return g.Serve(ctx, ln)
}
