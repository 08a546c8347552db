package httpd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Request is one parsed request. It and its Body are valid only until the
// handler returns.
type Request struct {
	Method     string // e.g. "GET"; well-known methods are not allocated
	Target     string // the request-target as sent
	Path       string // Target's path, percent-decoded, without the query
	RawQuery   string // after "?", not decoded
	ProtoMinor int    // 0 for HTTP/1.0, 1 for HTTP/1.1
	// ContentLength is the body length; -1 for a chunked body.
	ContentLength int64
	// Body reads the request body; it returns io.EOF at its end. A body
	// that stops arriving for BodyTimeout fails with an error for which
	// IsTimeout is true; one cut short fails with io.ErrUnexpectedEOF.
	Body       io.Reader
	RemoteAddr net.Addr

	c         *conn
	hdr       []byte  // request line and header lines, as read
	fields    []field // offsets into hdr
	keepAlive bool
	expect100 bool
	chunked   bool
	fixed     fixedBody
	chunk     chunkedBody
}

type field struct{ ns, ne, vs, ve int }

// Header returns the value of the first header field called name (case
// does not matter), or "".
func (r *Request) Header(name string) string {
	for _, f := range r.fields {
		if f.ne-f.ns == len(name) && asciiEqualFold(r.hdr[f.ns:f.ne], name) {
			return string(r.hdr[f.vs:f.ve])
		}
	}
	return ""
}

// HeaderValues returns the values of all header fields called name.
func (r *Request) HeaderValues(name string) []string {
	var out []string
	for _, f := range r.fields {
		if f.ne-f.ns == len(name) && asciiEqualFold(r.hdr[f.ns:f.ne], name) {
			out = append(out, string(r.hdr[f.vs:f.ve]))
		}
	}
	return out
}

// BodyDone reports whether the whole body has been read (always true for
// a request without a body).
func (r *Request) BodyDone() bool {
	if r.chunked {
		return r.chunk.done
	}
	return r.fixed.remain == 0
}

func asciiEqualFold(b []byte, s string) bool {
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// statusError is a request the server answers itself, then closes the
// connection.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func badRequest(msg string) error { return &statusError{400, msg} }

var (
	errHeaderTooLarge = &statusError{431, "request header fields too large"}
	errURITooLong     = &statusError{414, "request-target too long"}
)

var methods = []string{"GET", "HEAD", "PUT", "DELETE", "MKCOL", "POST", "OPTIONS", "MOVE", "COPY"}

func internMethod(b []byte) string {
	for _, m := range methods {
		if string(b) == m {
			return m
		}
	}
	return string(b)
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// readLine appends the next line (without its line end) to r.hdr and
// returns its start offset. It counts bytes against max.
func (c *conn) readLine(r *Request, max int, tooLong error) (int, error) {
	start := len(r.hdr)
	for {
		b, err := c.br.ReadSlice('\n')
		if len(r.hdr)-start+len(b) > max {
			return 0, tooLong
		}
		r.hdr = append(r.hdr, b...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(r.hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	n := len(r.hdr) - 1 // at the '\n'
	if n > start && r.hdr[n-1] == '\r' {
		n--
	}
	r.hdr = r.hdr[:n]
	return start, nil
}

// readRequest reads and checks the next request head on the connection.
func (c *conn) readRequest(r *Request) error {
	s := c.srv
	*r = Request{c: c, hdr: r.hdr[:0], fields: r.fields[:0], RemoteAddr: c.remote}
	if err := c.setReadDeadline(s.idleTimeout()); err != nil {
		return err
	}
	if _, err := c.br.Peek(1); err != nil {
		return err
	}
	if !bytes.Contains(c.peekBuffered(), []byte("\r\n\r\n")) {
		if err := c.setReadDeadline(s.headerTimeout()); err != nil {
			return err
		}
	}
	max := s.maxHeaderBytes()
	// The request line; empty lines before it are skipped (RFC 9112 2.2).
	var start int
	for skipped := 0; ; skipped++ {
		var err error
		start, err = c.readLine(r, max, errURITooLong)
		if err != nil {
			return err
		}
		if len(r.hdr) > start || skipped >= 4 {
			break
		}
	}
	if err := r.parseRequestLine(r.hdr[start:]); err != nil {
		return err
	}
	used := len(r.hdr)
	for {
		ls, err := c.readLine(r, max-used, errHeaderTooLarge)
		if err != nil {
			return err
		}
		used += len(r.hdr) - ls + 2
		line := r.hdr[ls:]
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return badRequest("obsolete header line folding")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return badRequest("malformed header line")
		}
		for _, ch := range line[:colon] {
			if !isTokenChar(ch) {
				return badRequest("malformed header name")
			}
		}
		vs, ve := ls+colon+1, len(r.hdr)
		for vs < ve && (r.hdr[vs] == ' ' || r.hdr[vs] == '\t') {
			vs++
		}
		for ve > vs && (r.hdr[ve-1] == ' ' || r.hdr[ve-1] == '\t') {
			ve--
		}
		for _, ch := range r.hdr[vs:ve] {
			if ch < ' ' && ch != '\t' || ch == 0x7f {
				return badRequest("control character in header value")
			}
		}
		r.fields = append(r.fields, field{ls, ls + colon, vs, ve})
	}
	return r.parseFraming()
}

func (r *Request) parseRequestLine(line []byte) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return badRequest("malformed request line")
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return badRequest("malformed request line")
	}
	method, target, proto := line[:sp1], rest[:sp2], rest[sp2+1:]
	for _, ch := range method {
		if !isTokenChar(ch) {
			return badRequest("malformed method")
		}
	}
	for _, ch := range target {
		if ch <= ' ' || ch == 0x7f {
			return badRequest("malformed request-target")
		}
	}
	switch string(proto) {
	case "HTTP/1.1":
		r.ProtoMinor = 1
	case "HTTP/1.0":
		r.ProtoMinor = 0
	default:
		if len(proto) == 8 && bytes.HasPrefix(proto, []byte("HTTP/")) && proto[6] == '.' &&
			proto[5] >= '2' && proto[5] <= '9' {
			return &statusError{505, "HTTP version not supported"}
		}
		return badRequest("malformed HTTP version")
	}
	r.Method = internMethod(method)
	r.Target = string(target)
	return r.parseTarget()
}

func (r *Request) parseTarget() error {
	t := r.Target
	if t == "*" {
		r.Path = "*"
		return nil
	}
	if i := strings.Index(t, "://"); i > 0 && t[0] != '/' {
		// absolute-form: drop the scheme and authority.
		rest := t[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			rest = "/"
		} else {
			rest = rest[j:]
		}
		t = rest
	}
	if t == "" || t[0] != '/' {
		return badRequest("request-target must be an absolute path")
	}
	if i := strings.IndexByte(t, '?'); i >= 0 {
		t, r.RawQuery = t[:i], t[i+1:]
	}
	if i := strings.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	p, err := unescapePath(t)
	if err != nil {
		return badRequest(err.Error())
	}
	r.Path = p
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescapePath percent-decodes p. "+" stays a plus. An invalid escape or
// an encoded NUL is an error.
func unescapePath(p string) (string, error) {
	if strings.IndexByte(p, '%') < 0 {
		return p, nil
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b = append(b, p[i])
			continue
		}
		if i+2 >= len(p) {
			return "", errors.New("invalid percent escape in path")
		}
		h, ok1 := unhex(p[i+1])
		l, ok2 := unhex(p[i+2])
		if !ok1 || !ok2 {
			return "", errors.New("invalid percent escape in path")
		}
		ch := h<<4 | l
		if ch == 0 {
			return "", errors.New("NUL in path")
		}
		b = append(b, ch)
		i += 2
	}
	return string(b), nil
}

// parseFraming works out the body length and the connection's fate.
func (r *Request) parseFraming() error {
	var (
		cl     int64 = -1
		te     []byte
		nte    int
		close_ bool
		keep   bool
	)
	for _, f := range r.fields {
		name, val := r.hdr[f.ns:f.ne], r.hdr[f.vs:f.ve]
		switch {
		case len(name) == 14 && asciiEqualFold(name, "content-length"):
			for _, part := range bytes.Split(val, []byte(",")) {
				n, ok := parseContentLength(bytes.TrimSpace(part))
				if !ok {
					return badRequest("invalid Content-Length")
				}
				if cl >= 0 && n != cl {
					return badRequest("conflicting Content-Length values")
				}
				cl = n
			}
		case len(name) == 17 && asciiEqualFold(name, "transfer-encoding"):
			te = val
			nte++
		case len(name) == 10 && asciiEqualFold(name, "connection"):
			for _, tok := range bytes.Split(val, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				if len(tok) == 5 && asciiEqualFold(tok, "close") {
					close_ = true
				} else if len(tok) == 10 && asciiEqualFold(tok, "keep-alive") {
					keep = true
				}
			}
		case len(name) == 6 && asciiEqualFold(name, "expect"):
			if len(val) == 12 && asciiEqualFold(val, "100-continue") {
				r.expect100 = r.ProtoMinor >= 1
			} else {
				return &statusError{417, "unsupported expectation"}
			}
		}
	}
	if r.ProtoMinor >= 1 {
		r.keepAlive = !close_
	} else {
		r.keepAlive = keep && !close_
	}
	if nte > 0 {
		if cl >= 0 {
			return badRequest("both Content-Length and Transfer-Encoding")
		}
		if r.ProtoMinor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if nte > 1 || len(te) != 7 || !asciiEqualFold(te, "chunked") {
			return &statusError{501, "unsupported transfer coding"}
		}
		r.chunked = true
		r.ContentLength = -1
		r.chunk = chunkedBody{c: r.c}
		r.Body = &r.chunk
		return nil
	}
	if cl < 0 {
		cl = 0
	}
	r.ContentLength = cl
	r.fixed = fixedBody{c: r.c, remain: cl}
	r.Body = &r.fixed
	return nil
}

func parseContentLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	return n, true
}

// fixedBody reads a Content-Length body.
type fixedBody struct {
	c      *conn
	remain int64
	err    error
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remain == 0 {
		return 0, io.EOF
	}
	if err := b.c.beforeBodyRead(); err != nil {
		b.err = err
		return 0, err
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.br.Read(p)
	b.remain -= int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		b.err = err
		if n > 0 {
			return n, nil
		}
		return 0, err
	}
	return n, nil
}

// chunkedBody decodes a chunked body (RFC 9112 7.1). Chunk extensions are
// ignored, trailer fields are read and dropped.
type chunkedBody struct {
	c      *conn
	remain int64 // bytes left in the current chunk
	inData bool
	done   bool
	err    error
}

const maxChunkLine = 4096

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if err := b.c.beforeBodyRead(); err != nil {
		b.err = err
		return 0, err
	}
	if !b.inData {
		if err := b.nextChunk(); err != nil {
			b.err = err
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.br.Read(p)
	b.remain -= int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		b.err = err
		if n > 0 {
			return n, nil
		}
		return 0, err
	}
	if b.remain == 0 {
		if err := b.expectCRLF(); err != nil {
			b.err = err
			return n, nil
		}
		b.inData = false
	}
	return n, nil
}

var errBadChunk = errors.New("malformed chunked body")

func (b *chunkedBody) line() ([]byte, error) {
	l, err := b.c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) || len(l) > maxChunkLine {
			return nil, errBadChunk
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	l = l[:len(l)-1]
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return l, nil
}

func (b *chunkedBody) nextChunk() error {
	l, err := b.line()
	if err != nil {
		return err
	}
	if i := bytes.IndexByte(l, ';'); i >= 0 {
		l = l[:i]
	}
	l = bytes.TrimRight(l, " \t")
	if len(l) == 0 || len(l) > 15 {
		return errBadChunk
	}
	var n int64
	for _, ch := range l {
		v, ok := unhex(ch)
		if !ok {
			return errBadChunk
		}
		n = n<<4 | int64(v)
	}
	if n == 0 {
		// Trailer section, ended by an empty line.
		for total := 0; ; {
			t, err := b.line()
			if err != nil {
				return err
			}
			if len(t) == 0 {
				break
			}
			total += len(t) + 2
			if total > b.c.srv.maxHeaderBytes() {
				return errBadChunk
			}
		}
		b.done = true
		return nil
	}
	b.remain, b.inData = n, true
	return nil
}

func (b *chunkedBody) expectCRLF() error {
	l, err := b.line()
	if err != nil {
		return err
	}
	if len(l) != 0 {
		return errBadChunk
	}
	return nil
}

// IsTimeout reports whether err is a deadline expiry (a stalled client).
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ErrMalformedBody is returned by Body.Read for a broken chunked encoding.
var ErrMalformedBody = errBadChunk

func (c *conn) beforeBodyRead() error {
	r := c.req
	if r.expect100 && !c.sent100 {
		c.sent100 = true
		if err := c.setWriteDeadline(c.srv.writeTimeout()); err != nil {
			return err
		}
		if _, err := c.rwc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return err
		}
	}
	return c.setReadDeadline(c.srv.bodyTimeout())
}

func (c *conn) setReadDeadline(d time.Duration) error {
	if d <= 0 {
		return c.rwc.SetReadDeadline(time.Time{})
	}
	return c.rwc.SetReadDeadline(time.Now().Add(d))
}

func (c *conn) setWriteDeadline(d time.Duration) error {
	if d <= 0 {
		return c.rwc.SetWriteDeadline(time.Time{})
	}
	return c.rwc.SetWriteDeadline(time.Now().Add(d))
}
