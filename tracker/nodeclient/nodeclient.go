// Package nodeclient is the tracker's client for storage nodes (mogstored
// or any WebDAV server laid out the same way): HEAD for sizes, MKCOL of the
// fid directories with the original's per-device caching, digests over the
// mogstored side channel ("MD5 <uri>") with an HTTP GET fallback, and plain
// requests for the monitor and the workers.
//
// One Client is shared by the whole tracker; it keeps HTTP connections
// alive per node and pools side-channel connections.
package nodeclient

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrMissing reports a file the node does not have (HTTP 404, or -1 on the
// side channel).
var ErrMissing = errors.New("nodeclient: file missing")

// Options configure a Client.
type Options struct {
	// ConnTimeout bounds connecting to a node (conn_timeout).
	ConnTimeout time.Duration
	// NodeTimeout bounds a node's answer (node_timeout).
	NodeTimeout time.Duration
	// StreamPort is the side-channel port of every node
	// (mogstored_stream_port).
	StreamPort int
	// PoolSize is the number of idle connections kept per node
	// (conn_pool_size).
	PoolSize int
	Logger   *slog.Logger
}

// Client talks to storage nodes.
type Client struct {
	opts Options
	log  *slog.Logger
	hc   *http.Client

	mu      sync.Mutex
	dirMade map[string]time.Time // MKCOLed URL -> when
	noMkcol map[int]bool         // devid -> answered MKCOL 400/405/501
	lastGC  time.Time

	sides connPool // side-channel connections
	heads connPool // keep-alive connections for HEAD (head.go)

	// nodeTO and connTO are node_timeout and conn_timeout (SetTimeouts
	// changes them at run time).
	nodeTO, connTO atomic.Int64
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.ConnTimeout <= 0 {
		opts.ConnTimeout = 2 * time.Second
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = 2 * time.Second
	}
	if opts.StreamPort == 0 {
		opts.StreamPort = 7501
	}
	if opts.PoolSize < 64 {
		opts.PoolSize = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: c.ConnTimeout(), KeepAlive: 30 * time.Second}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        opts.PoolSize * 16,
		MaxIdleConnsPerHost: opts.PoolSize,
		IdleConnTimeout:     25 * time.Second, // mogstored closes after 30 s
		DisableCompression:  true,
	}
	*c = Client{
		opts:    opts,
		log:     opts.Logger,
		hc:      &http.Client{Transport: tr, CheckRedirect: noRedirect},
		dirMade: map[string]time.Time{},
		noMkcol: map[int]bool{},
		sides:   connPool{max: 8},
		heads:   connPool{max: opts.PoolSize, maxIdle: headIdleMax},
	}
	c.SetTimeouts(opts.NodeTimeout, opts.ConnTimeout)
	return c
}

// SetTimeouts changes node_timeout and conn_timeout for the requests and
// connections that start from now on; a value <= 0 keeps the current one.
func (c *Client) SetTimeouts(node, conn time.Duration) {
	if node > 0 {
		c.nodeTO.Store(int64(node))
	}
	if conn > 0 {
		c.connTO.Store(int64(conn))
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NodeTimeout is the configured node_timeout.
func (c *Client) NodeTimeout() time.Duration { return time.Duration(c.nodeTO.Load()) }

// ConnTimeout is the configured conn_timeout.
func (c *Client) ConnTimeout() time.Duration { return time.Duration(c.connTO.Load()) }

// Close drops idle connections.
func (c *Client) Close() {
	c.hc.CloseIdleConnections()
	c.heads.close()
	c.sides.close()
}

// Do sends a request with body (may be nil) and a timeout, and returns the
// response; the caller closes its body.
func (c *Client) Do(ctx context.Context, method, url string, body io.Reader, hdr http.Header, timeout time.Duration) (*http.Response, context.CancelFunc, error) {
	if timeout <= 0 {
		timeout = c.NodeTimeout()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("nodeclient: %s %s: %w", method, url, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if l, ok := body.(interface{ Len() int }); ok && req.ContentLength == 0 {
		req.ContentLength = int64(l.Len())
		if req.ContentLength == 0 {
			req.Body = http.NoBody
		}
	}
	if body == nil && (method == "PUT" || method == "MKCOL") {
		req.ContentLength = 0
		req.Header.Set("Content-Length", "0")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("nodeclient: %s %s: %w", method, url, err)
	}
	return resp, cancel, nil
}

// Simple sends a request and reads the whole answer (at most limit bytes).
func (c *Client) Simple(ctx context.Context, method, url string, body []byte, hdr http.Header, timeout time.Duration, limit int64) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	resp, cancel, err := c.Do(ctx, method, url, r, hdr, timeout)
	if err != nil {
		return 0, nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("nodeclient: %s %s: read body: %w", method, url, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, nil
}

// Size returns the Content-Length of a HEAD of url: ErrMissing on 404, an
// error when the node cannot be reached or answers anything else.
func (c *Client) Size(ctx context.Context, url string) (int64, error) {
	res, err := c.head(ctx, url)
	if errors.Is(err, errHeadFallback) {
		res, err = c.headHTTP(ctx, url)
	}
	if err != nil {
		return 0, err
	}
	switch {
	case res.status == http.StatusNotFound:
		return -1, ErrMissing
	case res.status < 200 || res.status > 299:
		return 0, fmt.Errorf("nodeclient: HEAD %s: %d %s", url, res.status, http.StatusText(res.status))
	}
	if res.length >= 0 {
		return res.length, nil
	}
	if strings.HasPrefix(res.server, "lighttpd") {
		return 0, nil // lighttpd 1.4 sends no length for empty files
	}
	return 0, fmt.Errorf("nodeclient: HEAD %s: no Content-Length", url)
}

// headHTTP is head through net/http.
func (c *Client) headHTTP(ctx context.Context, url string) (headResult, error) {
	resp, cancel, err := c.Do(ctx, "HEAD", url, nil, nil, c.NodeTimeout())
	if err != nil {
		return headResult{}, err
	}
	defer cancel()
	resp.Body.Close()
	res := headResult{status: resp.StatusCode, length: -1, server: resp.Header.Get("Server")}
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return headResult{}, fmt.Errorf("nodeclient: HEAD %s: bad Content-Length %q", url, cl)
		}
		res.length = n
	}
	return res, nil
}

// Mkcol creates the collection base+path on device devid (path ends with
// "/"). Successes are remembered for an hour; a device that answers 400,
// 405 or 501 is taken not to need MKCOL and is not asked again.
func (c *Client) Mkcol(ctx context.Context, devid int, base, path string) error {
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	url := base + path
	now := time.Now()
	c.mu.Lock()
	if c.noMkcol[devid] {
		c.mu.Unlock()
		return nil
	}
	if t, ok := c.dirMade[url]; ok && now.Sub(t) < time.Hour {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	code, _, err := c.Simple(ctx, "MKCOL", url, nil, nil, c.NodeTimeout(), 4096)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case code >= 200 && code <= 299:
		c.dirMade[url] = now
		if now.Sub(c.lastGC) > 5*time.Minute {
			c.lastGC = now
			for k, t := range c.dirMade {
				if now.Sub(t) > time.Hour {
					delete(c.dirMade, k)
				}
			}
		}
		return nil
	case code == 400 || code == 405 || code == 501:
		c.noMkcol[devid] = true
		return nil
	}
	return fmt.Errorf("nodeclient: MKCOL %s: status %d", url, code)
}

// MkcolAll creates each of dirs in order on device devid, stopping at the
// first failure.
func (c *Client) MkcolAll(ctx context.Context, devid int, base string, dirs []string) error {
	for _, d := range dirs {
		if err := c.Mkcol(ctx, devid, base, d); err != nil {
			return err
		}
	}
	return nil
}

// NewHash returns a hash for MD5 or SHA-1.
func NewHash(alg string) (hash.Hash, error) {
	switch alg {
	case "MD5":
		return md5.New(), nil
	case "SHA-1":
		return sha1.New(), nil
	}
	return nil, fmt.Errorf("nodeclient: unknown digest algorithm %q", alg)
}

// Digest computes the alg (MD5 or SHA-1) digest of the file at uri on the
// node at ip, asking the node's side channel first ("<alg> <uri>[ reason]")
// and falling back to an HTTP GET of url when the side channel fails or
// does not know the command. size (or -1) only sets the time allowed for
// the side channel's answer. ErrMissing when the node has no such file.
func (c *Client) Digest(ctx context.Context, ip, uri, url, alg, reason string, size int64) ([]byte, error) {
	if _, err := NewHash(alg); err != nil {
		return nil, err
	}
	sum, err := c.digestSide(ctx, ip, uri, alg, reason, size)
	if err == nil || errors.Is(err, ErrMissing) {
		return sum, err
	}
	c.log.Debug("side channel digest failed, using HTTP", "uri", uri, "ip", ip, "err", err)
	return c.DigestHTTP(ctx, url, alg)
}

// DigestHTTP computes the digest of url by GETting it.
func (c *Client) DigestHTTP(ctx context.Context, url, alg string) ([]byte, error) {
	h, err := NewHash(alg)
	if err != nil {
		return nil, err
	}
	// Reading can take long for big files; bound only the wait for
	// headers by node_timeout via the transport-independent context
	// below plus a generous overall limit.
	resp, cancel, err := c.Do(ctx, "GET", url, nil, nil, time.Hour)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrMissing
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("nodeclient: %s (GET) of %s: %s", alg, url, resp.Status)
	}
	if _, err := io.Copy(h, resp.Body); err != nil {
		return nil, fmt.Errorf("nodeclient: %s (GET) of %s: %w", alg, url, err)
	}
	return h.Sum(nil), nil
}

func (c *Client) digestSide(ctx context.Context, ip, uri, alg, reason string, size int64) ([]byte, error) {
	addr := net.JoinHostPort(ip, strconv.Itoa(c.opts.StreamPort))
	timeout := c.NodeTimeout()
	if size > 0 {
		timeout += time.Duration(size/(2*1024*1024)) * time.Second
	}
	if reason == "fsck" {
		timeout += time.Hour
	}
	req := alg + " " + uri
	if reason != "" {
		req += " " + reason
	}
	req += "\r\n"
	// A pooled connection may have been closed by the node meanwhile:
	// retry once on a fresh one.
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		s, _, err := c.sides.dial(ctx, addr, c.NodeTimeout())
		if err != nil {
			return nil, fmt.Errorf("nodeclient: side channel %s: %w", addr, err)
		}
		deadline := time.Now().Add(timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		s.nc.SetDeadline(deadline)
		if _, err := io.WriteString(s.nc, req); err != nil {
			s.nc.Close()
			lastErr = err
			continue
		}
		line, err := s.br.ReadString('\n')
		if err != nil {
			s.nc.Close()
			lastErr = err
			continue
		}
		line = strings.TrimRight(line, "\r\n")
		prefix := uri + " " + alg + "="
		switch {
		case strings.HasPrefix(line, prefix):
			v := line[len(prefix):]
			c.sides.put(addr, s)
			if v == "-1" {
				return nil, ErrMissing
			}
			sum, err := hex.DecodeString(v)
			if err != nil || len(v) < 32 {
				return nil, fmt.Errorf("nodeclient: side channel %s: bad digest %q", addr, line)
			}
			return sum, nil
		case strings.HasPrefix(line, "ERROR"):
			c.sides.put(addr, s)
			return nil, fmt.Errorf("nodeclient: side channel %s: %s", addr, line)
		default:
			s.nc.Close()
			return nil, fmt.Errorf("nodeclient: side channel %s: unexpected answer %q", addr, line)
		}
	}
	return nil, fmt.Errorf("nodeclient: side channel %s: %w", addr, lastErr)
}
