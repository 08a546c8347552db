package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mogilefs-go/mogilefs/gateway/cache"
)

// HeaderClass names the class of a PUT.
const HeaderClass = "X-MogileFS-Class"

// servePut stores the request body under the key.
func (g *Gateway) servePut(rec *request) {
	r, rp := rec.r, &rec.rp
	class := r.Header(HeaderClass)
	if class == "" && r.RawQuery != "" {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			rec.err = fmt.Errorf("query: %w", err)
			closeAfter(rp, r)
			textError(rp, http.StatusBadRequest, "malformed query")
			return
		}
		class = q.Get("class")
	}
	if class == "" {
		class = g.cfg.DefaultClass
	}
	if class == "default" {
		class = ""
	}
	k := cache.Key{Domain: rec.domain, Key: rec.key}
	body := &bodyReader{r: r.Body}
	size := r.ContentLength // -1 when chunked
	g.cache.Forget(k)
	n, err := g.client(rec.domain).Store(rec.ctx(), rec.key, class, body, size)
	g.cache.Forget(k)
	if body.err != nil {
		err = &errBody{err: body.err}
	}
	if err != nil {
		closeAfter(rp, r)
		g.fail(rec, err)
		return
	}
	rp.set("X-MogileFS-Length", strconv.FormatInt(n, 10))
	rp.send(http.StatusCreated, nil)
}

// bodyReader remembers a failure to read the request body, so that it is
// not mistaken for a storage node's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// serveDelete deletes the key: 204, or 404 if there is no such key.
func (g *Gateway) serveDelete(rec *request) {
	k := cache.Key{Domain: rec.domain, Key: rec.key}
	g.cache.Forget(k)
	err := g.client(rec.domain).Delete(rec.ctx(), rec.key)
	g.cache.Forget(k)
	if err != nil {
		closeAfter(&rec.rp, rec.r)
		g.fail(rec, err) // unknown_key: 404
		return
	}
	closeAfter(&rec.rp, rec.r)
	rec.rp.send(http.StatusNoContent, nil)
}
