package nodeclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The HEAD of create_close is the tracker's most frequent request to the
// storage nodes (one per upload). net/http's client costs two goroutine
// hand-offs and a few allocations per request on top of the two system
// calls the exchange needs; head speaks the little HTTP/1.1 a HEAD needs
// over pooled keep-alive connections of its own, and leaves everything
// unusual (another scheme, a reply it does not understand) to net/http.

// errHeadFallback sends a HEAD to net/http instead.
var errHeadFallback = errors.New("nodeclient: HEAD needs net/http")

// headIdleMax is how long an idle connection is kept: below mogstored's
// 30 s keep-alive, as the HTTP transport's.
const headIdleMax = 25 * time.Second

// headResult is what a HEAD said.
type headResult struct {
	status int
	length int64 // -1 when the reply had no Content-Length
	server string
}

// head sends HEAD url and reads the reply, on a pooled connection; a
// pooled connection the node had closed is replaced once, as net/http
// does for idempotent requests. errHeadFallback for what it cannot do.
func (c *Client) head(ctx context.Context, url string) (headResult, error) {
	rest, ok := strings.CutPrefix(url, "http://")
	if !ok {
		return headResult{}, errHeadFallback
	}
	addr, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		addr, path = rest[:i], rest[i:]
	}
	if addr == "" || strings.ContainsAny(addr, "@[") || strings.ContainsAny(path, " \r\n\t?#") {
		return headResult{}, errHeadFallback // userinfo, IPv6, or a path to escape
	}
	hostport := addr
	if !strings.Contains(addr, ":") {
		hostport = addr + ":80"
	}
	req := "HEAD " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	deadline := time.Now().Add(c.NodeTimeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for attempt := 0; ; attempt++ {
		hc, pooled, err := c.heads.dial(ctx, hostport, c.ConnTimeout())
		if err != nil {
			return headResult{}, fmt.Errorf("nodeclient: HEAD %s: %w", url, err)
		}
		res, keep, err := headRoundTrip(ctx, hc, req, deadline)
		if err == nil {
			if keep {
				c.heads.put(hostport, hc)
			} else {
				hc.nc.Close()
			}
			return res, nil
		}
		hc.nc.Close()
		if errors.Is(err, errHeadFallback) {
			return headResult{}, err
		}
		if pooled && attempt == 0 && errors.Is(err, errStale) && ctx.Err() == nil {
			continue
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return headResult{}, fmt.Errorf("nodeclient: HEAD %s: %w", url, err)
	}
}

// errStale is a connection that ended before any byte of the reply: a
// pooled one the node closed while it was idle.
var errStale = errors.New("connection closed before the reply")

// headRoundTrip writes req and reads the reply's head; keep says whether the
// connection may serve another request.
func headRoundTrip(ctx context.Context, hc *poolConn, req string, deadline time.Time) (res headResult, keep bool, err error) {
	hc.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { hc.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(hc.nc, req); err != nil {
		return res, false, errStale
	}
	line, err := hc.br.ReadSlice('\n')
	if err != nil {
		if len(line) == 0 && (err == io.EOF || errors.Is(err, syscall.ECONNRESET)) {
			return res, false, errStale
		}
		return res, false, err
	}
	// "HTTP/1.1 200 OK"
	proto, status, ok := strings.Cut(strings.TrimRight(string(line), "\r\n"), " ")
	if !ok || len(status) < 3 || !strings.HasPrefix(proto, "HTTP/1.") {
		return res, false, errHeadFallback
	}
	code, err := strconv.Atoi(status[:3])
	if err != nil || code < 200 {
		return res, false, errHeadFallback // 1xx or garbage
	}
	res = headResult{status: code, length: -1}
	keep = proto == "HTTP/1.1"
	for n := 0; ; n++ {
		line, err := hc.br.ReadSlice('\n')
		if err != nil {
			return res, false, err
		}
		if n > 100 {
			return res, false, errHeadFallback
		}
		h := strings.TrimRight(string(line), "\r\n")
		if h == "" {
			return res, keep, nil
		}
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return res, false, errHeadFallback
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return res, false, fmt.Errorf("bad Content-Length %q", value)
			}
			res.length = n
		case strings.EqualFold(name, "Connection"):
			if strings.EqualFold(value, "close") {
				keep = false
			} else if strings.EqualFold(value, "keep-alive") {
				keep = true
			}
		case strings.EqualFold(name, "Server"):
			res.server = value
		}
	}
}
