package nodeclient_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
)

// TestSizeKeepAlive: HEADs reuse one connection, and a connection the
// node closed while it sat idle is replaced without an error.
func TestSizeKeepAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "HEAD" {
			t.Errorf("method %s", r.Method)
		}
		w.Header().Set("Content-Length", "1234")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := nodeclient.New(nodeclient.Options{NodeTimeout: 5 * time.Second})
	defer c.Close()
	ctx := context.Background()
	for range 50 {
		if n, err := c.Size(ctx, srv.URL+"/dev1/0/000/000/0000000001.fid"); err != nil || n != 1234 {
			t.Fatalf("Size: %d %v", n, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 50 sequential HEADs", n)
	}
	srv.CloseClientConnections()
	if n, err := c.Size(ctx, srv.URL+"/dev1/x.fid"); err != nil || n != 1234 {
		t.Fatalf("Size after the node closed the idle connection: %d %v", n, err)
	}
}

// fakeNode answers every request on a connection with reply (the raw
// response head), then leaves the connection open.
func fakeNode(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						if reply == "" {
							continue // never answers
						}
						if _, err := nc.Write([]byte(reply)); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestSizeReplies(t *testing.T) {
	c := nodeclient.New(nodeclient.Options{NodeTimeout: time.Second})
	defer c.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name, reply string
		want        int64
		err         string // "" for none, "missing" for ErrMissing
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", 42, ""},
		{"http/1.0 close", "HTTP/1.0 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n", 7, ""},
		{"lowercase header", "HTTP/1.1 200 OK\r\ncontent-length:  9 \r\n\r\n", 9, ""},
		{"missing", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", -1, "missing"},
		{"server error", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 0, "500"},
		{"lighttpd empty file", "HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.35\r\n\r\n", 0, ""},
		{"no length", "HTTP/1.1 200 OK\r\nServer: other\r\n\r\n", 0, "no Content-Length"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", 0, "Content-Length"},
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", 0, "nodeclient"},
		{"silent", "", 0, "nodeclient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := fakeNode(t, tc.reply) + "/dev1/0/000/000/0000000001.fid"
			for range 3 { // fresh, then pooled connections
				start := time.Now()
				n, err := c.Size(ctx, url)
				switch {
				case tc.err == "" && (err != nil || n != tc.want):
					t.Fatalf("Size = %d, %v; want %d", n, err, tc.want)
				case tc.err == "missing" && (!errors.Is(err, nodeclient.ErrMissing) || n != -1):
					t.Fatalf("Size = %d, %v; want ErrMissing", n, err)
				case tc.err != "" && tc.err != "missing" && (err == nil || !strings.Contains(err.Error(), tc.err)):
					t.Fatalf("Size = %d, %v; want an error with %q", n, err, tc.err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("Size took %v with a 1 s node timeout", d)
				}
			}
		})
	}
}

// TestSizeCancel: a cancelled context ends a HEAD the node does not
// answer, before the node timeout.
func TestSizeCancel(t *testing.T) {
	c := nodeclient.New(nodeclient.Options{NodeTimeout: time.Minute})
	defer c.Close()
	url := fakeNode(t, "") + "/dev1/x.fid"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Size(ctx, url)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Size after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Size did not return after its context was cancelled")
	}
}
