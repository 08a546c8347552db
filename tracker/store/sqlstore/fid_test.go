package sqlstore_test

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// testFIDGuard: the tempfile counter can be behind the file table (InnoDB
// restarts reset AUTO_INCREMENT to MAX(tempfile.fid)+1; rows may come from
// elsewhere). A new fid is never an existing file's and never at or below
// the highest file fid seen at open.
func testFIDGuard(t *testing.T, cfg sqlstore.Config, raw *sql.DB) {
	ctx := testCtx(t)
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// Files the counter never saw.
	for _, fid := range []int{500, 3} {
		if _, err := raw.Exec("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, 1, ?, 1, 0, 1)", fid, fmt.Sprint("pre", fid)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "a", DevIDs: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if fid <= 500 {
		t.Fatalf("allocated fid %d, at or below the highest file fid 500", fid)
	}
	// A file appears right above the counter after open (another
	// writer): the next allocation steps over it.
	if _, err := raw.Exec("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, 1, 'later', 1, 0, 1)", fid+1); err != nil {
		t.Fatal(err)
	}
	next, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "b", DevIDs: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if next <= fid+1 {
		t.Fatalf("allocated fid %d, not above the file fid %d", next, fid+1)
	}
	// Only the real tempfiles are left, no bump rows.
	var n int
	if err := raw.QueryRow("SELECT COUNT(*) FROM tempfile").Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d tempfile rows (%v), want 2", n, err)
	}
}

func TestFIDGuardSQLite(t *testing.T) {
	dsn := mogtest.SQLiteDSN(t)
	cfg := sqlstore.Config{DSN: dsn}
	if err := sqlstore.Setup(testCtx(t), cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, _ := openRawSQLite(t, dsn)
	testFIDGuard(t, cfg, raw)
}

func TestFIDGuardMySQL(t *testing.T) {
	m := mogtest.NewMySQL(t)
	cfg := sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
	testFIDGuard(t, cfg, openRawMySQL(t, m))
}
