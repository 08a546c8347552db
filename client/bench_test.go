package client_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// BenchmarkStore4K uploads 4 KiB files from 16 goroutines against a real
// tracker and two storage nodes (the load tool's target is 9000/s).
func BenchmarkStore4K(b *testing.B) {
	cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}})
	ctx := mogtest.Context(b)
	c := newClient(b, "files", cl.Tracker.Addr)
	data := make([]byte, 4096)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.StoreBytes(ctx, "bench/"+strconv.FormatInt(n.Add(1), 10), "one", data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGet4K reads one 4 KiB file from 16 goroutines.
func BenchmarkGet4K(b *testing.B) {
	cl := mogtest.StartCluster(b, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}})
	ctx := mogtest.Context(b)
	c := newClient(b, "files", cl.Tracker.Addr)
	if _, err := c.StoreBytes(ctx, "k", "one", make([]byte, 4096)); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if got, err := c.GetBytes(ctx, "k"); err != nil || len(got) != 4096 {
				b.Error(err)
				return
			}
		}
	})
}
