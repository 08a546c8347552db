package fsckstate_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mogilefs-go/mogilefs/tracker/fsckstate"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

func TestResetAndSummarize(t *testing.T) {
	ctx := context.Background()
	cfg := sqlstore.Config{DSN: "DBI:SQLite:" + filepath.Join(t.TempDir(), "f.sqlite")}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := func(code string) {
		if err := st.AddFsckEvent(ctx, store.FsckEvent{FID: 1, EvCode: code}); err != nil {
			t.Fatal(err)
		}
	}
	ev("MISS")
	st.SetSetting(ctx, "fsck_sum_evcount_OLD", "7")
	st.SetSetting(ctx, "fsck_start_time", "5")
	if err := fsckstate.Reset(ctx, st); err != nil {
		t.Fatal(err)
	}
	set, _ := st.Settings(ctx)
	if set["fsck_sum_evcount_OLD"] != "" || set["fsck_start_time"] != "" || set["fsck_fids_checked"] != "0" ||
		set["fsck_logid_processed"] != "1" || set["fsck_start_maxlogid"] != "1" || set["fsck_fid_at_end"] != "0" {
		t.Fatalf("after reset: %v", set)
	}
	ev("MISS")
	ev("MISS")
	ev("BLEN")
	if err := fsckstate.Summarize(ctx, st); err != nil {
		t.Fatal(err)
	}
	set, _ = st.Settings(ctx)
	if set["fsck_sum_evcount_MISS"] != "2" || set["fsck_sum_evcount_BLEN"] != "1" || set["fsck_logid_processed"] != "4" {
		t.Fatalf("after summary: %v", set)
	}
	ev("MISS")
	if err := fsckstate.Summarize(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := fsckstate.Summarize(ctx, st); err != nil {
		t.Fatal(err)
	}
	set, _ = st.Settings(ctx)
	if set["fsck_sum_evcount_MISS"] != "3" || set["fsck_sum_evcount_BLEN"] != "1" {
		t.Fatalf("after second summary: %v", set)
	}
	if fsckstate.Int(set, "fsck_sum_evcount_MISS") != 3 || fsckstate.Int(set, "nope") != 0 {
		t.Fatal("Int")
	}
}
