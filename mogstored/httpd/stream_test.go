package httpd

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// streamHandler streams /<n>/<written>: a body announced as n bytes, of
// which the handler writes the given number in 1000-byte pieces.
func streamHandler(w *ResponseWriter, r *Request) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	n, _ := strconv.ParseInt(parts[0], 10, 64)
	written, _ := strconv.ParseInt(parts[1], 10, 64)
	w.Header("X-Header-Bytes", strconv.Itoa(r.HeaderBytes()))
	body, err := w.Stream(200, n)
	if err != nil {
		panic(err)
	}
	if _, err := w.Stream(200, n); err == nil {
		panic("second Stream accepted")
	}
	data := pattern(int(written))
	for len(data) > 0 {
		k := min(1000, len(data))
		if _, err := body.Write(data[:k]); err != nil {
			w.Header("X-Never", "sent") // the head is out: ignored
			return
		}
		data = data[k:]
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func TestStream(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(streamHandler)})
	c, br := dial(t, addr)

	// Complete bodies keep the connection: a large one, an empty one,
	// and a HEAD (head only, with the announced length).
	io.WriteString(c, "GET /100000/100000 HTTP/1.1\r\nHost: h\r\nX-A: bc\r\n\r\n"+
		"GET /0/0 HTTP/1.1\r\n\r\n"+
		"HEAD /5000/5000 HTTP/1.1\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || resp.ContentLength != 100000 || body != string(pattern(100000)) || resp.Close {
		t.Fatalf("full stream: %d, length %d, %d bytes, close %v", resp.StatusCode, resp.ContentLength, len(body), resp.Close)
	}
	// "Host: h\r\n" and "X-A: bc\r\n".
	if got := resp.Header.Get("X-Header-Bytes"); got != "18" {
		t.Errorf("HeaderBytes = %s, want 18", got)
	}
	if resp, body = readResponse(t, br, "GET"); resp.ContentLength != 0 || body != "" || resp.Close {
		t.Fatalf("empty stream: length %d, %q, close %v", resp.ContentLength, body, resp.Close)
	}
	if resp, body = readResponse(t, br, "HEAD"); resp.ContentLength != 5000 || body != "" || resp.Close {
		t.Fatalf("HEAD stream: length %d, %q, close %v", resp.ContentLength, body, resp.Close)
	}

	// A handler that stops short: the client gets what was written and
	// then the connection closes.
	io.WriteString(c, "GET /5000/2000 HTTP/1.1\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err == nil || !bytes.Equal(got, pattern(2000)) {
		t.Fatalf("short stream: %d bytes, err %v", len(got), err)
	}
	if !isClosed(t, c, br) {
		t.Fatal("connection open after a short body")
	}

	// Writing more than announced: the excess is refused, the announced
	// body is complete, the connection stays usable.
	c, br = dial(t, addr)
	io.WriteString(c, "GET /1500/3000 HTTP/1.1\r\n\r\nGET /10/10 HTTP/1.1\r\n\r\n")
	if resp, body = readResponse(t, br, "GET"); body != string(pattern(1500)) {
		t.Fatalf("long stream: %d bytes", len(body))
	}
	if resp, body = readResponse(t, br, "GET"); body != string(pattern(10)) {
		t.Fatalf("after the long stream: %d %q", resp.StatusCode, body)
	}
}
