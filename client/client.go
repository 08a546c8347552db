package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout        = 3 * time.Second // the original's reply timeout
	DefaultConnectTimeout = 1 * time.Second
	DefaultDeadRetry      = 5 * time.Second // the original's dead-tracker back-off
	DefaultNodeConnect    = 3 * time.Second // the original's storage connect timeout
	DefaultNodeTimeout    = 30 * time.Second
	DefaultMaxIdle        = 16
	DefaultTrackerPort    = "7001"
)

// Config configures a Client.
type Config struct {
	// Domain is the namespace the file operations work in. Admin-only
	// clients may leave it empty.
	Domain string
	// Trackers are "host:port" addresses; ":7001" is added when a port is
	// missing. At least one is required.
	Trackers []string
	// Timeout bounds the wait for one tracker reply (DefaultTimeout).
	Timeout time.Duration
	// ConnectTimeout bounds a TCP connect to a tracker.
	ConnectTimeout time.Duration
	// DeadRetry is how long an unreachable tracker is skipped.
	DeadRetry time.Duration
	// MaxIdlePerTracker is the number of idle connections kept per tracker.
	MaxIdlePerTracker int
	// NodeConnectTimeout bounds connecting to a storage node
	// (DefaultNodeConnect); a node that does not answer in time is
	// skipped like one that refuses.
	NodeConnectTimeout time.Duration
	// NodeTimeout bounds the wait for a storage node's response headers
	// once the request is sent (DefaultNodeTimeout; an upload's
	// includes the node's fsync). Transfers themselves are bounded by the
	// caller's context.
	NodeTimeout time.Duration
	// HTTPClient talks to the storage nodes. Nil means a client of its own
	// with keep-alive and a large idle pool per host.
	HTTPClient *http.Client
	// Logger receives one line per failover event. Nil discards them.
	Logger *slog.Logger

	// FastPath says whether uploads and reads use the storage nodes'
	// one-round-trip paths (/_put, /_key) when the cluster offers them:
	// FastPathAuto (the default, ""), FastPathOff, or FastPathOnly (fail
	// instead of falling back to the three-step path; for benchmarks
	// and tests).
	FastPath FastPathMode
	// FastPathMax is the largest upload sent through /_put
	// (DefaultFastPathMax); larger uploads, and those of unknown size,
	// go the three-step way.
	FastPathMax int64
	// KeyReads makes reads of keys not in the path cache ask a storage
	// node's /_key (one client request) instead of get_paths and then a
	// node (two). It is off unless FastPath is FastPathOnly: a node
	// that has not cached the key asks a tracker itself, so the read
	// costs the same round trips in all and more CPU (docs/fastpath.md
	// §11 has the figures); it pays where many clients read the same
	// keys through the nodes' caches.
	KeyReads bool
	// PathCacheTTL is how long the client trusts what it learned about
	// a key (fid, length, paths) before asking again
	// (DefaultPathCacheTTL); negative turns the cache off.
	PathCacheTTL time.Duration
	// PathCacheEntries bounds the path cache (DefaultPathCacheEntries);
	// the oldest entries are evicted first.
	PathCacheEntries int
}

// Client is a MogileFS client for one domain. It is safe for concurrent
// use; Close releases its connections.
type Client struct {
	domain      string
	trackers    []*tracker
	next        atomic.Uint64
	timeout     time.Duration
	deadRetry   time.Duration
	maxIdle     int
	nodeTimeout time.Duration
	dialer      net.Dialer
	http        *http.Client
	ownHTTP     *http.Transport
	log         *slog.Logger
	closed      *atomic.Bool // shared with WithDomain copies
	classes     *classCache  // shared with WithDomain copies
	paths       *pathCache   // shared; nil when off
	counters    *counters    // shared
	fast        *fastPath    // shared
	noRedirect  *http.Client // c.http without following redirects
}

// New returns a Client for cfg. It does not contact any tracker.
func New(cfg Config) (*Client, error) {
	if len(cfg.Trackers) == 0 {
		return nil, errors.New("client: no trackers given")
	}
	fast, err := newFastPath(cfg.FastPath, cfg.FastPathMax, cfg.KeyReads)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c := &Client{
		domain:      cfg.Domain,
		timeout:     orDefault(cfg.Timeout, DefaultTimeout),
		deadRetry:   orDefault(cfg.DeadRetry, DefaultDeadRetry),
		nodeTimeout: orDefault(cfg.NodeTimeout, DefaultNodeTimeout),
		maxIdle:     cfg.MaxIdlePerTracker,
		http:        cfg.HTTPClient,
		log:         cfg.Logger,
		closed:      new(atomic.Bool),
		classes:     new(classCache),
		paths:       newPathCache(cfg.PathCacheTTL, cfg.PathCacheEntries),
		counters:    new(counters),
		fast:        fast,
	}
	if c.maxIdle <= 0 {
		c.maxIdle = DefaultMaxIdle
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.dialer = net.Dialer{Timeout: orDefault(cfg.ConnectTimeout, DefaultConnectTimeout), KeepAlive: 30 * time.Second}
	seen := map[string]bool{}
	for _, a := range cfg.Trackers {
		addr, err := NormalizeTracker(a)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		if !seen[addr] {
			seen[addr] = true
			c.trackers = append(c.trackers, &tracker{addr: addr})
		}
	}
	// Spread clients over the trackers, as the original shuffles them.
	c.next.Store(rand.Uint64())
	if c.http == nil {
		c.ownHTTP = &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: orDefault(cfg.NodeConnectTimeout, DefaultNodeConnect), KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          4096,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       25 * time.Second, // below mogstored's 30 s keep-alive
			ResponseHeaderTimeout: c.nodeTimeout,
			ExpectContinueTimeout: 0,
			DisableCompression:    true,
			// Room for the headers and a small file's whole body, so
			// that a PUT of a few KiB leaves in one write (net/http's
			// 4 KiB default sends headers and body separately).
			WriteBufferSize: 32 << 10,
		}
		c.http = &http.Client{Transport: c.ownHTTP}
	}
	nr := *c.http
	nr.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.noRedirect = &nr
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// NormalizeTracker checks a tracker address and adds the default port
// when it has none.
func NormalizeTracker(a string) (string, error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return "", errors.New("empty tracker address")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		// No port (or a bare IPv6 address).
		host, port = strings.Trim(a, "[]"), DefaultTrackerPort
	}
	if host == "" {
		return "", fmt.Errorf("tracker address %q has no host", a)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("tracker address %q has a bad port", a)
	}
	return net.JoinHostPort(host, port), nil
}

// Domain returns the client's domain.
func (c *Client) Domain() string { return c.domain }

// Trackers returns the tracker addresses in use.
func (c *Client) Trackers() []string {
	out := make([]string, len(c.trackers))
	for i, t := range c.trackers {
		out[i] = t.addr
	}
	return out
}

// WithDomain returns a client for another domain that shares this one's
// connections and caches. Closing either closes both.
func (c *Client) WithDomain(domain string) *Client {
	d := &Client{
		domain: domain, trackers: c.trackers, timeout: c.timeout, deadRetry: c.deadRetry,
		maxIdle: c.maxIdle, nodeTimeout: c.nodeTimeout, dialer: c.dialer, http: c.http,
		ownHTTP: c.ownHTTP, log: c.log, closed: c.closed, classes: c.classes,
		paths: c.paths, counters: c.counters, fast: c.fast, noRedirect: c.noRedirect,
	}
	d.next.Store(c.next.Load())
	return d
}

// Close closes the idle tracker and storage node connections. Calls after
// Close fail with ErrClosed.
func (c *Client) Close() error {
	c.closed.Store(true)
	for _, t := range c.trackers {
		t.close()
	}
	if c.ownHTTP != nil {
		c.ownHTTP.CloseIdleConnections()
	}
	return nil
}

// Do sends a raw tracker command with the given arguments and returns the
// decoded OK reply. An ERR reply is returned as a *wire.Error. The domain
// is not added; pass it in args when the command needs one.
func (c *Client) Do(ctx context.Context, cmd string, args map[string]string) (map[string]string, error) {
	kv := make([]string, 0, 2*len(args))
	for k, v := range args {
		kv = append(kv, k, v)
	}
	return c.call(ctx, cmd, kv...)
}

// DoTimeout is Do with a reply timeout other than the client's.
func (c *Client) DoTimeout(ctx context.Context, timeout time.Duration, cmd string, args map[string]string) (map[string]string, error) {
	kv := make([]string, 0, 2*len(args))
	for k, v := range args {
		kv = append(kv, k, v)
	}
	return c.callTimeout(ctx, timeout, cmd, kv...)
}

// AdminCommand sends a tracker "!" admin command (such as "!stats" or
// "!version") on a connection of its own and returns the reply lines
// without the terminating ".". Trackers are tried in order until one
// answers.
func (c *Client) AdminCommand(ctx context.Context, command string) ([]string, error) {
	if !strings.HasPrefix(command, "!") || strings.ContainsAny(command, "\r\n") {
		return nil, fmt.Errorf("client: %q is not an admin command", command)
	}
	var lastErr error
	for _, t := range c.trackers {
		lines, err := c.adminOn(ctx, t, command)
		if err == nil {
			return lines, nil
		}
		lastErr = &TrackerError{Addr: t.addr, Cmd: command, Err: err}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (c *Client) adminOn(ctx context.Context, t *tracker, command string) ([]string, error) {
	tc, err := c.dial(ctx, t)
	if err != nil {
		return nil, err
	}
	defer tc.nc.Close()
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	tc.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { tc.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(tc.nc, command+"\r\n"); err != nil {
		return nil, err
	}
	var lines []string
	for {
		line, _, err := readLine(tc.br)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if line == "." {
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// Noop sends "noop" to a tracker: a liveness check.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.call(ctx, "noop")
	return err
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
