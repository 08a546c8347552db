package main_test

import (
	"context"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestMetricsQueues fills the queues of a tracker's database (no job
// master runs, so nothing takes the rows) and checks the queue lengths
// and the replication backlog (rows due now) on SQLite and MariaDB.
func TestMetricsQueues(t *testing.T) {
	for _, db := range []string{"sqlite", "mariadb"} {
		t.Run(db, func(t *testing.T) {
			maddr := mogtest.FreeAddr(t, "127.0.0.1")
			opts := mogtest.TrackerOptions{Args: []string{"--no-job_master", "--metrics-listen=" + maddr}}
			if db == "mariadb" {
				my := mogtest.NewMySQL(t)
				opts.MySQL = &my
			}
			tr := mogtest.StartTracker(t, opts)
			ctx := mogtest.Context(t)
			st, err := sqlstore.Open(ctx, sqlstore.Config{DSN: tr.DSN, User: tr.User, Password: tr.Pass})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			enqueue := func(q store.Queue, fid int64, delay int64) {
				t.Helper()
				if err := st.Enqueue(context.Background(), q, store.QueueItem{FID: fid}, delay); err != nil {
					t.Fatal(err)
				}
			}
			for fid := int64(1); fid <= 3; fid++ {
				enqueue(store.QueueReplicate, fid, 0) // due now
			}
			enqueue(store.QueueReplicate, 4, 3600) // deferred
			enqueue(store.QueueReplicate, 5, 3600)
			enqueue(store.QueueDelete, 6, 0)
			enqueue(store.QueueDelete, 7, 0)
			enqueue(store.QueueFsck, 8, 0)
			enqueue(store.QueueRebalance, 9, 0)

			// The first scrape reads the queues.
			f := metricstest.Wait(t, maddr, 30*time.Second, "queue figures", func(f metricstest.Families) bool {
				_, ok := f.Value("mogilefs_tracker_replication_backlog")
				return ok
			})
			for q, want := range map[string]float64{"replicate": 5, "delete": 2, "fsck": 1, "rebalance": 1} {
				if v, _ := f.Value("mogilefs_tracker_queue_length", "queue", q); v != want {
					t.Errorf("queue_length{%s} = %v, want %v", q, v, want)
				}
			}
			if v, _ := f.Value("mogilefs_tracker_replication_backlog"); v != 3 {
				t.Errorf("replication_backlog = %v, want 3 (rows due now)", v)
			}
			if v, _ := f.Value("mogilefs_tracker_queue_scrape_errors_total"); v != 0 {
				t.Errorf("queue scrape errors %v", v)
			}
			// Within 10 s the figures are reused, not read again.
			enqueue(store.QueueReplicate, 10, 0)
			if v, _ := metricstest.Scrape(t, maddr).Value("mogilefs_tracker_queue_length", "queue", "replicate"); v != 5 {
				t.Errorf("queue_length{replicate} right after a scrape = %v, want the cached 5", v)
			}
		})
	}
}
