package httpd

import (
	"errors"
	"io"
	"net"
)

// ErrBodyTooLong is returned by a Stream writer asked to write more than
// the length announced.
var ErrBodyTooLong = errors.New("httpd: response body longer than announced")

// streamBody is the writer Stream returns; it lives in the ResponseWriter
// so that starting a stream allocates nothing.
type streamBody struct{ w *ResponseWriter }

// Stream starts a response of status whose body is exactly n bytes, which
// the handler writes to the returned writer (n is sent as
// Content-Length). The head leaves with the first write, in the same
// system call, or when the handler returns if it writes nothing. For a
// HEAD request or a status without a body only the head is sent and
// writes are discarded. If the handler returns before n bytes were
// written, or a write fails, the connection is closed after what was
// sent, so the client sees a truncated body, never a wrong one.
func (w *ResponseWriter) Stream(status int, n int64) (io.Writer, error) {
	if w.wrote {
		return nil, errWrittenTwice
	}
	if n < 0 {
		return nil, errors.New("httpd: negative body length")
	}
	w.wrote, w.status = true, status
	w.responding()
	w.streaming, w.want = true, n
	w.discard = w.req.Method == "HEAD" || bodyless(status)
	w.head = w.appendHead(w.head[:0], status, n)
	w.headOut = false
	w.body.w = w
	return &w.body, nil
}

func (b *streamBody) Write(p []byte) (int, error) {
	w := b.w
	if w.err != nil {
		return 0, w.err
	}
	if w.discard {
		if err := w.flushHead(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	var tooLong error
	if left := w.want - w.sent; int64(len(p)) > left {
		p, tooLong = p[:left], ErrBodyTooLong
	}
	if len(p) == 0 {
		if err := w.flushHead(); err != nil {
			return 0, err
		}
		return 0, tooLong
	}
	if err := w.c.setWriteDeadline(w.c.srv.writeTimeout()); err != nil {
		w.close, w.err = true, err
		return 0, err
	}
	var m int
	var err error
	if !w.headOut {
		w.headOut = true
		bufs := net.Buffers{w.head, p}
		var k int64
		k, err = bufs.WriteTo(w.c.rwc)
		m = max(int(k)-len(w.head), 0)
	} else {
		m, err = w.c.rwc.Write(p)
	}
	w.sent += int64(m)
	if err != nil {
		w.close, w.err = true, err
		return m, err
	}
	return m, tooLong
}

// flushHead sends the head of a stream if it has not left yet.
func (w *ResponseWriter) flushHead() error {
	if w.headOut {
		return w.err
	}
	w.headOut = true
	return w.write(w.head)
}

// finishStream completes a stream after the handler returned: the head
// goes out if it has not, and a body shorter than announced closes the
// connection.
func (w *ResponseWriter) finishStream() {
	if !w.streaming {
		return
	}
	if err := w.flushHead(); err != nil {
		return
	}
	if !w.discard && w.sent < w.want {
		w.close = true
	}
}

// HeaderBytes returns the size of the request's header fields as
// "name: value\r\n" lines (the request line not included).
func (r *Request) HeaderBytes() int {
	n := 0
	for _, f := range r.fields {
		n += f.ve - f.ns + 2
	}
	return n
}
