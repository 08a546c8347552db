package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// PathsOptions tune get_paths.
type PathsOptions struct {
	// Verify makes the tracker HEAD the first path before returning it
	// (the original's noverify=0). Off by default: readers fail over.
	Verify bool
	// Count is the number of paths wanted (the tracker's default is 2).
	Count int
	// Zone "alt" asks for the hosts' alternate IPs.
	Zone string
}

// Paths returns the URLs of key's copies, best first (get_paths). A key
// with no readable copy gives an empty list and no error.
//
// Without Verify or Zone, the answer comes from the client's path cache
// when it holds a lookup of the key (see Config.PathCacheTTL) from within
// the TTL, which may name fewer copies than exist (one made since) or,
// like get_paths through a tracker's fid cache, an older fid of a key
// another client changed. (The one copy an upload of this client wrote
// serves its reads, not Paths.)
func (c *Client) Paths(ctx context.Context, key string, o PathsOptions) ([]string, error) {
	cacheable := !o.Verify && o.Zone == ""
	if cacheable {
		if e, ok := c.cached(key); ok && e.complete {
			paths := slices.Clone(e.paths)
			if o.Count > 0 && len(paths) > o.Count {
				paths = paths[:o.Count]
			}
			return paths, nil
		}
	}
	return c.getPaths(ctx, key, o)
}

// getPaths is Paths without the cache lookup; the answer fills the cache.
func (c *Client) getPaths(ctx context.Context, key string, o PathsOptions) ([]string, error) {
	start := c.paths.begin()
	kv := []string{"domain", c.domain, "key", key, "noverify", "1"}
	if o.Verify {
		kv[5] = "0"
	}
	if o.Count > 0 {
		kv = append(kv, "pathcount", strconv.Itoa(o.Count))
	}
	if o.Zone != "" {
		kv = append(kv, "zone", o.Zone)
	}
	r, err := c.call(ctx, "get_paths", kv...)
	if err != nil {
		return nil, err
	}
	c.counters.lookups.Add(1)
	n := atoi(r["paths"])
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		if p := r["path"+strconv.Itoa(i)]; p != "" {
			out = append(out, p)
		}
	}
	if o.Zone == "" {
		c.paths.putLookup(pathKey{c.domain, key}, start, 0, -1, slices.Clone(out))
	}
	return out, nil
}

// cached returns key's path cache entry, counting the hit or miss.
func (c *Client) cached(key string) (pathEntry, bool) {
	if c.paths == nil {
		return pathEntry{}, false
	}
	e, ok := c.paths.get(pathKey{c.domain, key})
	if ok {
		c.counters.cacheHits.Add(1)
	} else {
		c.counters.cacheMisses.Add(1)
	}
	return e, ok
}

// cachedFile returns a File over key's cached paths.
func (c *Client) cachedFile(key string) (*File, bool) {
	e, ok := c.cached(key)
	if !ok {
		return nil, false
	}
	f := c.FileFromPaths(key, e.paths, e.size)
	f.fid, f.fromCache = e.fid, true
	return f, true
}

// Get opens key for reading. The returned reader fails over to the next
// path when a storage node cannot be reached, answers an error, or breaks
// off in the middle of the body (it resumes there with a Range request).
// A key without readable paths gives an error wrapping ErrNoPaths.
func (c *Client) Get(ctx context.Context, key string) (*Reader, error) {
	return c.OpenRange(ctx, key, 0, -1)
}

// GetBytes reads the whole of key into memory.
func (c *Client) GetBytes(ctx context.Context, key string) ([]byte, error) {
	r, err := c.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// OpenRange reads n bytes of key from offset off (n < 0: to the end).
// A key in the path cache is read from its cached paths; otherwise, when
// storage nodes offer the fast path, one GET /_key on a node finds and
// reads it; otherwise get_paths finds it first.
func (c *Client) OpenRange(ctx context.Context, key string, off, n int64) (*Reader, error) {
	if f, ok := c.cachedFile(key); ok {
		return f.OpenRange(ctx, off, n)
	}
	if r, done, err := c.getKey(ctx, key, off, n); done {
		return r, err
	}
	f, err := c.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	return f.OpenRange(ctx, off, n)
}

// File is an opened key: its paths are fetched once, so reads cost one
// HTTP request each and no tracker round trip. It is safe for concurrent
// use.
type File struct {
	c     *Client
	key   string
	paths []string
	pref  atomic.Int32 // index of the path that worked last

	// fid is the key's fid when known; fromCache says the paths came
	// from the client's path cache (a read that fails on all of them
	// asks the tracker again, once).
	fid       int64
	fromCache bool

	sizeOnce sync.Mutex   // one HEAD at a time in Size
	size     atomic.Int64 // -1 until known; ranged reads set it too
}

// Open looks up key's paths and returns a File for ranged reads: from
// the path cache, else with HEAD /_key on a storage node when nodes offer
// the fast path, else with get_paths.
func (c *Client) Open(ctx context.Context, key string) (*File, error) {
	if f, ok := c.cachedFile(key); ok {
		return f, nil
	}
	if f, done, err := c.headKey(ctx, key); done {
		return f, err
	}
	return c.lookup(ctx, key)
}

// lookup asks get_paths for key's paths.
func (c *Client) lookup(ctx context.Context, key string) (*File, error) {
	paths, err := c.getPaths(ctx, key, PathsOptions{Count: 3})
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("open %q: %w", key, ErrNoPaths)
	}
	return c.FileFromPaths(key, paths, -1), nil
}

// FileFromPaths makes a File from known paths (for callers that cache
// get_paths answers). size is the file length, or -1 if unknown.
func (c *Client) FileFromPaths(key string, paths []string, size int64) *File {
	f := &File{c: c, key: key, paths: paths}
	f.size.Store(max(size, -1))
	return f
}

// Key returns the file's key.
func (f *File) Key() string { return f.key }

// Paths returns the file's URLs.
func (f *File) Paths() []string { return f.paths }

// Size returns the file length, asking a storage node (HEAD) the first
// time unless it is already known.
func (f *File) Size(ctx context.Context) (int64, error) {
	f.sizeOnce.Lock()
	defer f.sizeOnce.Unlock()
	if n := f.size.Load(); n >= 0 {
		return n, nil
	}
	var errs []*PathError
	for _, i := range f.order() {
		u := f.paths[i]
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			errs = append(errs, &PathError{Method: "HEAD", URL: u, Err: err})
			continue
		}
		resp, err := f.c.http.Do(req)
		if err != nil {
			pe := &PathError{Method: "HEAD", URL: u, Err: unwrapURLError(err)}
			errs = append(errs, pe)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			f.pathFailed(pe)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ContentLength < 0 {
			pe := &PathError{Method: "HEAD", URL: u, Status: resp.StatusCode}
			errs = append(errs, pe)
			f.pathFailed(pe)
			continue
		}
		f.pref.Store(int32(i))
		f.size.Store(resp.ContentLength)
		return resp.ContentLength, nil
	}
	return 0, &FetchError{Key: f.key, Errs: errs}
}

// order returns path indexes starting with the preferred one.
func (f *File) order() []int {
	n := len(f.paths)
	p := int(f.pref.Load())
	out := make([]int, n)
	for i := range out {
		out[i] = (p + i) % n
	}
	return out
}

// ReadAt reads len(p) bytes at off, with failover across paths. It
// returns io.EOF when the file ends before p is full, like os.File.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	return f.ReadAtContext(context.Background(), p, off)
}

// ReadAtContext is ReadAt bounded by ctx.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("client: negative offset")
	}
	if len(p) == 0 {
		return 0, nil
	}
	r, err := f.OpenRange(ctx, off, int64(len(p)))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, err
	}
	defer r.Close()
	n, err := io.ReadFull(r, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// OpenRange returns a reader of n bytes from off (n < 0: to the end). An
// offset at or past the end gives io.EOF.
func (f *File) OpenRange(ctx context.Context, off, n int64) (*Reader, error) {
	r := &Reader{f: f, ctx: ctx, start: off, want: n, total: -1, next: f.order()}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reader streams a file (or a range of it) with failover across paths.
type Reader struct {
	f     *File
	ctx   context.Context
	start int64 // first byte wanted
	want  int64 // bytes wanted, -1 = to the end
	got   int64 // bytes delivered so far
	total int64 // whole file length once known, else -1

	body   io.ReadCloser
	remain int64 // bytes the current body should still deliver, -1 unknown
	url    string
	next   []int // path indexes not tried yet
	errs   []*PathError
	done   bool
	// relooked: the cached paths failed and were looked up again.
	relooked bool
}

// Failed returns the errors of paths that were given up, in order (useful
// to report a storage node that is down although the read succeeded).
func (r *Reader) Failed() []*PathError { return r.errs }

// Size returns the length of the whole file once a storage node told it,
// or -1.
func (r *Reader) Size() int64 { return r.total }

// URL returns the path currently read from.
func (r *Reader) URL() string { return r.url }

// open starts a GET at start+got on the next path that works. When every
// path of a File that came from the path cache failed before any byte was
// read, the paths are looked up again, once.
func (r *Reader) open() error {
	for {
		err := r.openNext()
		if err == nil || err == io.EOF || r.ctx.Err() != nil || !r.f.fromCache || r.relooked || r.got > 0 {
			return err
		}
		r.relooked = true
		f, lerr := r.f.c.lookup(r.ctx, r.f.key)
		if lerr != nil {
			return lerr
		}
		r.f, r.next, r.total = f, f.order(), -1
	}
}

func (r *Reader) openNext() error {
	for len(r.next) > 0 {
		i := r.next[0]
		r.next = r.next[1:]
		u := r.f.paths[i]
		err := r.openPath(u)
		if err == nil {
			r.f.pref.Store(int32(i))
			r.url = u
			return nil
		}
		if err == io.EOF {
			r.done = true
			return io.EOF
		}
		var pe *PathError
		if !errors.As(err, &pe) {
			pe = &PathError{Method: "GET", URL: u, Err: err}
		}
		r.errs = append(r.errs, pe)
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		r.f.pathFailed(pe)
		r.f.c.log.Warn("storage node read failed, trying next path", "key", r.f.key, "url", u, "err", pe)
	}
	return &FetchError{Key: r.f.key, Errs: r.errs}
}

// pathFailed drops the key from the path cache when a path failed in a
// way that means the copy moved, is gone or its node is down.
func (f *File) pathFailed(pe *PathError) {
	if f.c.paths == nil {
		return
	}
	gone := pe.Status == http.StatusNotFound || pe.Status == http.StatusGone || pe.Status >= 500 ||
		pe.Status == 0 && errors.Is(pe.Err, syscall.ECONNREFUSED)
	if gone {
		f.c.paths.dropIf(pathKey{f.c.domain, f.key}, f.fid)
	}
}

func (r *Reader) openPath(u string) error {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, u, nil)
	if err != nil {
		return &PathError{Method: "GET", URL: u, Err: err}
	}
	if err := r.setRange(req); err != nil {
		return err
	}
	resp, err := r.f.c.http.Do(req)
	if err != nil {
		return &PathError{Method: "GET", URL: u, Err: unwrapURLError(err)}
	}
	return r.take(resp, u)
}

// setRange asks for the bytes still wanted; io.EOF when none are.
func (r *Reader) setRange(req *http.Request) error {
	from := r.start + r.got
	if from == 0 && r.want < 0 {
		return nil
	}
	if r.want >= 0 {
		if r.want-r.got <= 0 {
			return io.EOF
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, r.start+r.want-1))
	} else {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	return nil
}

// take makes resp, the answer to a GET of u, the body to read from; it
// closes resp.Body on error.
func (r *Reader) take(resp *http.Response, u string) error {
	from := r.start + r.got
	switch {
	case resp.StatusCode == http.StatusOK:
		total := resp.ContentLength
		if err := r.checkTotal(u, total); err != nil {
			resp.Body.Close()
			return err
		}
		if from > 0 {
			// The node ignored the Range header: skip to the offset.
			if _, err := io.CopyN(io.Discard, resp.Body, from); err != nil {
				resp.Body.Close()
				if err == io.EOF {
					return io.EOF
				}
				return &PathError{Method: "GET", URL: u, Err: err}
			}
		}
		r.body = resp.Body
		r.remain = -1
		if total >= 0 {
			r.remain = total - from
			if r.want >= 0 && r.start+r.want < total {
				r.remain = r.start + r.want - from
			}
		} else if r.want >= 0 {
			r.remain = r.want - r.got
		}
		return nil
	case resp.StatusCode == http.StatusPartialContent:
		first, _, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != from {
			resp.Body.Close()
			return &PathError{Method: "GET", URL: u, Status: resp.StatusCode, Msg: "bad Content-Range " + resp.Header.Get("Content-Range")}
		}
		if err := r.checkTotal(u, total); err != nil {
			resp.Body.Close()
			return err
		}
		r.body = resp.Body
		r.remain = resp.ContentLength
		return nil
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		_, _, total, _ := parseContentRange(resp.Header.Get("Content-Range"))
		resp.Body.Close()
		if err := r.checkTotal(u, total); err != nil {
			return err
		}
		return io.EOF
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return &PathError{Method: "GET", URL: u, Status: resp.StatusCode, Msg: stripHTML(string(msg))}
	}
}

// checkTotal records the file length and refuses a copy whose length
// differs from the one already seen (a resumed read must not splice two
// different contents).
func (r *Reader) checkTotal(u string, total int64) error {
	if total < 0 {
		return nil
	}
	if r.total >= 0 && total != r.total {
		return &PathError{Method: "GET", URL: u, Status: 200, Msg: fmt.Sprintf("length %d differs from %d on another copy", total, r.total)}
	}
	r.total = total
	// Concurrent reads of the same File record it too: only the first
	// length seen is kept, without waiting for a HEAD in Size.
	r.f.size.CompareAndSwap(-1, total)
	return nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.done {
			return 0, io.EOF
		}
		if r.body == nil {
			if err := r.open(); err != nil {
				return 0, err
			}
			continue
		}
		if r.remain == 0 {
			r.finish()
			return 0, io.EOF
		}
		if r.remain > 0 && int64(len(p)) > r.remain {
			p = p[:r.remain]
		}
		n, err := r.body.Read(p)
		r.got += int64(n)
		if r.remain > 0 {
			r.remain -= int64(n)
		}
		if err == nil {
			return n, nil
		}
		if err == io.EOF && r.remain <= 0 {
			r.finish()
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		// The body broke off (or ended short): resume on the next path.
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.errs = append(r.errs, &PathError{Method: "GET", URL: r.url, Err: err})
		r.body.Close()
		r.body = nil
		if r.ctx.Err() != nil {
			return n, r.ctx.Err()
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *Reader) finish() {
	r.done = true
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

// Close releases the connection.
func (r *Reader) Close() error {
	r.done = true
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// parseContentRange parses "bytes a-b/total" (total may be "*" → -1) and
// "bytes */total".
func parseContentRange(s string) (first, last, total int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, -1, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, -1, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil {
			return 0, 0, -1, false
		}
		total = t
	}
	if rng == "*" {
		return -1, -1, total, true
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, total, false
	}
	fa, err1 := strconv.ParseInt(a, 10, 64)
	lb, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, total, false
	}
	return fa, lb, total, true
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats
// the method and URL that PathError already carries.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
