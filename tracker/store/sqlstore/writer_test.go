package sqlstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestWriterStepIsolation: SQLite writes from many callers share
// transactions; a step that fails after writing must be undone alone,
// while the steps batched with it commit. create_close of a fid whose key
// already has that fid (store.ErrFIDExists) deletes the tempfile row
// before it fails: the row must survive.
func TestWriterStepIsolation(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	s := setupOpen(t, sqlstore.Config{DSN: dsn})
	db, _ := openRawSQLite(t, dsn)

	const bad = 20
	var badFIDs []int64
	for i := 0; i < bad; i++ {
		key := fmt.Sprintf("bad%d", i)
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: key, DevIDs: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: key}); err != nil {
			t.Fatal(err)
		}
		// A second tempfile row for the same fid, as a client closing
		// twice after a tracker restart might leave.
		if _, err := db.Exec("INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, 0, 0, 1, ?, '1')", fid, key); err != nil {
			t.Fatal(err)
		}
		badFIDs = append(badFIDs, fid)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if w < bad/2 && i < 2 {
					n := w*2 + i
					_, err := s.CommitFile(ctx, store.CloseFile{FID: badFIDs[n], DevID: 1, DomainID: 1, Key: fmt.Sprintf("bad%d", n)})
					if !errors.Is(err, store.ErrFIDExists) {
						errs <- fmt.Errorf("bad close %d: %v", n, err)
					}
					continue
				}
				key := fmt.Sprintf("good/%d/%d", w, i)
				fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: key, DevIDs: []int{1}})
				if err == nil {
					_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: key})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var tempfiles, good int
	db.QueryRow("SELECT COUNT(*) FROM tempfile").Scan(&tempfiles)
	db.QueryRow("SELECT COUNT(*) FROM file WHERE dkey LIKE 'good/%'").Scan(&good)
	if tempfiles != bad {
		t.Errorf("%d tempfile rows, want the %d of the failed closes", tempfiles, bad)
	}
	if want := 16*20 - bad; good != want {
		t.Errorf("%d good files, want %d", good, want)
	}
}

// TestDiscardLiveTempfile: a stale tempfile row for a fid that is a live
// file (the reaper finds it) is removed without queueing the file for
// deletion.
func TestDiscardLiveTempfile(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	s := setupOpen(t, sqlstore.Config{DSN: dsn})
	db, _ := openRawSQLite(t, dsn)
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "live", DevIDs: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: "live"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, 0, 0, 1, 'live', '2')", fid); err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardTempfile(ctx, fid, []int{2}); err != nil {
		t.Fatal(err)
	}
	dbg, err := s.FileDebug(ctx, fid)
	if err != nil {
		t.Fatal(err)
	}
	if dbg.File == nil || dbg.Tempfile != nil || dbg.Delete != nil || len(dbg.DevIDs) != 1 || dbg.DevIDs[0] != 1 {
		t.Fatalf("live file after discarding its stale tempfile row: %+v", dbg)
	}
}
