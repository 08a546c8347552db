package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// Stage of an upload through the fast path, for StoreError.Op.
const OpFastPut = "fastpath_put" // the PUT to a node's /_put

// attrNames are the mogfs attribute names Commit.Attrs may hold.
var attrNames = map[string]bool{"mtime": true, "mtime_nsec": true, "atime": true, "atime_nsec": true,
	"ctime": true, "ctime_nsec": true, "mode": true, "uid": true, "gid": true, "rdev": true}

// ErrBadAttr: Commit.Attrs holds a name that is not a mogfs attribute,
// or no value for the last name.
var ErrBadAttr = errors.New("not a mogfs attribute")

// checkAttrs refuses what a node or tracker could not take as
// attributes, so that none is ever dropped.
func checkAttrs(kv []string) error {
	if len(kv)%2 != 0 {
		return fmt.Errorf("%w: %q has no value", ErrBadAttr, kv[len(kv)-1])
	}
	for i := 0; i < len(kv); i += 2 {
		if !attrNames[kv[i]] {
			return fmt.Errorf("%w: %q", ErrBadAttr, kv[i])
		}
	}
	return nil
}

// storeFast uploads mem under key through a node's /_put. done is false
// when the upload should go the three-step way instead: no node offers
// the fast path (with attributes, when attrs are given), or the node
// could not take it (and the mode allows falling back). md5sum, when not
// nil, is sent as Content-MD5; attrs are mogfs attributes (name, value
// pairs, checked).
func (c *Client) storeFast(ctx context.Context, key, class string, mem, md5sum []byte, attrs []string) (st Stored, done bool, err error) {
	s := c.fast.current(ctx, c)
	nodes := s.writers(len(attrs) > 0)
	if len(nodes) == 0 {
		if c.fast.mode == FastPathOnly {
			return Stored{}, true, &StoreError{Key: key, Op: OpFastPut, Err: fmt.Errorf("%w: %s", ErrNoFastPath, s.why)}
		}
		return Stored{}, false, nil
	}
	node := c.fast.pick(nodes)
	st, fallback, err := c.putFast(ctx, node, key, class, mem, md5sum, attrs)
	if err == nil {
		c.counters.fastPuts.Add(1)
		if len(attrs) > 0 {
			c.counters.fastAttrPuts.Add(1)
		}
		c.paths.put(pathKey{c.domain, key}, st.FID, st.Size, []string{st.Path})
		return st, true, nil
	}
	c.paths.drop(pathKey{c.domain, key})
	if !fallback || ctx.Err() != nil || c.fast.mode == FastPathOnly {
		return Stored{}, true, err
	}
	c.counters.fastFallbacks.Add(1)
	c.log.Warn("fast path upload failed, going the three-step way", "key", key, "node", node.base, "err", err)
	return Stored{}, false, nil
}

// putFast sends one PUT /_put. fallback says the failure allows the
// three-step path: the node answered 503 (nothing committed), 500 or
// something that is not the fast path's answer, or the connection failed
// (the upload may have been committed: writing the same key and bytes
// again replaces its fid once, which Store allows).
func (c *Client) putFast(ctx context.Context, node *fastNode, key, class string, mem, md5sum []byte, attrs []string) (st Stored, fallback bool, err error) {
	u := node.base + "/_put?domain=" + url.QueryEscape(c.domain) + "&key=" + url.QueryEscape(key)
	if class != "" {
		u += "&class=" + url.QueryEscape(class)
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		u += "&" + attrs[i] + "=" + url.QueryEscape(attrs[i+1])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(mem))
	if err != nil {
		return Stored{}, false, &StoreError{Key: key, Op: OpFastPut, Err: err}
	}
	if md5sum != nil {
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md5sum))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			node.off.Store(true)
		}
		return Stored{}, true, &StoreError{Key: key, Op: OpFastPut, Err: &PathError{Method: "PUT", URL: u, Err: unwrapURLError(err)}}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		h := resp.Header
		st = Stored{Size: int64(len(mem)), FID: atoi64(h.Get("X-MogileFS-FID")), DevID: atoi(h.Get("X-MogileFS-Devid")), Path: h.Get("X-MogileFS-Path")}
		if st.FID <= 0 || st.Path == "" {
			// Not a fast-path answer: whatever took the PUT is no
			// fast-path node.
			node.off.Store(true)
			return Stored{}, true, &StoreError{Key: key, Op: OpFastPut, Err: &PathError{Method: "PUT", URL: u, Status: resp.StatusCode, Msg: "answer without X-MogileFS-FID or X-MogileFS-Path"}}
		}
		return st, false, nil
	case http.StatusBadRequest:
		if code := resp.Header.Get("X-MogileFS-Error"); code != "" {
			return Stored{}, false, &StoreError{Key: key, Op: refusalOp(code), Err: &wire.Error{Code: code, Text: stripHTML(string(msg))}}
		}
	case http.StatusServiceUnavailable, http.StatusNotFound:
		switch code := resp.Header.Get("X-MogileFS-Error"); {
		case resp.StatusCode == http.StatusServiceUnavailable && len(attrs) > 0 && (code == "no_attrs" || code == "unknown_command"):
			// Its trackers do not take attributes (any more): its
			// plain uploads may go on.
			node.noAttrs.Store(true)
		case resp.StatusCode == http.StatusServiceUnavailable && code == "linked_key":
			// This key alone goes the three-step way.
		case resp.StatusCode == http.StatusServiceUnavailable && code == "no_lease":
			// Its keeper is leasing: skipped for a moment only.
			node.busyUntil.Store(time.Now().Add(fastBusyPause).UnixNano())
		default:
			// No usable lease, or no fast path any more (a node
			// restarted without trackers): not before the next
			// refresh.
			node.off.Store(true)
		}
	}
	pe := &PathError{Method: "PUT", URL: u, Status: resp.StatusCode, Msg: stripHTML(string(msg))}
	if r := resp.Header.Get("X-MogileFS-Error"); r != "" {
		pe.Msg = r + " " + pe.Msg
	}
	return Stored{}, true, &StoreError{Key: key, Op: OpFastPut, Err: pe}
}

// refusalOp is the stage a three-step upload reports a tracker refusal
// at: create_open checks the domain, class and key, create_close the rest.
func refusalOp(code string) string {
	switch code {
	case "unreg_domain", "no_domain", "unreg_class", "class_not_found", "no_key", "key_too_long":
		return OpOpen
	}
	return OpClose
}

// headerPaths splits X-MogileFS-Paths.
func headerPaths(h http.Header) []string {
	var out []string
	for _, v := range h.Values("X-MogileFS-Paths") {
		for _, p := range bytes.Fields([]byte(v)) {
			out = append(out, string(p))
		}
	}
	return out
}

// fidHeader reads X-MogileFS-FID (0 when absent).
func fidHeader(h http.Header) int64 {
	n, _ := strconv.ParseInt(h.Get("X-MogileFS-FID"), 10, 64)
	return n
}
