package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/cache"
	"github.com/mogilefs-go/mogilefs/internal/contentcache"
	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// Gateway is the HTTP handler. It is safe for concurrent use.
type Gateway struct {
	cfg    Config
	layout Layout
	log    *slog.Logger

	base      *client.Client
	clients   sync.Map // domain -> *client.Client sharing base's connections
	transport *http.Transport
	cache     *cache.Meta[*fileMeta]
	content   *contentcache.Cache
	health    *hostHealth
	bufs      sync.Pool       // *[]byte copy buffers
	reqs      sync.Pool       // *request
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
		// Lookups are cached above, with their own TTL and refresh.
		PathCacheTTL: -1,
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
		cache:     cache.NewMeta[*fileMeta](cfg.CacheTTL, cfg.CacheEntries),
		content:   contentcache.New(cfg.ContentCacheBytes, cfg.ContentCacheMaxFile),
		health:    newHostHealth(5 * time.Second),
	}
	g.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	g.reqs.New = func() any { return new(request) }
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

// ServeHTTP answers one request (httpd.Handler).
func (g *Gateway) ServeHTTP(w *httpd.ResponseWriter, r *httpd.Request) {
	rec := g.reqs.Get().(*request)
	*rec = request{g: g, r: r, start: time.Now(), rp: reply{out: w, extra: rec.rp.extra[:0], head: r.Method == http.MethodHead}}
	if g.metrics != nil {
		rec.rp.count = rec
	}
	g.serve(rec)
	rec.count()
	g.logRequest(rec)
	clear(rec.rp.extra)
	rec.g, rec.r, rec.rp.out, rec.rp.count, rec.err = nil, nil, nil, nil, nil
	g.reqs.Put(rec)
}

func (g *Gateway) serve(rec *request) {
	r, rp := rec.r, &rec.rp
	if len(r.Target) > g.cfg.MaxURLBytes {
		rec.err = fmt.Errorf("request target of %d bytes exceeds %d", len(r.Target), g.cfg.MaxURLBytes)
		closeAfter(rp, r)
		textError(rp, http.StatusRequestURITooLong, "")
		return
	}
	if n := r.HeaderBytes(); n > g.cfg.MaxHeaderBytes {
		rec.err = fmt.Errorf("request header fields of %d bytes exceed %d", n, g.cfg.MaxHeaderBytes)
		closeAfter(rp, r)
		textError(rp, http.StatusRequestHeaderFieldsTooLarge, "")
		return
	}
	domain, key, err := g.layout.Parse(escapedPath(r.Target))
	rec.domain, rec.key = domain, key
	if err != nil {
		rec.err = err
		status := http.StatusNotFound
		if errors.Is(err, errNoKey) || errors.Is(err, errBadEscape) {
			status = http.StatusBadRequest
		}
		closeAfter(rp, r)
		textError(rp, status, err.Error())
		return
	}
	if len(key) > MaxKeyBytes {
		// No such key can exist (the schema's dkey is 255 bytes wide).
		rec.err = fmt.Errorf("key of %d bytes exceeds %d", len(key), MaxKeyBytes)
		status := http.StatusNotFound
		if r.Method == http.MethodPut {
			status = http.StatusBadRequest
		}
		closeAfter(rp, r)
		textError(rp, status, fmt.Sprintf("key longer than %d bytes", MaxKeyBytes))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		g.serveGet(rec)
	case http.MethodPut:
		if g.cfg.ReadOnly {
			g.methodNotAllowed(rec)
			return
		}
		g.servePut(rec)
	case http.MethodDelete:
		if g.cfg.ReadOnly {
			g.methodNotAllowed(rec)
			return
		}
		g.serveDelete(rec)
	case http.MethodOptions:
		rp.set("Allow", g.allowed())
		rp.send(http.StatusNoContent, nil)
	default:
		g.methodNotAllowed(rec)
	}
}

// escapedPath is the path of a request target as sent (not decoded),
// without the query; an absolute-form target loses its scheme and
// authority.
func escapedPath(target string) string {
	t := target
	if t != "" && t[0] != '/' {
		if i := strings.Index(t, "://"); i > 0 {
			rest := t[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				t = rest[j:]
			} else {
				t = "/"
			}
		}
	}
	if i := strings.IndexAny(t, "?#"); i >= 0 {
		t = t[:i]
	}
	return t
}

func (g *Gateway) methodNotAllowed(rec *request) {
	rec.err = fmt.Errorf("method %s not allowed", rec.r.Method)
	closeAfter(&rec.rp, rec.r)
	rec.rp.set("Allow", g.allowed())
	textError(&rec.rp, http.StatusMethodNotAllowed, "")
}

// closeAfter makes the server close the connection after this response
// when the request may still have a body we are not going to read (the
// server would also see that; this makes it explicit).
func closeAfter(rp *reply, r *httpd.Request) {
	if r.ContentLength != 0 && !r.BodyDone() {
		rp.out.CloseAfter()
	}
}

// request is one request being answered, and what its log line reports.
// Requests are pooled: nothing may keep one after ServeHTTP returns.
type request struct {
	g       *Gateway
	counted bool // in the metrics
	r       *httpd.Request
	rp      reply
	start   time.Time
	domain  string
	key     string
	fid     int64
	url     string // storage node URL used or failed
	err     error
}

// count counts the request in the metrics, once.
func (rec *request) count() {
	if !rec.counted {
		rec.counted = true
		rec.g.metrics.request(rec)
	}
}

// ctx is the context of the gateway's work for a request. The server
// does not watch the client while a request is answered; a client that
// went away shows as a failed write, and every wait on a tracker or a
// storage node is bounded by its own timeout.
func (rec *request) ctx() context.Context { return context.Background() }

// logRequest writes the request's log line: always for a failure, for a
// success only with Config.LogRequests.
func (g *Gateway) logRequest(rec *request) {
	if rec.err == nil && !g.cfg.LogRequests {
		return
	}
	status := rec.rp.status()
	attrs := []slog.Attr{
		slog.String("method", rec.r.Method),
		slog.String("domain", rec.domain),
		slog.String("key", rec.key),
		slog.Int("status", status),
		slog.Int64("bytes", rec.rp.n),
		slog.Duration("elapsed", time.Since(rec.start)),
		slog.String("remote", rec.r.RemoteAddr.String()),
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
		case status < 300:
			// The headers went out, the body did not: the
			// connection was cut.
			level, msg = slog.LevelError, "transfer cut off"
		default:
			level, msg = slog.LevelWarn, "request failed"
		}
	}
	g.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// statusClientGone is logged for a request whose client went away
// before it was answered, as nginx does.
const statusClientGone = 499

// Server returns the HTTP server for the gateway (mogstored's own
// HTTP/1.x server, which answers small files in one write with few
// allocations) with its limits set: request line and header sizes
// (checked precisely by the handler, which answers 414 and 431; the
// server's own limit is a backstop above both), a header read timeout,
// an idle timeout, and stall timeouts on bodies in both directions.
// There is no overall timeout, as transfers may be large.
func (g *Gateway) Server() *httpd.Server {
	return &httpd.Server{
		Handler:        g,
		Logger:         g.log,
		MaxHeaderBytes: g.cfg.MaxURLBytes + g.cfg.MaxHeaderBytes + 4096,
		HeaderTimeout:  30 * time.Second,
		IdleTimeout:    120 * time.Second,
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
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
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
