package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// logSink collects the gateway's log records, so that tests can wait for
// the line that ends a request (the event "the gateway finished with
// it").
type logSink struct {
	mu      sync.Mutex
	records []map[string]string
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *logSink) WithGroup(string) slog.Handler            { return s }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	s.mu.Lock()
	s.records = append(s.records, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

// wait returns the first record for which match is true, waiting for it
// up to timeout.
func (s *logSink) wait(t *testing.T, timeout time.Duration, match func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		for _, r := range s.records {
			if match(r) {
				s.mu.Unlock()
				return r
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no matching log line within %v; have %v", timeout, s.all())
			return nil
		}
	}
}

func (s *logSink) all() []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]string(nil), s.records...)
}

// testGateway is a gateway serving on a real 127.0.0.1 port.
type testGateway struct {
	*gateway.Gateway
	URL  string // http://127.0.0.1:port
	Addr string
	Log  *logSink
}

// startGateway runs a gateway for the cluster's tracker until the test
// ends.
func startGateway(t *testing.T, tracker string, cfg gateway.Config) *testGateway {
	t.Helper()
	sink := newLogSink()
	cfg.Trackers = []string{tracker}
	cfg.Logger = slog.New(sink)
	cfg.LogRequests = true
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		g.Close()
	})
	return &testGateway{Gateway: g, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Log: sink}
}

// httpClient is a plain client with its own connections.
func httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}, Timeout: 60 * time.Second}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := body.(*bytes.Reader); ok && b.Len() == 0 {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp{r.StatusCode, r.Header, b}
}

func (r resp) String() string {
	b := r.body
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%d %v %q", r.status, r.header, b)
}

// trackerClient is a library client for checking what the gateway did;
// it keeps no path cache, so it sees the key's current fid.
func trackerClient(t *testing.T, cl *mogtest.Cluster, domain string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Domain: domain, Trackers: []string{cl.Tracker.Addr}, PathCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// content returns n bytes of deterministic, key-specific data.
func content(key string, n int) []byte {
	b := make([]byte, n)
	x := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		x = (x ^ uint32(key[i])) * 16777619
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// secondCopy gives key a copy on a second device with the tracker's
// httpcopy command (an operator's tool that copies between storage
// nodes and records the copy), so that failover tests do not depend on
// the replication worker's timing; then it waits until the tracker
// reports both copies.
func secondCopy(t *testing.T, cl *mogtest.Cluster, c *client.Client, key string) {
	t.Helper()
	fi, err := c.FileInfo(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if fi.DevCount < 2 {
		src := fi.DevIDs[0]
		dst := 0
		for _, n := range cl.Nodes {
			for _, d := range n.DevIDs {
				if dst == 0 && d != src && !slices.Contains(fi.DevIDs, d) {
					dst = d
				}
			}
		}
		// A replication worker may have made the copy meanwhile:
		// then httpcopy fails, and waitCopies below still sees two.
		cl.Tracker.Conn(t).Do("httpcopy", map[string]string{
			"sdevid": strconv.Itoa(src), "ddevid": strconv.Itoa(dst), "fid": strconv.FormatInt(fi.FID, 10)})
	}
	waitCopies(t, c, key, 2)
}

// waitCopies waits until the tracker reports at least n copies of key.
func waitCopies(t *testing.T, c *client.Client, key string, n int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		fi, err := c.FileInfo(ctx, key)
		if err == nil && fi.DevCount >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: not %d copies after 60 s (%+v, %v)", key, n, fi, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clientPaths asks for up to 3 paths, without verification.
func clientPaths() client.PathsOptions { return client.PathsOptions{Count: 3} }

func writeFileT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func clientFor(cl *mogtest.Cluster, domain string) (*client.Client, error) {
	return client.New(client.Config{Domain: domain, Trackers: []string{cl.Tracker.Addr}})
}
