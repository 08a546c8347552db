package sqlstore_test

import (
	"database/sql"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// A file row whose fid still has a tempfile row (an upload not closed)
// reads as an open upload; no store method makes that state, so the
// tempfile row is written directly.
func TestFsckFilesOpenUploadSQLite(t *testing.T) {
	cfg := sqliteConfig(t)
	s := setupOpen(t, cfg)
	raw, _ := openRawSQLite(t, cfg.DSN)
	testFsckFilesOpenUpload(t, s, raw)
}

func TestFsckFilesOpenUploadMySQL(t *testing.T) {
	m := mogtest.NewMySQL(t)
	s := setupOpen(t, sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password})
	testFsckFilesOpenUpload(t, s, openRawMySQL(t, m))
}

func testFsckFilesOpenUpload(t *testing.T, s *sqlstore.Store, raw *sql.DB) {
	ctx := testCtx(t)
	var fids []int64
	for _, key := range []string{"open", "closed"} {
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: key, DevIDs: []int{2}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 2, DomainID: 1, Key: key, Length: 5}); err != nil {
			t.Fatal(err)
		}
		fids = append(fids, fid)
	}
	if _, err := raw.ExecContext(ctx, "INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, 1, 0, 1, 'open', '2')", fids[0]); err != nil {
		t.Fatal(err)
	}
	got, err := s.FsckFiles(ctx, fids)
	if err != nil {
		t.Fatal(err)
	}
	if g := got[fids[0]]; !g.OpenUpload || g.File.Key != "open" || len(g.DevIDs) != 1 || g.DevIDs[0] != 2 {
		t.Errorf("open upload: %+v", g)
	}
	if g := got[fids[1]]; g.OpenUpload || g.File.Key != "closed" {
		t.Errorf("closed upload: %+v", g)
	}
}
