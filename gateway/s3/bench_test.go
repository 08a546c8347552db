package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// BenchmarkS3 compares 4 KiB PUTs and GETs through the S3 API with the
// same through the plain /<domain>/<key> gateway, 16 clients at once, in
// one run on one cluster:
//
//	go test -run '^$' -bench S3 -benchtime 5s ./gateway/s3/
//
// S3 requests are signed by the client as the AWS CLI signs them (header
// form, SHA-256 of the body), and verified by the server; a GET of a key
// reuses its first signature (see below). The load
// generator runs in the same process as both servers.
func BenchmarkS3(b *testing.B) {
	cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}, Hosts: 1})
	quiet := slog.New(slog.DiscardHandler)
	g, err := gateway.New(gateway.Config{Trackers: []string{cl.Tracker.Addr}, Logger: quiet, DefaultClass: "one"})
	if err != nil {
		b.Fatal(err)
	}
	gln, _ := net.Listen("tcp", "127.0.0.1:0")
	gsrv := g.Server()
	go gsrv.Serve(gln)
	keys, _ := s3.ParseKeys(strings.NewReader(adminKey + " " + adminSecret + " *\n"))
	srv, err := s3.New(s3.Config{Trackers: []string{cl.Tracker.Addr}, Keys: keys, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	sln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, sln); close(done) }()
	b.Cleanup(func() { cancel(); <-done; srv.Close(); gsrv.Close(); g.Close() })
	plainURL, s3URL := "http://"+gln.Addr().String()+"/files/", "http://"+sln.Addr().String()+"/files/"

	hc := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, DisableCompression: true}}
	signer := sigv4.Signer{AccessKey: adminKey, Secret: adminSecret, Region: "us-east-1", Keys: sigv4.NewKeyCache()}
	body := content("bench", 4096)
	bodySum := sha256hex(body)
	emptySum := sha256hex(nil)
	// GETs of a key are signed once and sent again with the same
	// headers (SigV4 has no nonce; the signature stays valid for 15
	// minutes): the server verifies every request in full, but the load
	// generator, which shares the CPUs, does not sign again each time —
	// the client's signing happens on the client's machine.
	var signedGets sync.Map // key -> http.Header
	// request makes one request of the kind; S3 ones are signed.
	request := func(viaS3 bool, method, key string) *http.Request {
		if viaS3 && method == "GET" {
			if h, ok := signedGets.Load(key); ok {
				req, _ := http.NewRequest(method, s3URL+key, nil)
				req.Header = h.(http.Header).Clone()
				return req
			}
		}
		base := plainURL
		if viaS3 {
			base = s3URL
		}
		var rd io.Reader
		if method == "PUT" {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+key, rd)
		if viaS3 {
			sum := emptySum
			if method == "PUT" {
				sum = bodySum
				req.Header.Set("X-Amz-Storage-Class", "one")
			}
			signer.Sign(req, sum, time.Now())
			if method == "GET" {
				signedGets.Store(key, req.Header.Clone())
			}
		}
		return req
	}
	const nkeys = 256
	for _, viaS3 := range []bool{false, true} {
		for i := range nkeys {
			r, err := hc.Do(request(viaS3, "PUT", fmt.Sprintf("g%v/%03d", viaS3, i)))
			if err != nil || r.StatusCode/100 != 2 {
				b.Fatalf("PUT: %v %v", r, err)
			}
			r.Body.Close()
		}
	}
	run := func(b *testing.B, viaS3 bool, method string) {
		var next atomic.Uint64
		b.SetBytes(4096)
		b.SetParallelism(8) // 16 clients on 2 CPUs
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := next.Add(1)
				key := fmt.Sprintf("g%v/%03d", viaS3, n%nkeys)
				if method == "PUT" {
					key = fmt.Sprintf("p%v/%d", viaS3, n)
				}
				r, err := hc.Do(request(viaS3, method, key))
				if err != nil {
					b.Error(err)
					return
				}
				got, _ := io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode/100 != 2 || method == "GET" && got != 4096 {
					b.Errorf("%s %s: %d, %d bytes", method, key, r.StatusCode, got)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("put/plain", func(b *testing.B) { run(b, false, "PUT") })
	b.Run("put/s3", func(b *testing.B) { run(b, true, "PUT") })
	b.Run("get/plain", func(b *testing.B) { run(b, false, "GET") })
	b.Run("get/s3", func(b *testing.B) { run(b, true, "GET") })
}
