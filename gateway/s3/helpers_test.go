package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// Test keys: an admin key for every bucket, and one limited to "photos".
const (
	adminKey    = "AKIAMOGTESTADMIN"
	adminSecret = "adminsecret/with+signs"
	photoKey    = "AKIAMOGTESTPHOTOS"
	photoSecret = "photosecret"
)

// env is a cluster with the S3 API on a real 127.0.0.1 port.
type env struct {
	cl   *mogtest.Cluster
	srv  *s3.Server
	URL  string
	Addr string
	Dir  string // a temp directory: HOME of the clients
}

// startS3 starts a cluster (domain "files" created the classic way) and
// the S3 API serving it until the test ends.
func startS3(t *testing.T) *env {
	t.Helper()
	return startS3With(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"rep1": 1}, Hosts: 1})
}

// startS3With is startS3 on a cluster started with o.
func startS3With(t *testing.T, o mogtest.ClusterOptions) *env {
	t.Helper()
	cl := mogtest.StartCluster(t, o)
	keys, err := s3.ParseKeys(strings.NewReader(fmt.Sprintf("# test keys\n%s %s *\n%s %s photos\n", adminKey, adminSecret, photoKey, photoSecret)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s3.New(s3.Config{Trackers: []string{cl.Tracker.Addr}, Keys: keys, BaseDomain: "s3.test",
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("s3 shutdown: %v", err)
		}
		srv.Close()
	})
	return &env{cl: cl, srv: srv, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Dir: t.TempDir()}
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// libClient is a client library client of domain. It checks what the
// gateway did, so it keeps no path cache: it sees the key's current fid.
func (e *env) libClient(t *testing.T, domain string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Domain: domain, Trackers: []string{e.cl.Tracker.Addr}, PathCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %q", r.status, r.body) }

// do sends a request signed with key and secret (header form, payload
// hash of the body); hdr are header name/value pairs.
func (e *env) do(t *testing.T, key, secret, method, target string, body []byte, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	s := sigv4.Signer{AccessKey: key, Secret: secret, Region: "us-east-1"}
	if _, err := s.Sign(req, sha256hex(body), time.Now()); err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) resp {
	t.Helper()
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp{r.StatusCode, r.Header, b}
}

// admin sends a request with the admin key.
func (e *env) admin(t *testing.T, method, target string, body []byte, hdr ...string) resp {
	t.Helper()
	return e.do(t, adminKey, adminSecret, method, target, body, hdr...)
}

// needTool finds a client program: missing, the test is skipped, except
// under CI (scripts/deps.sh installs it), where it fails.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed (scripts/deps.sh installs it)", name)
	}
	t.Skipf("SKIPPED: %s not installed (scripts/deps.sh installs it; CI=true makes this a failure)", name)
	return ""
}

// run runs a command, failing the test when it fails; it returns its
// standard output.
func run(t *testing.T, envv []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(envv, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(envv []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = envv
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
