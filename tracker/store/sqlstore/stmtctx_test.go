package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestEndedContext: the SQLite driver gets contexts that cannot be
// cancelled (stmtContext), so the store itself must refuse to start
// statements once the caller's context has ended, for reads and for
// writes, and leave the database as it was.
func TestEndedContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) sqlstore.Config
	}{{"sqlite", sqliteConfig}, {"mariadb", mysqlConfig}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			s := setupOpen(t, tc.cfg(t))
			fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "k", DevIDs: []int{1}})
			if err != nil {
				t.Fatal(err)
			}
			ended, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Tempfile(ended, fid); !errors.Is(err, context.Canceled) {
				t.Fatalf("Tempfile with an ended context: %v, want context.Canceled", err)
			}
			if _, err := s.CommitFile(ended, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: "k", Length: 1}); !errors.Is(err, context.Canceled) {
				t.Fatalf("CommitFile with an ended context: %v, want context.Canceled", err)
			}
			if _, err := s.RegisterTempfile(ended, store.Tempfile{DomainID: 1, Key: "k2", DevIDs: []int{1}}); !errors.Is(err, context.Canceled) {
				t.Fatalf("RegisterTempfile with an ended context: %v, want context.Canceled", err)
			}
			// Nothing changed: the tempfile is still there and commits.
			if _, err := s.Tempfile(ctx, fid); err != nil {
				t.Fatalf("tempfile after the refused calls: %v", err)
			}
			if _, err := s.FileByKey(ctx, 1, "k"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("file after a refused commit: %v, want ErrNotFound", err)
			}
			if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: "k", Length: 1}); err != nil {
				t.Fatal(err)
			}
			if f, err := s.FileByKey(ctx, 1, "k"); err != nil || f.FID != fid {
				t.Fatalf("file after commit: %+v %v", f, err)
			}
		})
	}
}
