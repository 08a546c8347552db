package sqlstore_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestWALCheckpointedInBackground: the writer no longer checkpoints the
// WAL at 1000 pages; the checkpointer copies committed pages into the
// database file by itself, a little after they were written.
func TestWALCheckpointedInBackground(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	path := strings.TrimPrefix(dsn, "DBI:SQLite:dbname=")
	s := setupOpen(t, sqlstore.Config{DSN: dsn})
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Far fewer pages than any automatic checkpoint threshold.
	for i := range 300 {
		key := fmt.Sprintf("ckpt/%04d", i)
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: key, DevIDs: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: key, Length: 1}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > before.Size() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 30 s after the writes: the WAL was not checkpointed", st.Size())
		}
		time.Sleep(50 * time.Millisecond) // polling the file size
	}
	if _, err := s.FileByKey(ctx, 1, "ckpt/0299"); err != nil {
		t.Fatal(err)
	}
}
