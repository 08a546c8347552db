package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// BenchmarkGet4K compares GETs of 4 KiB files through the gateway with
// GETs of the same files straight from the storage node, in one run:
//
//	go test -run '^$' -bench Get4K -benchtime 5s ./gateway/
//
// "direct" reads from mogstored, "stream" through a gateway without its
// memory cache of small files (every GET is a GET on the storage node),
// "gateway" through a gateway as configured by default. The req/s ratio
// to "direct" is the figure to watch (goal: >= 0.8). The load generator
// runs in the same process as the gateway; docs/mogproxy.md shows the
// same measurement with wrk and the mogproxy binary.
func BenchmarkGet4K(b *testing.B) {
	cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Domain: "files", Hosts: 1})
	serve := func(cfg gateway.Config) string {
		cfg.Trackers = []string{cl.Tracker.Addr}
		cfg.Logger = discardLogger()
		g, err := gateway.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		srv := g.Server()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close(); g.Close() })
		return ln.Addr().String()
	}
	addr := serve(gateway.Config{})
	streamAddr := serve(gateway.Config{ContentCacheBytes: -1})

	const nkeys = 64
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, DisableCompression: true}}
	files, err := clientFor(cl, "files")
	if err != nil {
		b.Fatal(err)
	}
	defer files.Close()
	var direct, viaGW, viaStream []string
	for i := range nkeys {
		key := fmt.Sprintf("bench/%03d.bin", i)
		req, _ := http.NewRequest("PUT", "http://"+addr+"/files/"+key, bytes.NewReader(content(key, 4096)))
		r, err := hc.Do(req)
		if err != nil || r.StatusCode != 201 {
			b.Fatalf("PUT %s: %v %v", key, r, err)
		}
		r.Body.Close()
		paths, err := files.Paths(context.Background(), key, clientPaths())
		if err != nil || len(paths) == 0 {
			b.Fatalf("paths of %s: %v %v", key, paths, err)
		}
		direct = append(direct, paths[0])
		viaGW = append(viaGW, "http://"+addr+"/files/"+key)
		viaStream = append(viaStream, "http://"+streamAddr+"/files/"+key)
	}
	run := func(b *testing.B, urls []string) {
		var next atomic.Uint64
		b.SetBytes(4096)
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 8192)
			for pb.Next() {
				u := urls[next.Add(1)%nkeys]
				r, err := hc.Get(u)
				if err != nil {
					b.Error(err)
					return
				}
				n, _ := io.ReadFull(r.Body, buf[:4096])
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode != 200 || n != 4096 {
					b.Errorf("GET %s: %d, %d bytes", u, r.StatusCode, n)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("direct", func(b *testing.B) { run(b, direct) })
	b.Run("stream", func(b *testing.B) { run(b, viaStream) })
	b.Run("gateway", func(b *testing.B) { run(b, viaGW) })
}
