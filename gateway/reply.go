package gateway

import (
	"io"
	"net/http"
	"strconv"
)

// responder sends one answer; *httpd.ResponseWriter is the real one.
type responder interface {
	Header(name, value string)
	Respond(status int, body []byte) error
	Stream(status int, n int64) (io.Writer, error)
	CloseAfter()
}

// reply collects the header fields of an answer until it is sent (some
// are decided early and dropped later: an error answer carries no ETag),
// and records what was sent, for the log line and the metrics.
type reply struct {
	out responder

	ctype        string
	etag         string
	acceptRanges bool
	contentRange string
	extra        []string // more fields: name, value, name, value...

	head bool  // answering a HEAD: no body is sent
	code int   // status sent (0: none yet)
	n    int64 // body bytes written
	// gone: writing the answer failed (the client went away).
	gone bool
	// count, if set, is told when a whole answer is about to be sent.
	count counter
}

// counter counts a request in the metrics once.
type counter interface{ count() }

// set adds a header field.
func (rp *reply) set(name, value string) { rp.extra = append(rp.extra, name, value) }

func (rp *reply) writeHeader() {
	if rp.ctype != "" {
		rp.out.Header("Content-Type", rp.ctype)
	}
	if rp.acceptRanges {
		rp.out.Header("Accept-Ranges", "bytes")
	}
	if rp.etag != "" {
		rp.out.Header("ETag", rp.etag)
	}
	if rp.contentRange != "" {
		rp.out.Header("Content-Range", rp.contentRange)
	}
	for i := 0; i+1 < len(rp.extra); i += 2 {
		rp.out.Header(rp.extra[i], rp.extra[i+1])
	}
}

// send answers status with body (its length is the Content-Length; a
// HEAD gets the head only).
//
// The request is counted in the metrics just before: an answer written
// at once is complete when the client reads it, and so are the metrics.
func (rp *reply) send(status int, body []byte) {
	rp.writeHeader()
	rp.code = status
	if !rp.head && status != http.StatusNoContent && status != http.StatusNotModified {
		rp.n = int64(len(body))
	}
	if rp.count != nil {
		rp.count.count()
	}
	if err := rp.out.Respond(status, body); err != nil {
		rp.gone = true
		rp.n = 0
	}
}

// stream starts an answer of status whose body of n bytes is written to
// the writer returned (discarded for HEAD). A body that ends short
// aborts the connection.
func (rp *reply) stream(status int, n int64) io.Writer {
	rp.writeHeader()
	rp.code = status
	w, err := rp.out.Stream(status, n)
	if err != nil {
		rp.gone = true
		return io.Discard
	}
	return &countingWriter{w: w, rp: rp}
}

// countingWriter counts the body bytes written and notes a failed write.
type countingWriter struct {
	w  io.Writer
	rp *reply
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.rp.n += int64(n)
	if err != nil && c.rp.n == 0 {
		c.rp.gone = true
	}
	return n, err
}

// status is the status to report: 499 (nginx's "client closed request")
// when the answer could not be written at all.
func (rp *reply) status() int {
	switch {
	case rp.gone && rp.n == 0:
		return statusClientGone
	case rp.code == 0:
		return 200
	}
	return rp.code
}

// textError writes a short plain-text error body: the status line and,
// if given, a reason.
func textError(rp *reply, status int, reason string) {
	rp.etag = ""
	rp.acceptRanges = false
	rp.ctype = "text/plain; charset=utf-8"
	rp.set("X-Content-Type-Options", "nosniff")
	msg := strconv.Itoa(status) + " " + http.StatusText(status)
	if reason != "" {
		msg += ": " + reason
	}
	rp.send(status, []byte(msg+"\n"))
}
