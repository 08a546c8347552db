package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// keyNode returns a node to ask /_key, or nil when reads go through
// get_paths (fast path off, key reads not asked for, or no node offers
// it). In FastPathOnly mode the lack of one is an error.
func (c *Client) keyNode(ctx context.Context) (*fastNode, error) {
	if c.fast.mode == FastPathOff || !c.fast.keyReads {
		return nil, nil
	}
	s := c.fast.current(ctx, c)
	nodes := s.readers()
	if len(nodes) == 0 {
		if c.fast.mode == FastPathOnly {
			return nil, fmt.Errorf("%w: %s", ErrNoFastPath, s.why)
		}
		return nil, nil
	}
	return c.fast.pick(nodes), nil
}

func (c *Client) keyURL(node *fastNode, key string) string {
	return node.base + "/_key?domain=" + url.QueryEscape(c.domain) + "&key=" + url.QueryEscape(key)
}

// keyFailed handles a /_key request that got no usable answer: the node
// is skipped until the next refresh when it refused the connection or
// does not know /_key; done is true with an error in FastPathOnly mode.
func (c *Client) keyFailed(node *fastNode, key, u string, err error) (done bool, ferr error) {
	var pe *PathError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &pe) && pe.Status == http.StatusNotFound {
		node.off.Store(true)
	}
	if c.fast.mode == FastPathOnly {
		return true, fmt.Errorf("open %q: %w: %w", key, ErrNoFastPath, err)
	}
	c.counters.keyReadFallbacks.Add(1)
	c.log.Warn("fast path read failed, asking get_paths", "key", key, "url", u, "err", err)
	return false, nil
}

// keyError turns a 404 with X-MogileFS-Error into the tracker's error.
func keyError(key string, resp *http.Response) error {
	if code := resp.Header.Get("X-MogileFS-Error"); resp.StatusCode == http.StatusNotFound && code != "" {
		return fmt.Errorf("open %q: %w", key, &wire.Error{Code: code, Text: code})
	}
	return nil
}

// getKey reads n bytes of key from off with one GET /_key on a fast-path
// node, which serves its own copy or redirects to one. done is false when
// the read should look the key up with get_paths instead.
func (c *Client) getKey(ctx context.Context, key string, off, n int64) (rd *Reader, done bool, err error) {
	node, err := c.keyNode(ctx)
	if node == nil || err != nil || n == 0 {
		return nil, err != nil, err
	}
	start := c.paths.begin()
	u := c.keyURL(node, key)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, true, &PathError{Method: "GET", URL: u, Err: err}
	}
	r := &Reader{f: c.FileFromPaths(key, nil, -1), ctx: ctx, start: off, want: n, total: -1}
	r.setRange(req)
	resp, err := c.noRedirect.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, true, ctx.Err()
		}
		done, err := c.keyFailed(node, key, u, &PathError{Method: "GET", URL: u, Err: unwrapURLError(err)})
		return nil, done, err
	}
	if kerr := keyError(key, resp); kerr != nil {
		resp.Body.Close()
		c.counters.keyReads.Add(1)
		return nil, true, kerr
	}
	paths := headerPaths(resp.Header)
	r.f = c.FileFromPaths(key, paths, -1)
	r.f.fid = fidHeader(resp.Header)
	r.next = r.f.order()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable:
		c.counters.keyReads.Add(1)
		if err := r.take(resp, u); err != nil {
			if err == io.EOF {
				return nil, true, io.EOF
			}
			if err := r.open(); err != nil {
				return nil, true, err
			}
		} else {
			r.url = u
		}
		if len(paths) > 0 {
			c.paths.putLookup(pathKey{c.domain, key}, start, r.f.fid, r.total, paths)
		}
		return r, true, nil
	case http.StatusTemporaryRedirect, http.StatusFound, http.StatusSeeOther:
		resp.Body.Close()
		if len(paths) == 0 {
			if loc := resp.Header.Get("Location"); loc != "" {
				paths = []string{loc}
				r.f = c.FileFromPaths(key, paths, -1)
				r.f.fid = fidHeader(resp.Header)
			}
		}
		if len(paths) == 0 {
			done, err := c.keyFailed(node, key, u, &PathError{Method: "GET", URL: u, Status: resp.StatusCode, Msg: "redirect without a path"})
			return nil, done, err
		}
		c.counters.keyReads.Add(1)
		c.paths.putLookup(pathKey{c.domain, key}, start, r.f.fid, -1, paths)
		rd, err := r.f.OpenRange(ctx, off, n)
		return rd, true, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	done, err = c.keyFailed(node, key, u, &PathError{Method: "GET", URL: u, Status: resp.StatusCode, Msg: stripHTML(string(msg))})
	return nil, done, err
}

// headKey finds key's paths (and length, when the node holds a copy)
// with one HEAD /_key. done is false when get_paths should be asked.
func (c *Client) headKey(ctx context.Context, key string) (f *File, done bool, err error) {
	node, err := c.keyNode(ctx)
	if node == nil || err != nil {
		return nil, err != nil, err
	}
	start := c.paths.begin()
	u := c.keyURL(node, key)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return nil, true, &PathError{Method: "HEAD", URL: u, Err: err}
	}
	resp, err := c.noRedirect.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, true, ctx.Err()
		}
		done, err := c.keyFailed(node, key, u, &PathError{Method: "HEAD", URL: u, Err: unwrapURLError(err)})
		return nil, done, err
	}
	resp.Body.Close()
	if kerr := keyError(key, resp); kerr != nil {
		c.counters.keyReads.Add(1)
		return nil, true, kerr
	}
	paths := headerPaths(resp.Header)
	size := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		size = resp.ContentLength
	case http.StatusTemporaryRedirect, http.StatusFound, http.StatusSeeOther:
	default:
		paths = nil
	}
	if len(paths) == 0 {
		done, err := c.keyFailed(node, key, u, &PathError{Method: "HEAD", URL: u, Status: resp.StatusCode, Msg: "no X-MogileFS-Paths"})
		return nil, done, err
	}
	c.counters.keyReads.Add(1)
	f = c.FileFromPaths(key, paths, size)
	f.fid = fidHeader(resp.Header)
	c.paths.putLookup(pathKey{c.domain, key}, start, f.fid, size, paths)
	return f, true, nil
}
