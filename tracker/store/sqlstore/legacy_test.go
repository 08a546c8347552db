package sqlstore_test

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// Rows an older tracker left in file_to_delete and file_to_delete_later
// move into file_to_delete2: the first due now, the second due at their
// delafter; a fid already in file_to_delete2 keeps its row.
func TestDrainLegacyDeletesSQLite(t *testing.T) {
	cfg := sqliteConfig(t)
	s := setupOpen(t, cfg)
	raw, _ := openRawSQLite(t, cfg.DSN)
	testDrainLegacyDeletes(t, s, raw)
}

func TestDrainLegacyDeletesMySQL(t *testing.T) {
	m := mogtest.NewMySQL(t)
	s := setupOpen(t, sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password})
	testDrainLegacyDeletes(t, s, openRawMySQL(t, m))
}

func testDrainLegacyDeletes(t *testing.T, s *sqlstore.Store, raw *sql.DB) {
	ctx := testCtx(t)
	now, err := s.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, fid := range []int64{1, 2, 3} {
		exec("INSERT INTO file_to_delete (fid) VALUES (?)", fid)
	}
	exec("INSERT INTO file_to_delete_later (fid, delafter) VALUES (?, ?)", 4, now-10)
	exec("INSERT INTO file_to_delete_later (fid, delafter) VALUES (?, ?)", 5, now+7200)
	exec("INSERT INTO file_to_delete_later (fid, delafter) VALUES (?, ?)", 6, now-5)
	if err := s.Enqueue(ctx, store.QueueDelete, store.QueueItem{FID: 3, FailCount: 2}, 500); err != nil {
		t.Fatal(err)
	}
	// Two of each per call.
	n, err := s.DrainLegacyDeletes(ctx, 2)
	if err != nil || n != 4 {
		t.Fatalf("first drain: %d, %v; want 4 rows", n, err)
	}
	var total int64 = n
	for range 5 {
		n, err := s.DrainLegacyDeletes(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 6 {
		t.Fatalf("drained %d legacy rows, want 6", total)
	}
	for _, table := range []string{"file_to_delete", "file_to_delete_later"} {
		var left int
		if err := raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%s still has %d rows", table, left)
		}
	}
	later, err := s.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	row := func(fid int64) store.QueueItem {
		t.Helper()
		dbg, err := s.FileDebug(ctx, fid)
		if err != nil {
			t.Fatal(err)
		}
		if dbg.Delete == nil {
			t.Fatalf("fid %d is not in file_to_delete2", fid)
		}
		return *dbg.Delete
	}
	for _, fid := range []int64{1, 2} {
		if r := row(fid); r.NextTry < now || r.NextTry > later || r.FailCount != 0 {
			t.Errorf("fid %d: %+v, want due now (%d..%d)", fid, r, now, later)
		}
	}
	if r := row(3); r.NextTry < now+500 || r.FailCount != 2 {
		t.Errorf("fid 3 was already queued: %+v, want its own row kept", r)
	}
	for fid, at := range map[int64]int64{4: now - 10, 5: now + 7200, 6: now - 5} {
		if r := row(fid); r.NextTry != at {
			t.Errorf("fid %d: nexttry %d, want its delafter %d", fid, r.NextTry, at)
		}
	}
	got, err := s.Grab(ctx, store.QueueDelete, 100)
	if err != nil {
		t.Fatal(err)
	}
	var fids []int64
	for _, it := range got {
		fids = append(fids, it.FID)
	}
	slices.Sort(fids)
	if !slices.Equal(fids, []int64{1, 2, 4, 6}) {
		t.Fatalf("due deletions %v, want [1 2 4 6]", fids)
	}
}
