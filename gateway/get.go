package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/cache"
)

// serveGet answers GET and HEAD.
func (g *Gateway) serveGet(rec *request) {
	ctx := rec.ctx()
	r, rp := rec.r, &rec.rp
	k := cache.Key{Domain: rec.domain, Key: rec.key}
	c := g.client(rec.domain)
	m, cached, err := g.meta(ctx, c, k)
	if err != nil {
		g.fail(rec, err)
		return
	}
	rec.fid = m.fid
	if m.size < 0 {
		// The trackers disagreed on the fid: ask a storage node.
		if m, err = g.sizeFromNode(ctx, c, rec, m); err != nil {
			g.fail(rec, err)
			return
		}
	}
	rp.ctype = m.ctype
	rp.acceptRanges = true
	rp.etag = m.etag
	p := makePlan(r.Method, r, m.size, m.etag)
	if p.status != http.StatusOK && p.status != http.StatusPartialContent {
		writeNonContent(rp, p, m.size)
		return
	}
	if g.cfg.AccelRedirect != "" {
		g.accel(rec, m, p)
		return
	}
	if g.content.Wants(m.size) && m.fid > 0 {
		data, ok := g.content.Get(m.fid, m.size)
		g.metrics.contentLookup(ok)
		if !ok && r.Method == http.MethodGet {
			if m, data, err = g.fetchSmall(ctx, c, rec, k, m, cached); err != nil {
				g.fail(rec, err)
				return
			}
			g.content.Put(m.fid, data)
			ok = true
		}
		if ok {
			if rec.url == "" {
				rec.url = "memory"
			}
			serveBytes(rp, m, p, data)
			return
		}
	}
	if r.Method == http.MethodHead {
		g.serveHead(rec, c, k, m, cached, p)
		return
	}
	g.stream(rec, c, k, m, cached, p)
}

// fetchSmall reads a whole small file into memory, with failover.
func (g *Gateway) fetchSmall(ctx context.Context, c *client.Client, rec *request, k cache.Key, m *fileMeta, cached bool) (*fileMeta, []byte, error) {
	data := make([]byte, m.size)
	if m.size == 0 {
		return m, data, nil
	}
	m, rd, err := g.openFirst(ctx, c, rec, k, m, cached, 0, m.size)
	if err != nil {
		return m, nil, err
	}
	defer rd.Close()
	if _, err := io.ReadFull(rd, data); err != nil {
		var fe *client.FetchError
		if errors.As(err, &fe) {
			g.health.failed(fe.Errs)
		}
		return m, nil, fmt.Errorf("reading fid %d: %w", m.fid, err)
	}
	g.health.failed(rd.Failed())
	return m, data, nil
}

// serveBytes answers a GET or HEAD from the file's content in memory.
func serveBytes(rp *reply, m *fileMeta, p plan, data []byte) {
	switch {
	case len(p.ranges) > 1:
		ctype := rp.ctype
		boundary := multipart.NewWriter(io.Discard).Boundary()
		rp.ctype = "multipart/byteranges; boundary=" + boundary
		w := rp.stream(http.StatusPartialContent, multipartSize(p.ranges, ctype, m.size, boundary))
		mw := multipart.NewWriter(w)
		mw.SetBoundary(boundary)
		for _, ra := range p.ranges {
			pw, err := mw.CreatePart(partHeader(ra, ctype, m.size))
			if err != nil {
				return
			}
			if _, err := pw.Write(data[ra.start : ra.start+ra.length]); err != nil {
				return
			}
		}
		mw.Close()
	case len(p.ranges) == 1:
		ra := p.ranges[0]
		rp.contentRange = ra.contentRange(m.size)
		rp.send(http.StatusPartialContent, data[ra.start:ra.start+ra.length])
	default:
		rp.send(http.StatusOK, data)
	}
}

// sizeFromNode learns the length of a file from a storage node (HEAD with
// failover), for the rare lookup whose file_info could not be trusted.
func (g *Gateway) sizeFromNode(ctx context.Context, c *client.Client, rec *request, m *fileMeta) (*fileMeta, error) {
	if len(m.paths) == 0 {
		return nil, errNoCopy
	}
	size, err := c.FileFromPaths(rec.key, g.health.order(m.paths), -1).Size(ctx)
	if err != nil {
		return nil, err
	}
	mm := *m
	mm.size = size
	return &mm, nil
}

// openPart opens n bytes from off (n < 0: to the end) on the first copy
// that answers with the length the tracker gave. A copy of another length
// is skipped (and logged).
func (g *Gateway) openPart(ctx context.Context, c *client.Client, rec *request, m *fileMeta, off, n int64) (*client.Reader, error) {
	if len(m.paths) == 0 {
		return nil, errNoCopy
	}
	paths := g.health.order(m.paths)
	for {
		rd, err := c.FileFromPaths(rec.key, paths, m.size).OpenRange(ctx, off, n)
		var fe *client.FetchError
		if errors.As(err, &fe) {
			g.health.failed(fe.Errs)
		}
		if err != nil {
			return nil, err
		}
		g.health.failed(rd.Failed())
		if rd.Size() < 0 || rd.Size() == m.size {
			rec.url = rd.URL()
			return rd, nil
		}
		// This copy's length differs from the tracker's: never serve
		// it (it is truncated, or another file).
		u := rd.URL()
		rd.Close()
		g.log.Warn("copy has the wrong length, skipping it", "domain", rec.domain, "key", rec.key,
			"fid", m.fid, "url", u, "length", rd.Size(), "expected", m.size)
		paths = slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == u })
		if len(paths) == 0 {
			return nil, fmt.Errorf("%w: every reachable copy has a length other than %d", errNoCopy, m.size)
		}
	}
}

// openFirst opens the first part to send before any header is written, so
// that a file no copy of which can be read is a clean 503. When the paths
// came from the cache and all fail, they are looked up afresh once (the
// file may have moved or been replaced).
func (g *Gateway) openFirst(ctx context.Context, c *client.Client, rec *request, k cache.Key, m *fileMeta, cached bool, off, n int64) (*fileMeta, *client.Reader, error) {
	rd, err := g.openPart(ctx, c, rec, m, off, n)
	if err == nil || !cached || ctx.Err() != nil {
		return m, rd, err
	}
	g.cache.Drop(k, m)
	m2, _, err2 := g.meta(ctx, c, k)
	if err2 != nil {
		return m, nil, err2
	}
	if m2.fid != m.fid || m2.size != m.size || m2.etag != m.etag {
		// Replaced meanwhile: the plan no longer fits. Report the
		// first failure; the client's retry gets the new file.
		return m, nil, err
	}
	rec.fid = m2.fid
	rd, err = g.openPart(ctx, c, rec, m2, off, n)
	return m2, rd, err
}

// stream answers a GET with the file's content (200 or 206).
func (g *Gateway) stream(rec *request, c *client.Client, k cache.Key, m *fileMeta, cached bool, p plan) {
	ctx := rec.ctx()
	if len(p.ranges) > 1 {
		g.streamMultipart(rec, c, k, m, cached, p)
		return
	}
	off, n := int64(0), m.size
	if len(p.ranges) == 1 {
		off, n = p.ranges[0].start, p.ranges[0].length
	}
	var rd *client.Reader
	if n > 0 {
		var err error
		if m, rd, err = g.openFirst(ctx, c, rec, k, m, cached, off, n); err != nil {
			g.fail(rec, err)
			return
		}
		defer rd.Close()
	}
	if p.status == http.StatusPartialContent {
		rec.rp.contentRange = p.ranges[0].contentRange(m.size)
	}
	w := rec.rp.stream(p.status, n)
	if rd != nil {
		g.copyBody(w, rec, rd, n)
	}
}

// copyBody copies n bytes of rd to w with a pooled buffer. Once headers
// are out, a failure can only abort the connection (the server closes a
// connection whose body ended short), so that the client sees a
// truncated transfer rather than a short file.
func (g *Gateway) copyBody(w io.Writer, rec *request, rd *client.Reader, n int64) {
	bp := g.bufs.Get().(*[]byte)
	defer g.bufs.Put(bp)
	buf := *bp
	var done int64
	for done < n {
		want := int64(len(buf))
		if n-done < want {
			want = n - done
		}
		k, rerr := rd.Read(buf[:want])
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				// The client went away: nothing to report to it.
				return
			}
			done += int64(k)
		}
		if rerr != nil {
			if rerr == io.EOF && done == n {
				break
			}
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			var fe *client.FetchError
			if errors.As(rerr, &fe) {
				g.health.failed(fe.Errs)
			}
			rec.err = fmt.Errorf("after %d of %d bytes: %w", done, n, rerr)
			return
		}
	}
	g.health.failed(rd.Failed())
	if u := rd.URL(); u != "" {
		rec.url = u
	}
}

// streamMultipart answers a GET with several ranges as
// multipart/byteranges, as ServeContent does.
func (g *Gateway) streamMultipart(rec *request, c *client.Client, k cache.Key, m *fileMeta, cached bool, p plan) {
	ctx := rec.ctx()
	rp := &rec.rp
	ctype := rp.ctype
	m, first, err := g.openFirst(ctx, c, rec, k, m, cached, p.ranges[0].start, p.ranges[0].length)
	if err != nil {
		g.fail(rec, err)
		return
	}
	defer func() {
		if first != nil {
			first.Close()
		}
	}()
	boundary := multipart.NewWriter(io.Discard).Boundary()
	size := multipartSize(p.ranges, ctype, m.size, boundary)
	rp.ctype = "multipart/byteranges; boundary=" + boundary
	w := rp.stream(http.StatusPartialContent, size)
	mw := multipart.NewWriter(w)
	mw.SetBoundary(boundary)
	for i, ra := range p.ranges {
		pw, err := mw.CreatePart(partHeader(ra, ctype, m.size))
		if err != nil {
			return
		}
		rd := first
		first = nil
		if i > 0 {
			if rd, err = g.openPart(ctx, c, rec, m, ra.start, ra.length); err != nil {
				rec.err = fmt.Errorf("range %d-%d: %w", ra.start, ra.start+ra.length-1, err)
				return
			}
		}
		failed := func() bool {
			defer rd.Close()
			before := rec.rp.n
			g.copyBody(pw, rec, rd, ra.length)
			return rec.err != nil || rec.rp.n-before < ra.length
		}()
		if failed {
			return
		}
	}
	mw.Close()
}

func partHeader(ra byteRange, ctype string, size int64) textproto.MIMEHeader {
	return textproto.MIMEHeader{
		"Content-Range": {ra.contentRange(size)},
		"Content-Type":  {ctype},
	}
}

// multipartSize is the length of the multipart body for ranges.
func multipartSize(ranges []byteRange, ctype string, size int64, boundary string) int64 {
	var cw countWriter
	mw := multipart.NewWriter(&cw)
	mw.SetBoundary(boundary)
	var n int64
	for _, ra := range ranges {
		mw.CreatePart(partHeader(ra, ctype, size))
		n += ra.length
	}
	mw.Close()
	return n + int64(cw)
}

type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) {
	*w += countWriter(len(p))
	return len(p), nil
}

// serveHead answers a HEAD: the headers a GET would have, after checking
// with a HEAD that a copy can be read (else 503, as the GET would).
func (g *Gateway) serveHead(rec *request, c *client.Client, k cache.Key, m *fileMeta, cached bool, p plan) {
	ctx := rec.ctx()
	probe := func(m *fileMeta) error {
		if len(m.paths) == 0 {
			return errNoCopy
		}
		size, err := c.FileFromPaths(rec.key, g.health.order(m.paths), -1).Size(ctx)
		var fe *client.FetchError
		if errors.As(err, &fe) {
			g.health.failed(fe.Errs)
		}
		if err == nil && size != m.size {
			err = fmt.Errorf("%w: a copy has %d bytes, the tracker says %d", errNoCopy, size, m.size)
		}
		return err
	}
	err := probe(m)
	if err != nil && cached {
		g.cache.Drop(k, m)
		var m2 *fileMeta
		if m2, _, err = g.meta(ctx, c, k); err == nil {
			if m2.fid != m.fid || m2.size != m.size {
				err = fmt.Errorf("%w: the file changed meanwhile", errNoCopy)
			} else {
				err = probe(m2)
			}
		}
	}
	if err != nil {
		g.fail(rec, err)
		return
	}
	rp := &rec.rp
	switch {
	case len(p.ranges) > 1:
		boundary := multipart.NewWriter(io.Discard).Boundary()
		n := multipartSize(p.ranges, rp.ctype, m.size, boundary)
		rp.ctype = "multipart/byteranges; boundary=" + boundary
		rp.stream(p.status, n)
	case len(p.ranges) == 1:
		rp.contentRange = p.ranges[0].contentRange(m.size)
		rp.stream(p.status, p.ranges[0].length)
	default:
		rp.stream(p.status, m.size)
	}
}
