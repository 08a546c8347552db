package worker

import (
	"context"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// In Testing mode (TESTING=1) a delayed replication enqueue is due in
// 1 s; otherwise it keeps its delay. An urgent one stays urgent.
func TestTestingShortensReplicationDelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := sqlstore.Config{DSN: mogtest.SQLiteDSN(t)}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nextTry := func(fid int64) int64 {
		t.Helper()
		dbg, err := st.FileDebug(ctx, fid)
		if err != nil || dbg.Replicate == nil {
			t.Fatalf("fid %d not queued for replication: %v", fid, err)
		}
		return dbg.Replicate.NextTry
	}
	for _, tc := range []struct {
		testing    bool
		fid, delay int64
		want       int64 // nexttry - now, -1 for 0 (urgent)
	}{
		{true, 1, 3600, 1},
		{true, 2, 1, 1},
		{true, 3, 0, -1},
		{false, 4, 3600, 3600},
		{false, 5, 1, 1},
	} {
		w := &Workers{d: Deps{Store: st}, cfg: Config{Testing: tc.testing}}
		before, err := st.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.enqueueReplication(ctx, tc.fid, tc.delay); err != nil {
			t.Fatal(err)
		}
		after, err := st.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := nextTry(tc.fid)
		switch {
		case tc.want < 0 && got != 0:
			t.Errorf("testing=%v delay %d: nexttry %d, want 0", tc.testing, tc.delay, got)
		case tc.want >= 0 && (got < before+tc.want || got > after+tc.want):
			t.Errorf("testing=%v delay %d: nexttry %d, want now+%d (now %d..%d)", tc.testing, tc.delay, got, tc.want, before, after)
		}
	}
}
