package sqlstore_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// BenchmarkUploadsSQLite measures create_open + create_close database work
// (RegisterTempfile + CommitFile) from 16 concurrent clients.
func BenchmarkUploadsSQLite(b *testing.B) {
	benchUploads(b, func() store.Store {
		return setupOpenB(b, sqliteConfigB(b))
	})
}

func BenchmarkUploadsMySQL(b *testing.B) {
	benchUploads(b, func() store.Store {
		return setupOpenB(b, mysqlConfigB(b))
	})
}

func benchUploads(b *testing.B, open func() store.Store) {
	s := open()
	ctx := b.Context()
	const clients = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				key := fmt.Sprintf("bench/%d", i)
				fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, ClassID: 1, Key: key, DevIDs: []int{1, 2}})
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: key, ClassID: 1, Length: 1234}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "uploads/s")
}
