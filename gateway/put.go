package gateway

import (
	"io"
	"net/http"
	"strconv"
)

// HeaderClass names the class of a PUT.
const HeaderClass = "X-MogileFS-Class"

// servePut stores the request body under the key.
func (g *Gateway) servePut(w http.ResponseWriter, r *http.Request, rec *request) {
	class := r.Header.Get(HeaderClass)
	if class == "" {
		class = r.URL.Query().Get("class")
	}
	if class == "" {
		class = g.cfg.DefaultClass
	}
	if class == "default" {
		class = ""
	}
	k := cacheKey{rec.domain, rec.key}
	body := &bodyReader{r: r.Body}
	size := r.ContentLength // -1 when chunked
	g.cache.forget(k)
	n, err := g.client(rec.domain).Store(r.Context(), rec.key, class, body, size)
	g.cache.forget(k)
	if body.err != nil {
		err = &errBody{err: body.err}
	}
	if err != nil {
		closeAfter(w, r)
		g.fail(w, rec, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.Header().Set("X-MogileFS-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusCreated)
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
func (g *Gateway) serveDelete(w http.ResponseWriter, r *http.Request, rec *request) {
	k := cacheKey{rec.domain, rec.key}
	g.cache.forget(k)
	err := g.client(rec.domain).Delete(r.Context(), rec.key)
	g.cache.forget(k)
	if err != nil {
		g.fail(w, rec, err) // unknown_key: 404
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
