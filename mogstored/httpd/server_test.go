package httpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer serves h on a real loopback listener until cleanup.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Logger == nil {
		s.Logger = testLogger(t)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return l.Addr().String()
}

// echoHandler answers with the method, path, query and body length it saw.
func echoHandler(w *ResponseWriter, r *Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		w.CloseAfter()
		w.Respond(400, []byte("body error: "+err.Error()))
		return
	}
	w.Header("X-Method", r.Method)
	w.Respond(200, []byte(fmt.Sprintf("%s %s ?%s %d %s", r.Method, r.Path, r.RawQuery, n, r.Header("X-Test"))))
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// readResponse reads one response with the standard library's parser.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// isClosed reports whether the server closed the connection (EOF soon).
func isClosed(t *testing.T, c net.Conn, br *bufio.Reader) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := br.ReadByte()
	if err == nil {
		t.Fatal("unexpected data after the response")
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset")
}

func TestKeepAliveAndPipelining(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(echoHandler)})
	c, br := dial(t, addr)
	// Three pipelined requests, one with a body, in a single write.
	io.WriteString(c, "GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nX-Test: one\r\n\r\n"+
		"PUT /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"+
		"\r\nHEAD /h HTTP/1.1\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "GET /a b ?x=1 0 one" || resp.Header.Get("X-Method") != "GET" {
		t.Fatalf("first: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp.Header.Get("Date") == "" || resp.Close {
		t.Fatalf("first: Date %q, close %v", resp.Header.Get("Date"), resp.Close)
	}
	if _, body := readResponse(t, br, "PUT"); body != "PUT /p ? 5 " {
		t.Fatalf("second: %q", body)
	}
	resp, body = readResponse(t, br, "HEAD")
	if body != "" || resp.ContentLength != int64(len("HEAD /h ? 0 ")) {
		t.Fatalf("HEAD: body %q, length %d", body, resp.ContentLength)
	}
	// HTTP/1.0 keeps the connection only when asked.
	io.WriteString(c, "GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, _ = readResponse(t, br, "GET")
	if resp.Proto != "HTTP/1.0" || resp.Header.Get("Connection") != "keep-alive" {
		t.Fatalf("1.0 keep-alive: %s %v", resp.Proto, resp.Header)
	}
	io.WriteString(c, "GET /last HTTP/1.1\r\nConnection: close\r\n\r\n")
	resp, _ = readResponse(t, br, "GET")
	if !resp.Close {
		t.Fatal("Connection: close not honoured")
	}
	if !isClosed(t, c, br) {
		t.Fatal("connection still open after Connection: close")
	}
}

func TestBadRequests(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(echoHandler), MaxHeaderBytes: 1024})
	long := strings.Repeat("a", 2000)
	for _, tc := range []struct {
		name, req string
		code      int
	}{
		{"garbage", "hello\r\n\r\n", 400},
		{"no version", "GET /\r\n\r\n", 400},
		{"http2", "GET / HTTP/2.0\r\n\r\n", 505},
		{"relative target", "GET foo HTTP/1.1\r\n\r\n", 400},
		{"bad escape", "GET /%zz HTTP/1.1\r\n\r\n", 400},
		{"encoded NUL", "GET /a%00b HTTP/1.1\r\n\r\n", 400},
		{"long target", "GET /" + long + " HTTP/1.1\r\n\r\n", 414},
		{"large header", "GET / HTTP/1.1\r\nX-A: " + long + "\r\n\r\n", 431},
		{"many headers", "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: 0123456789\r\n", 80) + "\r\n", 431},
		{"folding", "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nX-A : a\r\n\r\n", 400},
		{"CL and TE", "PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"two CLs", "PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
		{"bad CL", "PUT / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400},
		{"gzip TE", "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"TE in 1.0", "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"expectation", "PUT / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417},
		{"control char", "GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := dial(t, addr)
			io.WriteString(c, tc.req)
			resp, _ := readResponse(t, br, "GET")
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if !resp.Close || !isClosed(t, c, br) {
				t.Fatal("connection not closed after a bad request")
			}
		})
	}
	// Duplicate but equal Content-Length values are one value.
	c, br := dial(t, addr)
	io.WriteString(c, "PUT /d HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nok")
	if resp, body := readResponse(t, br, "PUT"); resp.StatusCode != 200 || body != "PUT /d ? 2 " {
		t.Fatalf("equal CLs: %d %q", resp.StatusCode, body)
	}
}

func TestChunkedBody(t *testing.T) {
	var mu sync.Mutex
	var got []string
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		b, err := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, fmt.Sprintf("%d %q %v", r.ContentLength, b, err))
		mu.Unlock()
		if err != nil {
			w.Respond(400, nil)
			return
		}
		w.Respond(200, b)
	})})
	c, br := dial(t, addr)
	io.WriteString(c, "PUT /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"+
		"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"+
		"GET /after HTTP/1.1\r\n\r\n")
	if resp, body := readResponse(t, br, "PUT"); resp.StatusCode != 200 || body != "hello 0123456789" {
		t.Fatalf("chunked: %d %q", resp.StatusCode, body)
	}
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("request after chunked body: %d", resp.StatusCode)
	}
	for _, bad := range []string{"zz\r\n", "5\r\nhelloXX", "fffffffffffffffff\r\n"} {
		c, br := dial(t, addr)
		io.WriteString(c, "PUT /bad HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"+bad)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		if resp, _ := readResponse(t, br, "PUT"); resp.StatusCode != 400 {
			t.Fatalf("malformed chunk %q: status %d", bad, resp.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(got[0], `-1 "hello 0123456789" <nil>`) {
		t.Fatalf("handler saw %v", got)
	}
}

func TestExpectContinue(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		if r.Path == "/reject" {
			w.Respond(404, nil) // without reading: no 100 Continue, then close
			return
		}
		echoHandler(w, r)
	})})
	c, br := dial(t, addr)
	io.WriteString(c, "PUT /ok HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "abc")
	if _, body := readResponse(t, br, "PUT"); body != "PUT /ok ? 3 " {
		t.Fatalf("body %q", body)
	}
	io.WriteString(c, "PUT /reject HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	resp, _ := readResponse(t, br, "PUT")
	if resp.StatusCode != 404 || !resp.Close {
		t.Fatalf("reject: %d close=%v", resp.StatusCode, resp.Close)
	}
}

func TestUnreadBodyClosesConnection(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.Respond(403, nil)
	})})
	c, br := dial(t, addr)
	// The body looks like a request; it must never be served as one.
	io.WriteString(c, "PUT /x HTTP/1.1\r\nContent-Length: 24\r\n\r\nGET /smuggled HTTP/1.1\r\n")
	resp, _ := readResponse(t, br, "PUT")
	if resp.StatusCode != 403 || !resp.Close || !isClosed(t, c, br) {
		t.Fatalf("status %d, close %v", resp.StatusCode, resp.Close)
	}
}

// TestEarlyAnswerReachesClient: a client still sending a large body when
// the server refuses it must get the answer, not a reset connection.
func TestEarlyAnswerReachesClient(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.CloseAfter()
		w.Respond(507, []byte("no room"))
	})})
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	body := bytes.Repeat([]byte("x"), 4<<20)
	for i := range 20 {
		resp, err := hc.Post("http://"+addr+"/dev1/x.fid", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 507 {
			t.Fatalf("attempt %d: status %d", i, resp.StatusCode)
		}
	}
}

func TestTimeouts(t *testing.T) {
	bodyErr := make(chan error, 1)
	addr := startServer(t, &Server{
		HeaderTimeout: 300 * time.Millisecond, IdleTimeout: 400 * time.Millisecond,
		BodyTimeout: 300 * time.Millisecond,
		Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
			_, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				bodyErr <- err
				w.Respond(408, nil)
				return
			}
			w.Respond(200, nil)
		}),
	})
	t.Run("stalled head", func(t *testing.T) {
		c, br := dial(t, addr)
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nX-Slow: ")
		resp, _ := readResponse(t, br, "GET")
		if resp.StatusCode != 408 || time.Since(start) > 3*time.Second {
			t.Fatalf("status %d after %v", resp.StatusCode, time.Since(start))
		}
		if !isClosed(t, c, br) {
			t.Fatal("not closed")
		}
	})
	t.Run("idle", func(t *testing.T) {
		c, br := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
		readResponse(t, br, "GET")
		start := time.Now()
		if !isClosed(t, c, br) || time.Since(start) > 2*time.Second {
			t.Fatalf("idle connection not closed in time (%v)", time.Since(start))
		}
	})
	t.Run("stalled body", func(t *testing.T) {
		c, br := dial(t, addr)
		io.WriteString(c, "PUT / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly a part")
		resp, _ := readResponse(t, br, "PUT")
		if resp.StatusCode != 408 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if err := <-bodyErr; !IsTimeout(err) {
			t.Fatalf("handler got %v, want a timeout", err)
		}
	})
}

func TestRespondFile(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3<<20+17) // large enough for the sendfile path
	rand.Read(data)
	big := filepath.Join(dir, "big")
	os.WriteFile(big, data, 0o644)
	f, err := os.Open(big)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		parts := strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
		off, _ := strconv.ParseInt(parts[0], 10, 64)
		n, _ := strconv.ParseInt(parts[1], 10, 64)
		w.RespondFile(200, int(f.Fd()), off, n)
	})})
	c, br := dial(t, addr)
	for _, tc := range []struct{ off, n int64 }{{0, 100}, {5, smallBody}, {7, smallBody + 1},
		{0, int64(len(data))}, {1 << 20, 2 << 20}} {
		fmt.Fprintf(c, "GET /%d/%d HTTP/1.1\r\n\r\n", tc.off, tc.n)
		resp, body := readResponse(t, br, "GET")
		if resp.ContentLength != tc.n || body != string(data[tc.off:tc.off+tc.n]) {
			t.Fatalf("off %d n %d: length %d, body matches %v", tc.off, tc.n, resp.ContentLength,
				body == string(data[tc.off:tc.off+tc.n]))
		}
	}
	fmt.Fprintf(c, "HEAD /0/%d HTTP/1.1\r\n\r\n", len(data))
	if resp, body := readResponse(t, br, "HEAD"); resp.ContentLength != int64(len(data)) || body != "" {
		t.Fatalf("HEAD: %d %q", resp.ContentLength, body)
	}
	// A file shorter than promised: the client gets what there is and
	// the connection is closed.
	fmt.Fprintf(c, "GET /%d/100 HTTP/1.1\r\n\r\n", len(data)-10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err == nil || len(b) != 10 {
		t.Fatalf("short file: %d bytes, %v", len(b), err)
	}
}

func TestMaxConns(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	addr := startServer(t, &Server{MaxConns: 1, Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		entered <- struct{}{}
		<-release
		w.Respond(200, nil)
	})})
	c1, br1 := dial(t, addr)
	io.WriteString(c1, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
	<-entered
	c2, br2 := dial(t, addr) // accepted by the kernel, not yet served
	io.WriteString(c2, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
	select {
	case <-entered:
		t.Fatal("second connection served beyond MaxConns")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	readResponse(t, br1, "GET")
	<-entered
	readResponse(t, br2, "GET")
}

func TestShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Logger: testLogger(t), Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		if r.Path == "/slow" {
			close(entered)
			<-release
		}
		w.Respond(200, []byte("done"))
	})}
	addr := startServer(t, s)
	idle, idleBR := dial(t, addr)
	io.WriteString(idle, "GET / HTTP/1.1\r\n\r\n")
	readResponse(t, idleBR, "GET")
	busy, busyBR := dial(t, addr)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\n\r\n")
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	if !isClosed(t, idle, idleBR) {
		t.Fatal("idle connection not closed by Shutdown")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
	close(release)
	resp, body := readResponse(t, busyBR, "GET")
	if body != "done" || !resp.Close {
		t.Fatalf("in-flight request: %q close=%v", body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

func TestHandlerPanic(t *testing.T) {
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		panic("boom")
	})})
	c, br := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 500 || !resp.Close {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestOnRespond: the status reaches OnRespond before the client can read
// the response, for every way of answering (the server's own 500 for a
// handler that answered nothing included), and a request the server could
// not parse never reaches it.
func TestOnRespond(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, bytes.Repeat([]byte("x"), smallBody+1), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	var mu sync.Mutex
	var seen []string
	addr := startServer(t, &Server{Handler: HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.OnRespond(func(r *Request, status int) {
			// Slow, so that a call made after the response had left
			// would be seen late by the client's check below.
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			seen = append(seen, r.Method+" "+r.Path+" "+strconv.Itoa(status))
			mu.Unlock()
		})
		switch r.Path {
		case "/respond":
			w.Respond(404, []byte("no"))
		case "/file":
			w.RespondFile(200, int(fd.Fd()), 0, smallBody+1) // the sendfile path
		case "/stream":
			body, _ := w.Stream(200, 3)
			io.WriteString(body, "abc")
		case "/nothing":
		}
	})})
	c, br := dial(t, addr)
	for i, tc := range []struct{ method, path, want string }{
		{"GET", "/respond", "GET /respond 404"},
		{"GET", "/file", "GET /file 200"},
		{"HEAD", "/file", "HEAD /file 200"},
		{"GET", "/stream", "GET /stream 200"},
		{"PUT", "/nothing", "PUT /nothing 500"},
	} {
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nContent-Length: 0\r\n\r\n", tc.method, tc.path)
		readResponse(t, br, tc.method)
		mu.Lock()
		got := append([]string(nil), seen...)
		mu.Unlock()
		if len(got) != i+1 || got[i] != tc.want {
			t.Fatalf("after %s %s: OnRespond saw %q, want it to end with %q", tc.method, tc.path, got, tc.want)
		}
		if tc.path == "/nothing" { // answered 500 and closed
			c, br = dial(t, addr)
		}
	}
	fmt.Fprintf(c, "GET /respond HTTP/1.1\r\nBad Header Without Colon\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != 400 {
		t.Fatalf("malformed request: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 5 {
		t.Fatalf("a request the server could not parse reached OnRespond: %q", seen)
	}
}
