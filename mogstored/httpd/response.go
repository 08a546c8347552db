package httpd

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"time"
)

// TimeFormat is the HTTP date format (RFC 9110 5.6.7, IMF-fixdate).
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// smallBody is the largest file body copied into the response buffer and
// sent with the head in one write; larger ones go out with sendfile.
const smallBody = 32 << 10

// sendChunk is how much a single sendfile call may send before the write
// deadline is extended.
const sendChunk = 8 << 20

// ResponseWriter builds and sends the response to one request. Add
// header fields first, then call exactly one of Respond, RespondFile or
// Stream.
type ResponseWriter struct {
	c      *conn
	req    *Request
	hdr    []byte
	status int
	wrote  bool
	close  bool
	err    error
	sent   int64

	// A Stream response.
	streaming bool
	discard   bool  // HEAD or bodyless status: writes are dropped
	headOut   bool  // the head has been sent
	want      int64 // announced body length
	head      []byte
	body      streamBody

	onRespond func(r *Request, status int)
}

func (w *ResponseWriter) reset(c *conn, r *Request) {
	*w = ResponseWriter{c: c, req: r, hdr: w.hdr[:0], head: w.head[:0]}
}

// Header adds a header field. Control characters in value are dropped.
func (w *ResponseWriter) Header(name, value string) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ':', ' ')
	for i := 0; i < len(value); i++ {
		if ch := value[i]; ch >= ' ' && ch != 0x7f || ch == '\t' {
			w.hdr = append(w.hdr, ch)
		}
	}
	w.hdr = append(w.hdr, '\r', '\n')
}

// HeaderInt adds a header field with a decimal value.
func (w *ResponseWriter) HeaderInt(name string, v int64) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ':', ' ')
	w.hdr = strconv.AppendInt(w.hdr, v, 10)
	w.hdr = append(w.hdr, '\r', '\n')
}

// HeaderTime adds a header field with an HTTP date.
func (w *ResponseWriter) HeaderTime(name string, t time.Time) {
	w.hdr = append(w.hdr, name...)
	w.hdr = append(w.hdr, ':', ' ')
	w.hdr = t.UTC().AppendFormat(w.hdr, TimeFormat)
	w.hdr = append(w.hdr, '\r', '\n')
}

// CloseAfter makes the server close the connection after this response.
func (w *ResponseWriter) CloseAfter() { w.close = true }

// Written reports whether a response has been sent (or attempted).
func (w *ResponseWriter) Written() bool { return w.wrote }

// Status returns the status code sent, or 0.
func (w *ResponseWriter) Status() int { return w.status }

// Sent returns the number of body bytes sent.
func (w *ResponseWriter) Sent() int64 { return w.sent }

var errWrittenTwice = errors.New("httpd: response already sent")

func bodyless(status int) bool { return status < 200 || status == 204 || status == 304 }

// appendHead appends the status line and header section for a body of
// length cl.
func (w *ResponseWriter) appendHead(out []byte, status int, cl int64) []byte {
	r := w.req
	if !r.keepAlive || !r.BodyDone() || w.c.srv.shuttingDown() {
		w.close = true
	}
	if r.ProtoMinor == 0 {
		out = append(out, "HTTP/1.0 "...)
	} else {
		out = append(out, "HTTP/1.1 "...)
	}
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, StatusText(status)...)
	out = append(out, "\r\nDate: "...)
	out = w.c.srv.appendDate(out)
	out = append(out, '\r', '\n')
	if !bodyless(status) {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, cl, 10)
		out = append(out, '\r', '\n')
	}
	if w.close {
		out = append(out, "Connection: close\r\n"...)
	} else if r.ProtoMinor == 0 {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, w.hdr...)
	return append(out, '\r', '\n')
}

// Respond sends status with body (Content-Length is its length; a HEAD
// request gets the head only; 204 and 304 never carry a body).
func (w *ResponseWriter) Respond(status int, body []byte) error {
	if w.wrote {
		return errWrittenTwice
	}
	w.wrote, w.status = true, status
	w.responding()
	bp := w.c.srv.bufs.Get().(*[]byte)
	defer w.c.srv.bufs.Put(bp)
	out := w.appendHead((*bp)[:0], status, int64(len(body)))
	if w.req.Method != "HEAD" && !bodyless(status) {
		out = append(out, body...)
		w.sent = int64(len(body))
	}
	*bp = out[:0]
	return w.write(out)
}

// RespondFile sends status with n bytes of the open file fd, starting at
// off, as the body. Small bodies are read with pread(2) and leave in the
// same write as the head; larger ones are sent with sendfile(2). If the
// file turns out shorter than promised, the connection is closed after
// what could be sent, so the client sees a short body, never a wrong one.
// fd stays open; the caller closes it.
func (w *ResponseWriter) RespondFile(status int, fd int, off, n int64) error {
	if w.wrote {
		return errWrittenTwice
	}
	w.wrote, w.status = true, status
	w.responding()
	bp := w.c.srv.bufs.Get().(*[]byte)
	defer w.c.srv.bufs.Put(bp)
	out := w.appendHead((*bp)[:0], status, n)
	if w.req.Method == "HEAD" || bodyless(status) || n == 0 {
		*bp = out[:0]
		return w.write(out)
	}
	if n <= smallBody {
		hl := len(out)
		if cap(out) < hl+int(n) {
			out = append(make([]byte, 0, hl+int(n)), out...)
		}
		out = out[:hl+int(n)]
		got, err := preadFull(fd, out[hl:], off)
		out = out[:hl+got]
		*bp = out[:0]
		w.sent = int64(got)
		if err == nil && int64(got) < n {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			w.close = true
		}
		if werr := w.write(out); werr != nil {
			return werr
		}
		if err != nil {
			return fmt.Errorf("read at %d: got %d of %d bytes: %w", off, got, n, err)
		}
		return nil
	}
	*bp = out[:0]
	if err := w.write(out); err != nil {
		return err
	}
	for left := n; left > 0; {
		chunk := min(left, sendChunk)
		if err := w.c.setWriteDeadline(w.c.srv.writeTimeout()); err != nil {
			w.close, w.err = true, err
			return err
		}
		m, err := sendFile(w.c.rwc, fd, off, chunk)
		w.sent += m
		off += m
		left -= m
		if err == nil && m < chunk {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			w.close, w.err = true, err
			return fmt.Errorf("send %d of %d bytes: %w", n-left, n, err)
		}
	}
	return nil
}

func preadFull(fd int, b []byte, off int64) (int, error) {
	got := 0
	for got < len(b) {
		m, err := syscall.Pread(fd, b[got:], off+int64(got))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return got, err
		}
		if m == 0 {
			break
		}
		got += m
	}
	return got, nil
}

// OnRespond sets f to be called once the response's status is fixed
// (by Respond, RespondFile or Stream, or by the server's 500 for a handler
// that panicked or answered nothing), before any byte of it is sent: what
// f counts is counted by the time the client can see the answer. It holds
// for the current request only.
func (w *ResponseWriter) OnRespond(f func(r *Request, status int)) { w.onRespond = f }

// responding calls the OnRespond function, if any.
func (w *ResponseWriter) responding() {
	if w.onRespond != nil {
		w.onRespond(w.req, w.status)
	}
}

func (w *ResponseWriter) write(b []byte) error {
	if err := w.c.setWriteDeadline(w.c.srv.writeTimeout()); err != nil {
		w.close, w.err = true, err
		return err
	}
	if _, err := w.c.rwc.Write(b); err != nil {
		w.close, w.err = true, err
		return err
	}
	return nil
}

type dateCache struct {
	sec int64
	b   []byte
}

// appendDate appends the current HTTP date, formatted once per second.
func (s *Server) appendDate(out []byte) []byte {
	now := time.Now()
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return append(out, d.b...)
	}
	d := &dateCache{sec: sec, b: now.UTC().AppendFormat(nil, TimeFormat)}
	s.date.Store(d)
	return append(out, d.b...)
}

// StatusText returns the reason phrase for code.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	case 507:
		return "Insufficient Storage"
	}
	return "Status " + strconv.Itoa(code)
}
