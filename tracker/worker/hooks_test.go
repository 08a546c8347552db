package worker_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The workers tell the tracker about every file_on change (so its
// get_paths cache never serves a copy that is gone) and keep the !stats
// counters work_queue_for_<queue> and work_sent_to_<queue>.
func TestWorkersReportToTracker(t *testing.T) {
	t.Parallel()
	// Two hosts: every second copy lands on dev2, which dies at the end.
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	data := map[int64][]byte{}
	var fids []int64
	for i := range 4 {
		b := []byte(fmt.Sprintf("reported %d", i))
		fid := e.upload(fmt.Sprintf("k%d", i), "2copies", b, 1, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.waitCopies(fids, data, 2, 30*time.Second)
	// Each second copy was added by a replicate worker.
	for _, fid := range fids {
		if n := e.hooks.changes(fid); n < 1 {
			t.Errorf("fid %d got its second copy, but no change was reported", fid)
		}
	}
	e.waitFor("replication counters", 10*time.Second, func() (bool, string) {
		sent, _ := e.hooks.stat("work_sent_to_replicate")
		queued, ok := e.hooks.stat("work_queue_for_replicate")
		return sent >= int64(len(fids)) && ok && queued == 0,
			fmt.Sprintf("work_sent_to_replicate %d, work_queue_for_replicate %d (reported %v)", sent, queued, ok)
	})

	// Deleting: the delete worker drops file_on rows.
	gone := fids[0]
	before := e.hooks.changes(gone)
	if err := e.st.DeleteFile(e.ctx, gone); err != nil {
		t.Fatal(err)
	}
	e.waitFor("deleted file's copies gone", 30*time.Second, func() (bool, string) {
		ids := e.devids(gone)
		return len(ids) == 0 && e.hooks.changes(gone) >= before+2,
			fmt.Sprintf("on %v, %d changes reported (%d before)", ids, e.hooks.changes(gone), before)
	})
	e.waitFor("delete counters", 10*time.Second, func() (bool, string) {
		sent, _ := e.hooks.stat("work_sent_to_delete")
		queued, ok := e.hooks.stat("work_queue_for_delete")
		return sent >= 1 && ok && queued == 0, fmt.Sprintf("work_sent_to_delete %d, work_queue_for_delete %d", sent, queued)
	})

	// Reaping a dead device: every fid on it is reported.
	var onDev2 []int64
	counts := map[int64]int{}
	for _, fid := range fids[1:] {
		for _, d := range e.devids(fid) {
			if d == 2 {
				onDev2 = append(onDev2, fid)
				counts[fid] = e.hooks.changes(fid)
			}
		}
	}
	if len(onDev2) != len(fids)-1 {
		t.Fatalf("fids with a copy on dev2: %v, want %v", onDev2, fids[1:])
	}
	e.setStatus(e.cl, 2, "dead")
	e.waitFor("dev2 reaped and reported", 60*time.Second, func() (bool, string) {
		left, err := e.st.FIDsOnDevice(e.ctx, 2, 0, 100)
		if err != nil || len(left) > 0 {
			return false, fmt.Sprintf("fids left on dev2: %v (%v)", left, err)
		}
		for _, fid := range onDev2 {
			if e.hooks.changes(fid) <= counts[fid] {
				return false, fmt.Sprintf("fid %d reaped off dev2 but not reported", fid)
			}
		}
		return true, ""
	})
}

// Rows an older tracker left in the legacy delete queues are deleted:
// file_to_delete at once, file_to_delete_later once delafter has passed.
func TestLegacyDeleteQueuesSQLite(t *testing.T) {
	t.Parallel()
	testLegacyDeleteQueues(t, false)
}

func TestLegacyDeleteQueuesMySQL(t *testing.T) {
	t.Parallel()
	testLegacyDeleteQueues(t, true)
}

func testLegacyDeleteQueues(t *testing.T, mysql bool) {
	e := newEnv(t, envOpts{mysql: mysql, hosts: [][]int{{1}, {2}}, noWorkers: true})
	raw := e.rawDB()
	now, err := e.st.Now(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(e.ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// What an old tracker's delete left: the file row gone, copies and
	// file_on rows still there, the fid in a legacy queue.
	a := e.upload("a", "1copy", []byte("old delete"), 1, false)
	b := e.upload("b", "1copy", []byte("old delete, rescheduled"), 2, false)
	keep := e.upload("c", "1copy", []byte("not deleted"), 1, false)
	exec("DELETE FROM file WHERE fid IN (?, ?)", a, b)
	exec("INSERT INTO file_to_delete (fid) VALUES (?)", a)
	exec("INSERT INTO file_to_delete_later (fid, delafter) VALUES (?, ?)", b, now-60)

	cfg := fastConfig()
	e.w = e.startWorkers(e.st, e.cl, cfg)
	e.waitFor("legacy deletions done", 30*time.Second, func() (bool, string) {
		for fid, d := range map[int64]int{a: 1, b: 2} {
			if ids := e.devids(fid); len(ids) > 0 {
				return false, fmt.Sprintf("fid %d still on %v", fid, ids)
			}
			if _, err := os.Stat(e.diskPath(d, fid)); err == nil {
				return false, fmt.Sprintf("fid %d still on the disk of dev%d", fid, d)
			}
		}
		for _, table := range []string{"file_to_delete", "file_to_delete_later", "file_to_delete2"} {
			var n int
			if err := raw.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				return false, fmt.Sprintf("%s holds %d rows (%v)", table, n, err)
			}
		}
		return true, ""
	})
	if got, err := os.ReadFile(e.diskPath(1, keep)); err != nil || !bytes.Equal(got, []byte("not deleted")) {
		t.Fatalf("a file nobody deleted lost its copy: %q, %v", got, err)
	}
	if !e.logs.contains("legacy") {
		t.Error("no log line about the legacy rows")
	}
}

// rawDB opens the env's database with the driver directly, to plant
// rows only an older tracker writes.
func (e *env) rawDB() *sql.DB {
	e.t.Helper()
	var db *sql.DB
	var err error
	if e.mysql != nil {
		db, err = sql.Open("mysql", e.mysql.GoDSN)
	} else {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(e.cfg.DSN, "DBI:SQLite:dbname=")+"?_pragma=busy_timeout(5000)")
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// A stale tempfile row whose fid is a real file (a bug or race
// elsewhere) goes; the file, its copy and its key stay.
func TestStaleTempfileOfLiveFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}}, noWorkers: true})
	fid := e.upload("live", "1copy", []byte("live file"), 1, false)
	now, err := e.st.Now(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.rawDB().ExecContext(e.ctx, "INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, ?, ?, ?, ?, ?)",
		fid, now-7200, e.class["1copy"], e.dmid, "live", "1"); err != nil {
		t.Fatal(err)
	}
	e.w = e.startWorkers(e.st, e.cl, fastConfig())
	e.waitFor("stale tempfile row gone", 30*time.Second, func() (bool, string) {
		_, err := e.st.Tempfile(e.ctx, fid)
		return errors.Is(err, store.ErrNotFound), fmt.Sprintf("tempfile row: %v", err)
	})
	f, err := e.st.FileByKey(e.ctx, e.dmid, "live")
	if err != nil || f.FID != fid {
		t.Fatalf("the live file: %+v, %v", f, err)
	}
	if ids := e.devids(fid); len(ids) != 1 {
		t.Fatalf("the live file's copies: %v", ids)
	}
	if got, err := os.ReadFile(e.diskPath(1, fid)); err != nil || string(got) != "live file" {
		t.Fatalf("the live file on disk: %q, %v", got, err)
	}
	if n := e.queueLen(store.QueueDelete); n != 0 {
		t.Fatalf("%d rows queued for deletion", n)
	}
}
