package sqlstore_test

import (
	"context"
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

// BenchmarkFastCommitMySQL measures fastpath_commit's database work on
// MySQL/MariaDB: batches of 8 leased fids committed by 4 committers at
// once (storage nodes), with the batch's statements sent one request each
// (statements) and in two requests (batched, what CommitFiles does).
func BenchmarkFastCommitMySQL(b *testing.B) {
	s := setupOpenB(b, mysqlConfigB(b))
	commits := map[string]func(context.Context, []store.FastCommit) ([]store.CommitResult, error){
		"statements": s.CommitFilesStatements,
		"batched":    s.CommitFiles,
	}
	for _, name := range []string{"statements", "batched"} {
		b.Run(name, func(b *testing.B) { benchFastCommit(b, s, commits[name]) })
	}
}

func benchFastCommit(b *testing.B, s store.Store, commit func(context.Context, []store.FastCommit) ([]store.CommitResult, error)) {
	const batch, committers = 8, 4
	ctx := b.Context()
	var fids []int64
	for len(fids) < batch*b.N {
		f, _, err := s.LeaseTempfiles(ctx, 1, 256)
		if err != nil {
			b.Fatal(err)
		}
		fids = append(fids, f...)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < committers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				items := make([]store.FastCommit, batch)
				for j := range items {
					fid := fids[i*batch+j]
					items[j] = store.FastCommit{FID: fid, DevID: 1, DomainID: 1, Key: fmt.Sprintf("fc/%d", fid), Length: 4096, Replicated: true}
				}
				res, err := commit(ctx, items)
				if err != nil {
					b.Error(err)
					return
				}
				for _, r := range res {
					if r.Status != store.CommitOK {
						b.Errorf("commit: %+v", r)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(batch*b.N)/time.Since(start).Seconds(), "files/s")
}
