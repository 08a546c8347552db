package fsckstate_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/fsckstate"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestSummarizeAfterClearMySQL: TRUNCATE (fsck_clearlog on MySQL) starts
// logid at 1 again; events logged after it and before the next summary
// must still be counted, not skipped because their ids are below the
// processed mark.
func TestSummarizeAfterClearMySQL(t *testing.T) {
	m := mogtest.NewMySQL(t)
	testSummarizeAfterClear(t, sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}, true)
}

// On SQLite logids go on after clearing (AUTOINCREMENT); the totals must
// come out the same.
func TestSummarizeAfterClearSQLite(t *testing.T) {
	testSummarizeAfterClear(t, sqlstore.Config{DSN: mogtest.SQLiteDSN(t)}, false)
}

func testSummarizeAfterClear(t *testing.T, cfg sqlstore.Config, restarts bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := func(code string, n int) {
		t.Helper()
		for range n {
			if err := st.AddFsckEvent(ctx, store.FsckEvent{FID: 1, EvCode: code}); err != nil {
				t.Fatal(err)
			}
		}
	}
	summarize := func() map[string]string {
		t.Helper()
		if err := fsckstate.Summarize(ctx, st); err != nil {
			t.Fatal(err)
		}
		set, err := st.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	if err := fsckstate.Reset(ctx, st); err != nil {
		t.Fatal(err)
	}
	ev("MISS", 5)
	if set := summarize(); set["fsck_sum_evcount_MISS"] != "5" || set["fsck_logid_processed"] != "5" {
		t.Fatalf("first summary: MISS %q, processed %q", set["fsck_sum_evcount_MISS"], set["fsck_logid_processed"])
	}
	if err := st.ClearFsckLog(ctx); err != nil {
		t.Fatal(err)
	}
	ev("BLEN", 2)
	maxID := func() string {
		t.Helper()
		n, err := st.MaxFsckLogID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(n, 10)
	}
	if restarts && maxID() != "2" {
		t.Fatalf("after clearing the log, max logid %s; this database should restart ids", maxID())
	}
	set := summarize()
	if set["fsck_sum_evcount_BLEN"] != "2" || set["fsck_sum_evcount_MISS"] != "5" || set["fsck_logid_processed"] != maxID() {
		t.Fatalf("summary after clearing the log: BLEN %q (want 2), MISS %q (want 5), processed %q (want %s)",
			set["fsck_sum_evcount_BLEN"], set["fsck_sum_evcount_MISS"], set["fsck_logid_processed"], maxID())
	}
	// Counting goes on from there, once.
	ev("BLEN", 1)
	summarize()
	if set := summarize(); set["fsck_sum_evcount_BLEN"] != "3" || set["fsck_logid_processed"] != maxID() {
		t.Fatalf("later summary: BLEN %q (want 3), processed %q (want %s)", set["fsck_sum_evcount_BLEN"], set["fsck_logid_processed"], maxID())
	}
}
