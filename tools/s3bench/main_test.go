package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

const (
	testKey    = "AKIAS3BENCHTEST"
	testSecret = "s3bench/secret+key"
)

// s3env is a cluster (domain "files", class "one") and our S3 API in front
// of it on a 127.0.0.1 port.
type s3env struct {
	cl       *mogtest.Cluster
	endpoint string
	plain    string // the /<domain>/<key> gateway: http://ip:port/
}

func startS3(t *testing.T) *s3env {
	t.Helper()
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}, Hosts: 1})
	keys, err := s3.ParseKeys(strings.NewReader(testKey + " " + testSecret + " *\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s3.New(s3.Config{Trackers: []string{cl.Tracker.Addr}, Keys: keys, Logger: slog.New(slog.DiscardHandler)})
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
	g, err := gateway.New(gateway.Config{Trackers: []string{cl.Tracker.Addr}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gsrv := g.Server()
	go gsrv.Serve(gln)
	t.Cleanup(func() { gsrv.Close(); g.Close() })
	return &s3env{cl: cl, endpoint: "http://" + ln.Addr().String(), plain: "http://" + gln.Addr().String() + "/"}
}

func (e *s3env) lib(t *testing.T, domain string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Domain: domain, Trackers: []string{e.cl.Tracker.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// runJSON runs s3bench against e with args and decodes its report.
func (e *s3env) runJSON(t *testing.T, args ...string) report {
	t.Helper()
	var out bytes.Buffer
	args = append([]string{"--endpoint=" + e.endpoint, "--access-key=" + testKey, "--secret=" + testSecret, "--json"}, args...)
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("s3bench %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	return rep
}

func checkPhases(t *testing.T, rep report, want map[string]int) {
	t.Helper()
	if len(rep.Phases) != len(want) {
		t.Fatalf("phases %+v, want %v", rep.Phases, want)
	}
	for _, p := range rep.Phases {
		if p.Requests != want[p.Name] || p.Errors != 0 || p.VerifyErrors != 0 || p.FirstError != "" {
			t.Errorf("phase %+v, want %d requests and no error", p, want[p.Name])
		}
		if p.Seconds <= 0 || p.P50ms > p.P99ms {
			t.Errorf("phase %+v: time or latencies out of order", p)
		}
	}
}

func TestSmallObjects(t *testing.T) {
	e := startS3(t)
	rep := e.runJSON(t, "--bucket=files", "--storage-class=one", "--prefix=small/", "-n", "40", "-c", "4", "--size", "5000")
	checkPhases(t, rep, map[string]int{"put": 40, "get": 40})

	// What the S3 API stored is what the generator makes, in class one.
	lib := e.lib(t, "files")
	ctx := context.Background()
	for _, i := range []int{0, 17, 39} {
		key := fmt.Sprintf("small/o%08d", i)
		got, err := lib.GetBytes(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 5000)
		fill(want, uint64(i), 0)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: stored content differs from the generator's", key)
		}
		if fi, err := lib.FileInfo(ctx, key); err != nil || fi.Class != "one" {
			t.Errorf("%s: info %+v, %v; want class one", key, fi, err)
		}
	}
	keys, _, err := lib.ListKeys(ctx, "small/", "", 1000)
	if err != nil || len(keys) != 40 {
		t.Errorf("keys under small/: %d, %v; want 40", len(keys), err)
	}

	// One phase at a time: a get run reads what a put run wrote.
	rep = e.runJSON(t, "--bucket=files", "--prefix=split/", "--phases=put", "-n", "10", "-c", "2")
	checkPhases(t, rep, map[string]int{"put": 10})
	rep = e.runJSON(t, "--bucket=files", "--prefix=split/", "--phases=get", "-n", "10", "-c", "3")
	checkPhases(t, rep, map[string]int{"get": 10})
	var out bytes.Buffer
	err = run(ctx, []string{"--endpoint=" + e.endpoint, "--access-key=" + testKey, "--secret=" + testSecret,
		"--bucket=files", "--prefix=split/", "--phases=get", "-n", "11", "-c", "1"}, &out)
	if err == nil || !strings.Contains(out.String(), "errors 1") {
		t.Errorf("get of a key never written: %v\n%s", err, out.String())
	}
}

func TestMultipart(t *testing.T) {
	e := startS3(t)
	size := int64(11<<20 + 3) // parts of 5 MiB, 5 MiB and 1 MiB + 3 bytes
	for _, ranged := range []bool{true, false} {
		prefix := fmt.Sprintf("mp-%v/", ranged)
		// A bucket that does not exist yet: s3bench creates it.
		args := []string{"--bucket=fresh", "--prefix=" + prefix, "-c", "2", "--part-size=5MiB",
			fmt.Sprintf("--multipart-size=%d", size), fmt.Sprintf("--ranged=%v", ranged)}
		want := map[string]int{"upload": 3, "download": 1}
		if !ranged {
			// and the bodies as UNSIGNED-PAYLOAD
			args = append(args, "--unsigned-payload")
		}
		if ranged {
			// and the same through the plain gateway
			args = append(args, "--plain-url="+e.plain+"fresh/")
			want = map[string]int{"upload": 3, "download": 3, "plain-put": 1, "plain-get": 1}
		}
		rep := e.runJSON(t, args...)
		checkPhases(t, rep, want)
		for _, p := range rep.Phases {
			if p.MiBPerSec <= 0 || p.Name == "upload" && p.CompleteSeconds <= 0 {
				t.Errorf("phase %+v: no throughput or Complete time", p)
			}
		}
		keys := []string{prefix + "multipart"}
		if ranged {
			keys = append(keys, prefix+"plain")
		}
		for _, k := range keys {
			fi, err := e.lib(t, "fresh").FileInfo(context.Background(), k)
			if err != nil || fi.Length != size {
				t.Errorf("stored object %s: %+v, %v; want %d bytes", k, fi, err, size)
			}
		}
	}
}

// TestVerification: a GET whose bytes differ from the generator's by one
// byte is a verification error, the exact bytes are not.
func TestVerification(t *testing.T) {
	e := startS3(t)
	c := newS3Client(e.endpoint, testKey, testSecret, "us-east-1", "", 1)
	defer c.close()
	l := mpLayout{size: 3000, part: 1024}
	data := make([]byte, 0, l.size)
	for i := range l.count() {
		_, n := l.span(i)
		b := make([]byte, n)
		fill(b, 0, uint64(i))
		data = append(data, b...)
	}
	lib := e.lib(t, "files")
	ctx := context.Background()
	if _, err := lib.StoreBytes(ctx, "good", "one", data); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[2500] ^= 1
	if _, err := lib.StoreBytes(ctx, "bad", "one", bad); err != nil {
		t.Fatal(err)
	}
	if err := getWhole(ctx, c, "files", "good", l); err != nil {
		t.Errorf("good object: %v", err)
	}
	if err := getWhole(ctx, c, "files", "bad", l); !errors.Is(err, errVerify) {
		t.Errorf("altered object: %v, want a verification error", err)
	}
	if err := getWhole(ctx, c, "files", "good", mpLayout{size: 2999, part: 1024}); err == nil || errors.Is(err, errVerify) {
		t.Errorf("object longer than expected: %v, want a length error", err)
	}
}

func TestRefused(t *testing.T) {
	e := startS3(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"--endpoint=" + e.endpoint, "--access-key=" + testKey,
		"--secret=wrong", "--bucket=files", "-n", "2"}, &out)
	var se *statusError
	if !errors.As(err, &se) || se.status != 403 {
		t.Errorf("wrong secret: %v, want status 403", err)
	}
	if err := run(context.Background(), []string{"--endpoint=127.0.0.1:1", "--access-key=k", "--secret=s"}, &out); err == nil {
		t.Error("an endpoint without scheme is accepted")
	}
}
