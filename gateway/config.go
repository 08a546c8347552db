package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultListen         = ":7080"
	DefaultCacheTTL       = 2 * time.Second
	DefaultCacheEntries   = 100000
	DefaultTrackerTimeout = 5 * time.Second
	DefaultNodeTimeout    = 10 * time.Second
	DefaultConnectTimeout = 2 * time.Second
	DefaultMaxURLBytes    = 8 << 10
	DefaultMaxHeaderBytes = 32 << 10
	DefaultShutdownWait   = 10 * time.Second
	DefaultContentCache   = 64 << 20
	DefaultContentMaxFile = 64 << 10
)

// Config configures a Gateway.
type Config struct {
	// Trackers are the trackers' "host:port" addresses (":7001" is
	// added when missing). At least one is required.
	Trackers []string
	// Listen is the address Run listens on (DefaultListen).
	Listen string

	// Prefix is the location served ("/" when empty).
	Prefix string
	// Domain, when set, is the only domain served, and URLs carry no
	// domain segment.
	Domain string
	// KeyFrom picks the key out of the path.
	KeyFrom KeyFrom
	// DefaultClass is the class of a PUT that names none ("" is the
	// domain's default class).
	DefaultClass string
	// ReadOnly refuses PUT and DELETE with 405.
	ReadOnly bool

	// AccelRedirect, when set, is the nginx internal location that
	// serves the files: a GET or HEAD is answered with an
	// X-Accel-Redirect header naming <AccelRedirect>/<host:port>/<path>
	// instead of the file's content.
	AccelRedirect string

	// CacheTTL is how long a key's paths are reused (DefaultCacheTTL);
	// negative disables the cache.
	CacheTTL time.Duration
	// CacheEntries bounds the number of cached keys.
	CacheEntries int
	// ContentCacheBytes is the memory kept for the content of small
	// files, by fid (DefaultContentCache); negative disables it. A fid's
	// content never changes, so this cache is never stale; which fid a
	// key names still comes from the trackers within CacheTTL. A file
	// served from it needs no storage node (it is served even while its
	// nodes are down).
	ContentCacheBytes int64
	// ContentCacheMaxFile is the largest file kept there
	// (DefaultContentMaxFile).
	ContentCacheMaxFile int64

	// TrackerTimeout bounds a tracker reply (DefaultTrackerTimeout).
	TrackerTimeout time.Duration
	// ConnectTimeout bounds a TCP connect to a storage node
	// (DefaultConnectTimeout): a node that is down costs no more.
	ConnectTimeout time.Duration
	// NodeTimeout bounds the wait for a storage node's response headers
	// (DefaultNodeTimeout).
	NodeTimeout time.Duration

	// MaxURLBytes bounds the request target; longer gets 414
	// (DefaultMaxURLBytes).
	MaxURLBytes int
	// MaxHeaderBytes bounds the request header fields; more gets 431
	// (DefaultMaxHeaderBytes).
	MaxHeaderBytes int

	// LogRequests logs one line per request, successes included; by
	// default only failures are logged.
	LogRequests bool
	// Logger receives the gateway's log lines (nil: slog.Default()).
	Logger *slog.Logger
}

// withDefaults checks cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Trackers) == 0 {
		return cfg, errors.New("gateway: no trackers given")
	}
	p, err := NormalizePrefix(cfg.Prefix)
	if err != nil {
		return cfg, fmt.Errorf("gateway: %w", err)
	}
	cfg.Prefix = p
	if cfg.AccelRedirect != "" {
		a := strings.TrimSuffix(cfg.AccelRedirect, "/")
		if !strings.HasPrefix(a, "/") || a == "" || strings.ContainsAny(a, " \t\r\n?#%") {
			return cfg, fmt.Errorf("gateway: accel-redirect location %q must be a path such as /_mogilefs", cfg.AccelRedirect)
		}
		cfg.AccelRedirect = a
	}
	if cfg.KeyFrom != KeyFromPath && cfg.KeyFrom != KeyFromLastSegment {
		return cfg, fmt.Errorf("gateway: bad KeyFrom %d", cfg.KeyFrom)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = DefaultCacheEntries
	}
	if cfg.ContentCacheBytes == 0 {
		cfg.ContentCacheBytes = DefaultContentCache
	}
	if cfg.ContentCacheMaxFile <= 0 {
		cfg.ContentCacheMaxFile = DefaultContentMaxFile
	}
	if cfg.TrackerTimeout <= 0 {
		cfg.TrackerTimeout = DefaultTrackerTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = DefaultNodeTimeout
	}
	if cfg.MaxURLBytes <= 0 {
		cfg.MaxURLBytes = DefaultMaxURLBytes
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
