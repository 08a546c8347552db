package httpd

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzReadRequest feeds arbitrary bytes to the request parser over an
// in-memory connection: it must never panic, and whatever it accepts must
// be self-consistent.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\n\r\n",
		"PUT /dev1/0/000/000/0000000001.fid HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
		"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET http://h:1/a%2Fb?q HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"\r\n\r\nHEAD /x HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n",
		"PUT / HTTP/1.1\r\nContent-Length: 1, 1\r\nExpect: 100-continue\r\n\r\nx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		client, server := net.Pipe()
		defer client.Close()
		defer server.Close()
		go func() {
			io.Copy(io.Discard, client) // swallow a 100 Continue
		}()
		go func() {
			client.Write([]byte(in))
			client.Close()
		}()
		s := &Server{MaxHeaderBytes: 4096, HeaderTimeout: time.Second, IdleTimeout: time.Second,
			BodyTimeout: 200 * time.Millisecond, WriteTimeout: 100 * time.Millisecond}
		s.init()
		c := &conn{srv: s, rwc: server, remote: server.RemoteAddr(), br: bufio.NewReaderSize(server, 4096), req: &Request{}}
		r := c.req
		err := c.readRequest(r)
		if err != nil {
			var se *statusError
			if errors.As(err, &se) && (se.code < 400 || se.code > 505) {
				t.Fatalf("status %d", se.code)
			}
			return
		}
		if r.Method == "" || r.Target == "" || (r.Path != "*" && !strings.HasPrefix(r.Path, "/")) {
			t.Fatalf("accepted %q: method %q target %q path %q", in, r.Method, r.Target, r.Path)
		}
		if strings.IndexByte(r.Path, 0) >= 0 {
			t.Fatalf("NUL in path %q", r.Path)
		}
		c.req = r
		n, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		if err == nil && !r.chunked && n != r.ContentLength {
			t.Fatalf("body %d bytes, Content-Length %d", n, r.ContentLength)
		}
	})
}
