// Package s3 is mogproxy's Amazon S3 API (docs/s3.md): buckets are
// domains, objects are keys. Every request is authenticated with AWS
// Signature Version 4 (package gateway/sigv4) against a keys file that
// also says which buckets each key may use; objects are stored and read
// through the client library, their S3 metadata (ETag, Content-Type,
// x-amz-meta-*...) kept by the tracker in its s3_meta table, and
// listings come from the tracker's paged one-level listing
// (mogfs_list_dir). GET and HEAD answer from the caches of package
// gateway/cache. Multipart uploads are staged as hidden keys under .s3/
// and concatenated into one file at Complete; CopyObject and
// UploadPartCopy copy on the server. What is not implemented answers
// NotImplemented.
package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/cache"
	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
	"github.com/mogilefs-go/mogilefs/internal/contentcache"
)

// Defaults of Config.
const (
	DefaultTrackerTimeout = 5 * time.Second
	DefaultNodeTimeout    = 10 * time.Second
	DefaultShutdownWait   = 10 * time.Second
	DefaultCacheTTL       = 2 * time.Second
	DefaultCacheEntries   = 100000
	DefaultContentCache   = 64 << 20
	DefaultContentMaxFile = 64 << 10
)

// Config configures a Server.
type Config struct {
	// Trackers are the trackers' "host:port" addresses.
	Trackers []string
	// Listen is the address Run listens on.
	Listen string
	// Keys are the access keys (see ParseKeys); SetKeys replaces them.
	Keys Keys
	// BaseDomain, when set, enables virtual-hosted-style buckets: a
	// Host "<bucket>.<BaseDomain>" names the bucket.
	BaseDomain string
	// TrackerTimeout and NodeTimeout bound tracker replies and storage
	// node response headers.
	TrackerTimeout, NodeTimeout time.Duration
	// CacheTTL is how long what the trackers said of a key (its fid,
	// size, metadata and paths) is reused (DefaultCacheTTL; negative:
	// never). This server's own writes forget it at once; other writers'
	// changes are seen within CacheTTL.
	CacheTTL time.Duration
	// CacheEntries bounds the number of cached keys.
	CacheEntries int
	// Content keeps the content of small files by fid; nil makes one of
	// ContentCacheBytes (DefaultContentCache; negative: none) for files
	// of at most ContentCacheMaxFile (DefaultContentMaxFile) bytes.
	// mogproxy shares its /<domain>/<key> gateway's.
	Content                                *contentcache.Cache
	ContentCacheBytes, ContentCacheMaxFile int64
	// AbandonedUploads is the age at which a multipart upload is
	// aborted (DefaultAbandonedUploads; negative: never), checked every
	// SweepEvery (DefaultSweepEvery) by one gateway of the cluster.
	AbandonedUploads, SweepEvery time.Duration
	// LogRequests logs every request, not only failures.
	LogRequests bool
	// Logger receives the log lines (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock signatures are checked against (nil: time.Now).
	Now func() time.Time
}

// Server answers S3 requests. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	keys    atomic.Pointer[Keys]
	base    *client.Client
	clients sync.Map // domain -> *client.Client
	verify  sigv4.Verifier
	tr      *http.Transport
	meta    *cache.Meta[*objectInfo]
	classes classCache
	content *contentcache.Cache
	// nodeOps sends storage node requests that take long before their
	// answer (POST /_concat); noConcat remembers nodes without it.
	nodeOps  *http.Client
	noConcat noConcat
}

// New returns a Server for cfg. It contacts no tracker.
func New(cfg Config) (*Server, error) {
	if len(cfg.Trackers) == 0 {
		return nil, errors.New("s3: no trackers given")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("s3: no access keys given")
	}
	if cfg.TrackerTimeout <= 0 {
		cfg.TrackerTimeout = DefaultTrackerTimeout
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = DefaultNodeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.AbandonedUploads == 0 {
		cfg.AbandonedUploads = DefaultAbandonedUploads
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = DefaultSweepEvery
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = DefaultCacheEntries
	}
	if cfg.Content == nil {
		if cfg.ContentCacheBytes == 0 {
			cfg.ContentCacheBytes = DefaultContentCache
		}
		if cfg.ContentCacheMaxFile <= 0 {
			cfg.ContentCacheMaxFile = DefaultContentMaxFile
		}
		cfg.Content = contentcache.New(cfg.ContentCacheBytes, cfg.ContentCacheMaxFile)
	}
	cfg.BaseDomain = strings.ToLower(strings.Trim(cfg.BaseDomain, "."))
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       25 * time.Second,
		ResponseHeaderTimeout: cfg.NodeTimeout,
		DisableCompression:    true,
	}
	base, err := client.New(client.Config{
		Trackers:          cfg.Trackers,
		Timeout:           cfg.TrackerTimeout,
		NodeTimeout:       cfg.NodeTimeout,
		MaxIdlePerTracker: 128,
		HTTPClient:        &http.Client{Transport: tr},
		Logger:            cfg.Logger,
		// Lookups are cached above, with their own TTL and refresh.
		PathCacheTTL: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	ops := tr.Clone()
	ops.ResponseHeaderTimeout = 0 // a concatenation answers when done; its context bounds it
	s := &Server{cfg: cfg, log: cfg.Logger, base: base, tr: tr, nodeOps: &http.Client{Transport: ops},
		meta: cache.NewMeta[*objectInfo](cfg.CacheTTL, cfg.CacheEntries), content: cfg.Content}
	s.SetKeys(cfg.Keys)
	s.verify = sigv4.Verifier{Lookup: s.secret, Now: cfg.Now, Keys: sigv4.NewKeyCache()}
	return s, nil
}

// ClearCaches forgets every cached tracker answer and the small files
// held in memory (mogproxy does this on SIGHUP).
func (s *Server) ClearCaches() {
	s.meta.Clear()
	s.content.Clear()
}

// SetKeys replaces the access keys (a reloaded keys file).
func (s *Server) SetKeys(k Keys) { s.keys.Store(&k) }

func (s *Server) secret(access string) (string, bool) {
	k, ok := (*s.keys.Load())[access]
	if !ok {
		return "", false
	}
	return k.Secret, true
}

// Close releases the tracker and storage node connections.
func (s *Server) Close() error {
	err := s.base.Close()
	s.tr.CloseIdleConnections()
	s.nodeOps.CloseIdleConnections()
	return err
}

// client returns the client of domain.
func (s *Server) client(domain string) *client.Client {
	if c, ok := s.clients.Load(domain); ok {
		return c.(*client.Client)
	}
	c, _ := s.clients.LoadOrStore(domain, s.base.WithDomain(domain))
	return c.(*client.Client)
}

// call is one request being answered.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	auth   *sigv4.Auth
	key    *Key
	bucket string
	object string
	hasObj bool // the path named an object (even an empty one)
	query  url.Values
	reqID  string
	status int
	err    error
	start  time.Time
}

// ServeHTTP answers one S3 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var id [8]byte
	rand.Read(id[:])
	c := &call{s: s, w: w, r: r, ctx: r.Context(), reqID: strings.ToUpper(hex.EncodeToString(id[:])), start: time.Now()}
	w.Header().Set("x-amz-request-id", c.reqID)
	w.Header().Set("Server", "mogproxy")
	if err := c.serve(); err != nil {
		c.fail(err)
	}
	s.logCall(c)
}

func (c *call) serve() error {
	if err := c.parseTarget(); err != nil {
		return err
	}
	a, err := c.s.verify.Verify(c.r)
	if err != nil {
		return err
	}
	c.auth = a
	k := (*c.s.keys.Load())[a.AccessKey]
	if k == nil {
		return errAccessDenied
	}
	c.key = k
	if c.bucket == "" {
		if c.r.Method != http.MethodGet {
			return errMethodNotAllow
		}
		return c.listBuckets()
	}
	if !k.May(c.bucket) {
		return errAccessDenied
	}
	if !c.hasObj {
		return c.serveBucket()
	}
	return c.serveObject()
}

// parseTarget finds the bucket and the key: virtual-hosted style when the
// Host is <bucket>.<BaseDomain>, else path style.
func (c *call) parseTarget() error {
	raw := c.r.URL.EscapedPath()
	if t := c.r.RequestURI; strings.HasPrefix(t, "/") {
		raw, _, _ = strings.Cut(t, "?")
	}
	p, err := url.PathUnescape(raw)
	if err != nil {
		return invalidArgument("malformed path")
	}
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return invalidArgument("malformed query")
	}
	c.query = q
	if b := c.hostBucket(); b != "" {
		c.bucket = b
		c.object = strings.TrimPrefix(p, "/")
		c.hasObj = c.object != ""
		return nil
	}
	rest := strings.TrimPrefix(p, "/")
	c.bucket, c.object, c.hasObj = strings.Cut(rest, "/")
	if c.object == "" {
		c.hasObj = false
	}
	return nil
}

// hostBucket is the bucket a virtual-hosted-style Host names, "" for none.
func (c *call) hostBucket() string {
	if c.s.cfg.BaseDomain == "" {
		return ""
	}
	h := strings.ToLower(c.r.Host)
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	b, ok := strings.CutSuffix(h, "."+c.s.cfg.BaseDomain)
	if !ok {
		return ""
	}
	return b
}

// sendXML answers status with v as XML.
func (c *call) sendXML(status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(status)
	c.status = status
	c.w.Write([]byte(xml.Header))
	c.w.Write(b)
	return nil
}

// fail answers err as S3's error XML (no body for HEAD).
func (c *call) fail(err error) {
	e := toAPIError(err)
	c.err = e
	if c.status != 0 {
		return // the answer started already
	}
	if e.Status == 0 {
		e.Status = http.StatusInternalServerError
	}
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(e.Status)
		c.status = e.Status
		return
	}
	resource := c.r.URL.Path
	x := errorXML{Code: e.Code, Message: e.Message, Resource: resource, RequestID: c.reqID, StringToSign: e.StringToSign}
	if e.Code == errNoSuchBucket.Code {
		x.BucketName = c.bucket
	}
	if e.Code == errNoSuchKey.Code {
		x.Key = c.object
	}
	if e.Status == http.StatusServiceUnavailable {
		c.w.Header().Set("Retry-After", "1")
	}
	c.sendXML(e.Status, x)
}

func (s *Server) logCall(c *call) {
	if c.err == nil && !s.cfg.LogRequests {
		return
	}
	status := c.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("method", c.r.Method), slog.String("bucket", c.bucket), slog.String("key", c.object),
		slog.String("query", c.r.URL.RawQuery), slog.Int("status", status),
		slog.Duration("elapsed", time.Since(c.start)), slog.String("remote", c.r.RemoteAddr),
		slog.String("request_id", c.reqID),
	}
	if c.auth != nil {
		attrs = append(attrs, slog.String("access_key", c.auth.AccessKey))
	}
	level, msg := slog.LevelInfo, "s3 request"
	if c.err != nil {
		attrs = append(attrs, slog.String("err", c.err.Error()))
		level, msg = slog.LevelWarn, "s3 request failed"
		if status >= 500 {
			level = slog.LevelError
		}
	}
	s.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	sweepCtx, stopSweep := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() { s.sweepLoop(sweepCtx); close(swept) }()
	defer func() { stopSweep(); <-swept }()
	select {
	case err := <-errc:
		return fmt.Errorf("s3: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownWait)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("s3: shutdown: %w", err)
	}
	return nil
}

// Run listens on Config.Listen and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	s.log.Info("mogproxy S3 API listening", "addr", ln.Addr().String(), "base_domain", s.cfg.BaseDomain,
		"keys", len(*s.keys.Load()))
	return s.Serve(ctx, ln)
}
