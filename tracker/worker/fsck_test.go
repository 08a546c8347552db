package worker_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/mogilefs-go/mogilefs/tracker/fsckstate"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// fullFsck does what "mogadm fsck stop; clearlog; reset; start" does (the
// tracker's commands) and waits until the run has checked every file:
// injection finished and the fsck queue empty.
func (e *env) fullFsck(policyOnly bool) []string {
	e.t.Helper()
	e.startFsck(policyOnly)
	e.waitFor("fsck run finished", e.runTimeout, func() (bool, string) {
		host := e.setting("fsck_host")
		n := e.queueLen(store.QueueFsck)
		return host == "" && n == 0, fmt.Sprintf("fsck_host %q, %d queued", host, n)
	})
	return e.fsckLog()
}

// startFsck starts a run as fullFsck does, once the fsck queue is empty.
func (e *env) startFsck(policyOnly bool) {
	e.t.Helper()
	e.waitFor("empty fsck queue before the run", 30*time.Second, func() (bool, string) {
		n := e.queueLen(store.QueueFsck)
		return n == 0, fmt.Sprintf("%d rows", n)
	})
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(e.st.DeleteSetting(e.ctx, "fsck_host"))
	must(e.st.ClearFsckLog(e.ctx))
	if policyOnly {
		must(e.st.SetSetting(e.ctx, "fsck_opt_policy_only", "1"))
	} else {
		must(e.st.DeleteSetting(e.ctx, "fsck_opt_policy_only"))
	}
	must(e.st.SetSetting(e.ctx, "fsck_highest_fid_checked", "0"))
	must(fsckstate.Reset(e.ctx, e.st))
	now, err := e.st.Now(e.ctx)
	must(err)
	must(e.st.SetSetting(e.ctx, "fsck_start_time", strconv.FormatInt(now, 10)))
	must(e.st.SetSetting(e.ctx, "fsck_host", "tracker-a"))
	must(e.cl.Reload(e.ctx))
}

// fsckLog lists the fsck_log codes in order, with the devid after a
// colon when set.
func (e *env) fsckLog() []string {
	evs, err := e.st.FsckEvents(e.ctx, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		s := ev.EvCode
		if ev.DevID != 0 {
			s += ":" + strconv.Itoa(ev.DevID)
		}
		out = append(out, s)
	}
	return out
}

// sqlDB opens the test database directly, for the few changes no store
// method makes (the original's tests do the same through DBI).
func (e *env) sqlDB() *sql.DB {
	e.t.Helper()
	driver, dsn := "sqlite", ""
	if p, ok := strings.CutPrefix(e.cfg.DSN, "DBI:SQLite:dbname="); ok {
		dsn = p
	} else {
		e.t.Skip("direct SQL only on SQLite here")
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	db.Exec("PRAGMA busy_timeout = 5000")
	return db
}

func (e *env) httpDelete(url string) {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.ctx, "DELETE", url, nil)
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("DELETE %s: %s", url, resp.Status)
	}
}

func wantLog(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("fsck_log = %v, want %v", got, want)
	}
}

// The cases of the original t/60-fsck.t, in its order, on one cluster:
// host A with dev1, host B with dev2 (and dev3 later).
func TestFsckScenarios(t *testing.T) {
	t.Parallel()
	// dev3 joins later, as in the original.
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2, 3}}, lateDevs: []int{3}})
	hello := []byte("hello\n")
	fid := e.upload("testkey", "1copy", hello, 1, false)
	e.waitFor("replication queue empty", 30*time.Second, func() (bool, string) {
		return e.queueLen(store.QueueReplicate) == 0, ""
	})

	// No file_on rows at all: the search finds the copy again.
	if err := e.st.RemoveFileOn(e.ctx, fid, 1, true); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.fullFsck(false), "NOPA", "SRCH", "FOND")
	if ids := e.devids(fid); !slices.Equal(ids, []int{1}) {
		t.Errorf("after FOND the file is on %v, want [1]", ids)
	}

	// Class changed behind the replicator's back: fsck notices and
	// queues replication.
	if err := e.st.SetFileClass(e.ctx, fid, e.class["2copies"]); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.fullFsck(false), "POVI", "REPL")
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: hello}, 2, 30*time.Second)

	// Wrong devcount, otherwise fine.
	db := e.sqlDB()
	for _, wrong := range []int{13, 0, 1} {
		if _, err := db.Exec("UPDATE file SET devcount = ? WHERE fid = ?", wrong, fid); err != nil {
			t.Fatal(err)
		}
		wantLog(t, e.fullFsck(false), "BCNT")
		if f, err := e.st.FileByFID(e.ctx, fid); err != nil || f.DevCount != 2 {
			t.Errorf("devcount %d after fsck (%v), want 2", f.DevCount, err)
		}
	}

	// A copy deleted from disk.
	e.httpDelete(e.url(1, fid))
	wantLog(t, e.fullFsck(false), "MISS:1", "REPL")
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: hello}, 2, 30*time.Second)

	// A copy of the wrong length.
	e.httpPut(e.url(2, fid), []byte("hello\r\n"))
	wantLog(t, e.fullFsck(false), "BLEN:2", "REPL")
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: hello}, 2, 30*time.Second)

	// Every copy gone.
	for _, d := range e.devids(fid) {
		e.httpDelete(e.url(d, fid))
	}
	got := e.fullFsck(false)
	slices.Sort(got[:2])
	wantLog(t, got, "MISS:1", "MISS:2", "SRCH", "GONE")
	if f, err := e.st.FileByFID(e.ctx, fid); err != nil || f.DevCount != 0 || len(e.devids(fid)) != 0 {
		t.Errorf("after GONE: devcount %d, file_on %v (%v)", f.DevCount, e.devids(fid), err)
	}

	// A fresh file (replacing the lost one); a host that stops answering
	// stalls fsck until it is back.
	fid = e.upload("testkey", "2copies", hello, 1, false)
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: hello}, 2, 30*time.Second)
	proc := e.hosts[0].proc.Cmd.Process
	if err := syscall.Kill(proc.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(proc.Pid, syscall.SIGCONT)
		}
	}()
	e.waitFor("dev1 unreachable", 30*time.Second, func() (bool, string) {
		return !e.cl.Snapshot().Device(1).ShouldReadFrom(), ""
	})
	e.st.ClearFsckLog(e.ctx)
	fsckstate.Reset(e.ctx, e.st)
	e.st.SetSetting(e.ctx, "fsck_highest_fid_checked", "0")
	e.st.SetSetting(e.ctx, "fsck_host", "tracker-a")
	e.cl.Reload(e.ctx)
	e.waitFor("fsck stalled on the unreachable device", 30*time.Second, func() (bool, string) {
		return e.logs.contains("Connectivity problem reaching device 1"), ""
	})
	if n := e.queueLen(store.QueueFsck); n != 1 {
		t.Errorf("fsck queue holds %d rows, want the stalled one", n)
	}
	if err := syscall.Kill(proc.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	e.waitWriteable(e.cl)
	if err := e.st.Retry(e.ctx, store.QueueFsck, fid, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.Tell("fsck", ":wake_up"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("fsck queue emptied", 30*time.Second, func() (bool, string) {
		return e.queueLen(store.QueueFsck) == 0, ""
	})

	// Over-replicated after a class change: fsck asks the replicator,
	// which sheds the extra copy.
	if err := e.st.SetFileClass(e.ctx, fid, e.class["1copy"]); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.fullFsck(false), "POVI", "REPL")
	e.waitFor("one copy left", 30*time.Second, func() (bool, string) {
		f, err := e.st.FileByFID(e.ctx, fid)
		return err == nil && f.DevCount == 1 && len(e.devids(fid)) == 1, fmt.Sprint(e.devids(fid))
	})

	// A device marked dead with the reaper not running: fsck fixes what
	// the reaper would have.
	if err := e.st.SetFileClass(e.ctx, fid, e.class["2copies"]); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Enqueue(e.ctx, store.QueueReplicate, store.QueueItem{FID: fid}, 0); err != nil {
		t.Fatal(err)
	}
	// The row left by the shedding pass is backing off: bring it forward
	// (replicate_now).
	if _, err := e.st.ReplicateNow(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: hello}, 2, 30*time.Second)
	if err := e.w.Want("reaper", 0); err != nil {
		t.Fatal(err)
	}
	e.setStatus(e.cl, 2, "dead")
	if err := e.st.CreateDevice(e.ctx, store.Device{ID: 3, HostID: e.hosts[1].hostid, Status: "alive"}); err != nil {
		t.Fatal(err)
	}
	if err := e.cl.Refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitWriteable(e.cl)
	wantLog(t, e.fullFsck(false), "REPL")
	e.waitFor("copy moved to dev3", 30*time.Second, func() (bool, string) {
		ids := e.devids(fid)
		return slices.Equal(ids, []int{1, 3}), fmt.Sprint(ids)
	})
}

// Checksum cases of the original t/50-checksum.t and
// t/51-checksum_class_change.t.
func TestFsckChecksums(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	lazy := []byte("lazy")
	fid := e.upload("lazycksum", "md5", lazy, 1, false)
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: lazy}, 2, 30*time.Second)

	// A missing checksum row is recreated (NSUM).
	if err := e.st.DeleteChecksum(e.ctx, fid); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.fullFsck(false), "NSUM")
	if c, err := e.st.Checksum(e.ctx, fid); err != nil || c.HashType != store.HashMD5 {
		t.Fatalf("checksum after NSUM: %+v %v", c, err)
	}

	// One corrupt copy (same length): its row is dropped and the file
	// re-replicated from the good copy; the checksum stays.
	e.httpPut(e.url(1, fid), []byte("LAZY"))
	wantLog(t, e.fullFsck(false), "REPL")
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: lazy}, 2, 30*time.Second)
	before, _ := e.st.Checksum(e.ctx, fid)

	// Every copy corrupt: BSUM, and the bytes are left for a human.
	e.httpPut(e.url(1, fid), []byte("0000"))
	e.httpPut(e.url(2, fid), []byte("1111"))
	wantLog(t, e.fullFsck(false), "BSUM")
	for d, want := range map[int]string{1: "0000", 2: "1111"} {
		got, _ := os.ReadFile(e.diskPath(d, fid))
		if string(got) != want {
			t.Errorf("dev%d holds %q, want %q left alone", d, got, want)
		}
	}
	if after, _ := e.st.Checksum(e.ctx, fid); !bytes.Equal(after.Sum, before.Sum) {
		t.Errorf("checksum changed by fsck")
	}

	// Corrupt copies and no checksum row: BSUM as well.
	if err := e.st.DeleteChecksum(e.ctx, fid); err != nil {
		t.Fatal(err)
	}
	wantLog(t, e.fullFsck(false), "BSUM")

	// fsck_checksum=MD5 on a class without a hash type: disagreeing
	// copies are MSUM, agreeing ones are fine and nothing is stored.
	fid2 := e.upload("plain", "2copies", []byte("same"), 1, false)
	e.waitCopies([]int64{fid2}, map[int64][]byte{fid2: []byte("same")}, 2, 30*time.Second)
	if err := e.st.SetSetting(e.ctx, "fsck_checksum", "MD5"); err != nil {
		t.Fatal(err)
	}
	e.httpPut(e.url(1, fid), lazy) // repair the md5 file's copies
	e.httpPut(e.url(2, fid), lazy)
	got := e.fullFsck(false)
	// The md5-class file had no checksum row: stored again (NSUM).
	wantLog(t, got, "NSUM")
	if _, err := e.st.Checksum(e.ctx, fid2); err == nil {
		t.Errorf("fsck_checksum stored a checksum for a class without a hash type")
	}
	e.httpPut(e.url(2, fid2), []byte("SAME"))
	wantLog(t, e.fullFsck(false), "MSUM")

	// The class changes to SHA-1 after the MD5 was stored: BALG.
	if err := e.st.DeleteSetting(e.ctx, "fsck_checksum"); err != nil {
		t.Fatal(err)
	}
	db := e.sqlDB()
	if _, err := db.Exec("UPDATE class SET hashtype = 2 WHERE dmid = ? AND classid = ?", e.dmid, e.class["md5"]); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the tracker sees the class change", 10*time.Second, func() (bool, string) {
		if err := e.cl.Reload(e.ctx); err != nil {
			return false, err.Error()
		}
		c := e.cl.Snapshot().DomainByID(e.dmid).ClassByID(e.class["md5"])
		return c.HashType == store.HashSHA1, fmt.Sprint("hashtype ", c.HashType)
	})
	wantLog(t, e.fullFsck(false), "BALG")

	// policy_only skips the copies altogether.
	e.httpDelete(e.url(1, fid))
	wantLog(t, e.fullFsck(true), []string(nil)...)
}

// One batch holding a good file, a file whose upload is still open, one
// with a copy missing on disk, one with a copy of the wrong size and a
// queued fid with no file row: each gets its own outcome.
func TestFsckBatchOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	data := []byte("batch\n")
	fids := map[string]int64{}
	for _, k := range []string{"good", "open", "missing", "wrongsize"} {
		fids[k] = e.upload(k, "2copies", data, 1, false)
	}
	all := []int64{fids["good"], fids["open"], fids["missing"], fids["wrongsize"]}
	e.waitCopies(all, map[int64][]byte{all[0]: data, all[1]: data, all[2]: data, all[3]: data}, 2, 30*time.Second)
	db := e.sqlDB()
	now, err := e.st.Now(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Created now: the tempfile reaper leaves it alone.
	if _, err := db.Exec("INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) VALUES (?, ?, ?, ?, 'open', '1')",
		fids["open"], now, e.class["2copies"], e.dmid); err != nil {
		t.Fatal(err)
	}
	e.httpDelete(e.url(1, fids["missing"]))
	e.httpPut(e.url(2, fids["wrongsize"]), []byte("batch, longer\n"))
	noRow := all[3] + 1000
	if err := e.st.Enqueue(e.ctx, store.QueueFsck, store.QueueItem{FID: noRow}, 0); err != nil {
		t.Fatal(err)
	}

	e.startFsck(false)
	e.waitFor("every fid checked but the open upload", e.runTimeout, func() (bool, string) {
		host := e.setting("fsck_host")
		n := e.queueLen(store.QueueFsck)
		return host == "" && n == 1, fmt.Sprintf("fsck_host %q, %d queued", host, n)
	})
	byFID := func() map[int64][]string {
		evs, err := e.st.FsckEvents(e.ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64][]string{}
		for _, ev := range evs {
			s := ev.EvCode
			if ev.DevID != 0 {
				s += ":" + strconv.Itoa(ev.DevID)
			}
			out[ev.FID] = append(out[ev.FID], s)
		}
		return out
	}
	got := byFID()
	for k, want := range map[string][]string{
		"good": nil, "open": nil, "missing": {"MISS:1", "REPL"}, "wrongsize": {"BLEN:2", "REPL"},
	} {
		if !slices.Equal(got[fids[k]], want) {
			t.Errorf("%s (fid %d): fsck_log %v, want %v", k, fids[k], got[fids[k]], want)
		}
	}
	if len(got) != 2 {
		t.Errorf("fsck_log has events of %d fids, want 2: %v", len(got), got)
	}
	if now, err = e.st.Now(e.ctx); err != nil {
		t.Fatal(err)
	}
	dbg, err := e.st.FileDebug(e.ctx, fids["open"])
	if err != nil {
		t.Fatal(err)
	}
	if dbg.Fsck == nil || dbg.Fsck.NextTry < now+50 {
		t.Errorf("open upload's fsck row %+v (now %d), want it rescheduled a minute ahead", dbg.Fsck, now)
	}
	if !e.logs.contains("upload still open; checking later") {
		t.Error("no log line for the open upload")
	}
	if ids := e.devids(fids["good"]); !slices.Equal(ids, []int{1, 2}) {
		t.Errorf("good file now on %v, want [1 2]", ids)
	}
	e.waitCopies([]int64{fids["missing"], fids["wrongsize"]},
		map[int64][]byte{fids["missing"]: data, fids["wrongsize"]: data}, 2, 30*time.Second)

	// The upload closes: the next check finds the file fine.
	if err := e.st.DeleteTempfile(e.ctx, fids["open"]); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Retry(e.ctx, store.QueueFsck, fids["open"], 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.Tell("job_master", ":wake_up"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("open upload checked", 30*time.Second, func() (bool, string) {
		n := e.queueLen(store.QueueFsck)
		return n == 0, fmt.Sprintf("%d queued", n)
	})
	if got := byFID(); len(got[fids["open"]]) != 0 {
		t.Errorf("closed upload: fsck_log %v, want nothing", got[fids["open"]])
	}
}
