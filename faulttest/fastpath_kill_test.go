package faulttest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestFastpathNodeKilled: two storage nodes take uploads through the
// fast path (/_put, class of one copy, clients in FastPathOnly mode so
// that no upload falls back to the three-step path) and one node gets
// SIGKILL mid-load.
//
//  1. The clients keep going: uploads after the kill are acknowledged by
//     the surviving node. Only acknowledged uploads count; a failed one
//     is absent or complete, never half there.
//  2. The killed node restarts on its docroot: every acknowledged key
//     names the fid its upload was acknowledged with, on the device it
//     was written to, once, and reads back byte for byte (get_paths and
//     an ordinary GET, not the fast path).
//  3. The tracker restarts with its tempfile reaper made fast (TESTING,
//     T_TEMPFILE_TOO_OLD): once no tempfile row is older than the limit
//     and the delete queue is empty, every .fid file in both docroots is
//     a committed copy (a file_on row of its device) or belongs to a
//     lease still live (a tempfile row); the files the killed node wrote
//     and never committed are gone, and every acknowledged key still
//     reads back.
//
// Figures: uploads acknowledged before and after the kill, failed
// uploads, uncommitted files left on disk by the kill and reaped.
func TestFastpathNodeKilled(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "fpkill", "one"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{class: 1},
		FastPath: true, NodeArgs: []string{"--nofsync"}})
	cl.WaitFastPath(t)
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	sz := sizes{1 << 10, 8 << 10}
	victim := cl.Nodes[1]

	fast, err := client.New(client.Config{Domain: domain, Trackers: []string{cl.Tracker.Addr}, Timeout: 10 * time.Second,
		FastPath: client.FastPathOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	killAt, afterKill := int64(scale(100, 2000)), int64(scale(120, 3000))
	var strays sync.WaitGroup
	var killErr error
	res := fastLoad(ctx, fast, class, sz, 8, killAt, afterKill, scale(20000, 200000), func() {
		killErr = killBeforeCommit(cl.Tracker, victim, db, domain, class, &strays)
	})
	strays.Wait()
	if killErr != nil {
		t.Fatal(killErr)
	}
	st := fast.Stats()
	t.Logf("load: %d acknowledged (%d after the kill), %d failed; fast-path puts %d, three-step %d, fallbacks %d",
		len(res.acked), res.ackedAfterKill, len(res.failed), st.FastPathPuts, st.ThreeStepPuts, st.FastPathFallbacks)
	if len(res.failed) > 0 {
		t.Logf("upload errors:\n%s", res.errorSummary())
	}
	if !res.killed || res.ackedAfterKill < afterKill {
		t.Fatalf("killed %v, %d uploads acknowledged after the kill (want %d)\n%s", res.killed, res.ackedAfterKill, afterKill, res.errorSummary())
	}
	if st.ThreeStepPuts != 0 || st.FastPathFallbacks != 0 {
		t.Fatalf("FastPathOnly client went the three-step way: %+v", st)
	}
	byFID := map[int64]string{}
	for k, s := range res.acked {
		if other, ok := byFID[s.FID]; ok {
			t.Errorf("fid %d acknowledged for %q and %q", s.FID, other, k)
		}
		byFID[s.FID] = k
	}

	// 2. The killed node back on its docroot.
	victim.Proc = restart(t, victim.Proc)
	victim.Mogstored.Proc = victim.Proc
	victim.Proc.WaitPort(t, victim.Mogstored.HTTPAddr, 30*time.Second)
	cl.WaitWriteable(t, cl.Tracker.Conn(t))
	plain := newClient(t, domain, 20*time.Second, cl.Tracker.Addr)
	checkCommitted(t, db, res.acked)
	lost := checkAcked(t, ctx, plain, res.keys(), sz)
	absent, complete, half := checkUnacked(t, ctx, plain, res.failedKeys(), sz)
	roots := []string{cl.Nodes[0].DocRoot, victim.DocRoot}
	orphans := uncommittedFiles(t, db, roots, false)
	t.Logf("after the restart: %d uncommitted .fid files on disk (leases of the kill)", len(orphans))
	if len(orphans) == 0 {
		t.Fatal("no uncommitted file on disk after the kill: the second stray upload should have left one")
	}

	// 3. The reaper made fast.
	limit, reapWait := reapOnNewTracker(t, cl, db, roots, orphans)
	lost += checkAcked(t, ctx, plain, res.keys(), sz)
	figure(t, "acknowledged=%d (after_kill=%d) failed=%d (absent %d, complete %d, half-there %d) acknowledged_lost=%d "+
		"uncommitted_files_after_kill=%d reaped_in=%.1fs tempfile_limit=%ds",
		len(res.acked), res.ackedAfterKill, len(res.failed), absent, complete, half, lost, len(orphans), reapWait.Seconds(), limit)
}

// reapOnNewTracker replaces the cluster's tracker with one whose
// tempfile reaper is fast, waits until the stale leases are reaped and
// their files deleted, and checks the docroots: the orphans are gone, and
// every .fid file left is committed or of a live lease. It returns the
// tempfile limit in seconds and how long reaping took.
func reapOnNewTracker(t *testing.T, cl *mogtest.Cluster, db *sql.DB, roots, orphans []string) (int64, time.Duration) {
	t.Helper()
	orphanFIDs := make([]int64, len(orphans))
	for i, p := range orphans {
		orphanFIDs[i], _ = strconv.ParseInt(strings.TrimSuffix(filepath.Base(p), ".fid"), 10, 64)
	}
	// A new tracker on the same database and address (the nodes'
	// --trackers), its tempfile limit just past the age of the oldest
	// lease, so that rows become stale only after its monitor has seen
	// the devices (a delete to a device not yet seen writeable is put off
	// for minutes).
	oldest, err := queryInt(t, db, "SELECT MIN(createtime) FROM tempfile")
	if err != nil || oldest == 0 {
		t.Fatalf("oldest tempfile row: %d, %v", oldest, err)
	}
	limit := time.Now().Unix() - oldest + 8
	cl.Tracker.Proc.Kill()
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: cl.Tracker.DSN, User: cl.Tracker.User, Pass: cl.Tracker.Pass,
		Addr: cl.Tracker.Addr, StreamPort: cl.StreamPort, Env: []string{"TESTING=1", "T_TEMPFILE_TOO_OLD=" + strconv.FormatInt(limit, 10)}})
	cl.WaitWriteable(t, tr.Conn(t))
	if queued, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_to_delete2"); queued != 0 {
		t.Fatalf("%d deletions queued before the new tracker saw its devices (tempfile limit %d s too short)", queued, limit)
	}
	// Stale: older than the limit plus the delete worker's longest idle
	// pause (5 s) between two reaping passes.
	reapWait := waitFor(t, "stale tempfile rows reaped and their files deleted", 60*time.Second, func() (bool, string) {
		stale, err1 := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE createtime < ?", time.Now().Unix()-limit-6)
		queued, err2 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_delete2")
		if err1 != nil || err2 != nil {
			return false, fmt.Sprint(err1, err2)
		}
		leased := 0
		for _, fid := range orphanFIDs {
			n, _ := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE fid = ?", fid)
			leased += int(n)
		}
		return stale == 0 && queued == 0 && leased == 0,
			fmt.Sprintf("%d stale tempfile rows, %d deletions queued, %d of %d uncommitted fids still leased", stale, queued, leased, len(orphanFIDs))
	})
	for _, p := range orphans {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("uncommitted %s still there after its lease was reaped: %v", p, err)
		}
	}
	if left := uncommittedFiles(t, db, roots, true); len(left) > 0 {
		t.Errorf("%d .fid files neither committed on their device nor of a live lease after reaping, e.g. %v", len(left), left[:min(5, len(left))])
	}
	return limit, reapWait
}

// fastResult is the outcome of fastLoad.
type fastResult struct {
	acked          map[string]client.Stored
	failed         map[string]error
	killed         bool
	ackedAfterKill int64
}

func (r *fastResult) keys() []string {
	out := make([]string, 0, len(r.acked))
	for k := range r.acked {
		out = append(out, k)
	}
	return out
}

func (r *fastResult) failedKeys() []string {
	out := make([]string, 0, len(r.failed))
	for k := range r.failed {
		out = append(out, k)
	}
	return out
}

func (r *fastResult) errorSummary() string {
	u := &uploads{failed: r.failed}
	return u.errorSummary()
}

// fastLoad uploads unique keys with workers goroutines, runs kill once
// killAt uploads were acknowledged, and stops afterKill acknowledgements
// later (or after max keys). Each key is uploaded once.
func fastLoad(ctx context.Context, c *client.Client, class string, sz sizes, workers int, killAt, afterKill int64, max int,
	kill func()) *fastResult {
	r := &fastResult{acked: map[string]client.Stored{}, failed: map[string]error{}}
	var mu sync.Mutex
	var acks, next atomic.Int64
	var killedAt atomic.Int64 // acks when the kill returned; 0 before
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if k := killedAt.Load(); k > 0 && acks.Load()-k >= afterKill {
					return
				}
				i := next.Add(1)
				if i > int64(max) {
					return
				}
				key := fmt.Sprintf("fp/%06d", i)
				b := sz.of(key)
				st, err := c.StoreWith(ctx, key, class, bytes.NewReader(b), int64(len(b)), client.Commit{})
				mu.Lock()
				if err != nil {
					r.failed[key] = err
				} else {
					r.acked[key] = st
				}
				mu.Unlock()
				if err == nil && acks.Add(1) == killAt {
					once.Do(func() {
						kill()
						killedAt.Store(acks.Load())
					})
				}
			}
		}()
	}
	wg.Wait()
	if k := killedAt.Load(); k > 0 {
		r.killed, r.ackedAfterKill = true, acks.Load()-k
	}
	return r
}

// checkCommitted checks in the database that every acknowledged key
// names the fid it was acknowledged with, that fid has one copy, on the
// device the node reported, and no tempfile row is left for it.
func checkCommitted(t testing.TB, db *sql.DB, acked map[string]client.Stored) {
	t.Helper()
	bad := 0
	for key, st := range acked {
		var fid int64
		var devcount int
		err := db.QueryRow("SELECT fid, devcount FROM file WHERE dkey = ?", key).Scan(&fid, &devcount)
		on, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ? AND devid = ?", st.FID, st.DevID)
		onAll, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ?", st.FID)
		temp, _ := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE fid = ?", st.FID)
		if err != nil || fid != st.FID || devcount != 1 || on != 1 || onAll != 1 || temp != 0 {
			bad++
			if bad <= 20 {
				t.Errorf("acknowledged %q as fid %d on dev %d: file row fid %d devcount %d (%v), file_on %d/%d, tempfile %d",
					key, st.FID, st.DevID, fid, devcount, err, on, onAll, temp)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d acknowledged keys not committed as acknowledged", bad, len(acked))
	}
}

// uncommittedFiles walks the docroots and returns the .fid files that are
// not a committed copy on their device (a file_on row); with allowLive,
// files whose fid still has a tempfile row (a lease still live) are left
// out too.
func uncommittedFiles(t testing.TB, db *sql.DB, roots []string, allowLive bool) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".fid") {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			dev, _, _ := strings.Cut(rel, string(filepath.Separator))
			devid, derr := strconv.Atoi(strings.TrimPrefix(dev, "dev"))
			fid, ferr := strconv.ParseInt(strings.TrimSuffix(filepath.Base(p), ".fid"), 10, 64)
			if derr != nil || ferr != nil {
				out = append(out, p)
				return nil
			}
			on, qerr := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ? AND devid = ?", fid, devid)
			if qerr != nil {
				return qerr
			}
			if on == 1 {
				return nil
			}
			if allowLive {
				if temp, _ := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE fid = ?", fid); temp == 1 {
					return nil
				}
			}
			out = append(out, p)
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	return out
}

// killBeforeCommit makes sure the kill leaves files written and never
// committed: it stops the tracker (SIGSTOP), so that the node's commit in
// flight gets no answer, sends the node two uploads of its own (the
// second, at least, waits in the node's queue behind a commit in flight),
// waits until both are on the node's disk, kills the node (SIGKILL) and
// lets the tracker go on (SIGCONT). The two uploads are never
// acknowledged; done is released when they have returned.
func killBeforeCommit(tr *mogtest.Tracker, victim *mogtest.Node, db *sql.DB, domain, class string, done *sync.WaitGroup) error {
	if err := tr.Proc.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("stop the tracker: %w", err)
	}
	defer tr.Proc.Cmd.Process.Signal(syscall.SIGCONT)
	hc := &http.Client{Timeout: 30 * time.Second}
	var bodies [][]byte
	for i := 1; i <= 2; i++ {
		key := fmt.Sprintf("stray/%d", i)
		b := content(key, 4096, 4096)
		bodies = append(bodies, b)
		u := victim.Mogstored.URL("/_put?domain=" + domain + "&key=" + key + "&class=" + class)
		done.Add(1)
		go func() {
			defer done.Done()
			req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(b))
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	// The node's commit timeout is 3 s: the tracker must not stay
	// stopped that long, or the node answers the uploads itself.
	deadline := time.Now().Add(2 * time.Second)
	for !straysOnDisk(victim.DocRoot, bodies) {
		if time.Now().After(deadline) {
			victim.Proc.Kill()
			return errors.New("the two stray uploads did not reach the node's disk within 2 s")
		}
		time.Sleep(5 * time.Millisecond) // polling the node's disk
	}
	victim.Proc.Kill()
	return nil
}

// straysOnDisk reports whether every body is the full content of some
// .fid file under root.
func straysOnDisk(root string, bodies [][]byte) bool {
	found := make([]bool, len(bodies))
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".fid") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for i, want := range bodies {
			if bytes.Equal(b, want) {
				found[i] = true
			}
		}
		return nil
	})
	for _, f := range found {
		if !f {
			return false
		}
	}
	return true
}

// TestFastpathTrackerKilled: two trackers on one MariaDB database, two
// storage nodes naming both (the nodes send their commits to the trackers
// in turn); one tracker gets SIGKILL mid-load. Commits it had in flight
// are sent again to the other tracker (fastpath_commit is idempotent by
// fid). No acknowledged upload is lost, every acknowledged key names the
// fid it was acknowledged with, with one copy, and no fid was
// acknowledged twice. Runs when MOGTEST_MYSQL_DSN is set.
func TestFastpathTrackerKilled(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	m := mogtest.NewMySQL(t)
	const domain, class = "fpkill", "one"
	a, b := mogtest.FreeAddr(t, "127.0.0.1"), mogtest.FreeAddr(t, "127.0.0.1")
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{class: 1},
		Tracker: mogtest.TrackerOptions{MySQL: &m, Addr: a}, NodeArgs: []string{"--nofsync", "--trackers=" + a + "," + b}})
	second := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: cl.Tracker.DSN, User: cl.Tracker.User, Pass: cl.Tracker.Pass,
		Addr: b, StreamPort: cl.StreamPort})
	cl.WaitWriteable(t, second.Conn(t))
	cl.WaitFastPath(t)
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	sz := sizes{1 << 10, 8 << 10}
	fast, err := client.New(client.Config{Domain: domain, Trackers: []string{a, b}, Timeout: 10 * time.Second,
		FastPath: client.FastPathOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	killAt, afterKill := int64(scale(300, 3000)), int64(scale(300, 3000))
	res := fastLoad(ctx, fast, class, sz, 8, killAt, afterKill, scale(20000, 200000), second.Proc.Kill)
	st := fast.Stats()
	t.Logf("load: %d acknowledged (%d after the kill), %d failed; fast-path puts %d, three-step %d",
		len(res.acked), res.ackedAfterKill, len(res.failed), st.FastPathPuts, st.ThreeStepPuts)
	if len(res.failed) > 0 {
		t.Logf("upload errors:\n%s", res.errorSummary())
	}
	if !res.killed || res.ackedAfterKill < afterKill || st.ThreeStepPuts != 0 {
		t.Fatalf("killed %v, %d uploads acknowledged after the kill (want %d), %d three-step", res.killed, res.ackedAfterKill, afterKill, st.ThreeStepPuts)
	}
	byFID := map[int64]string{}
	for k, s := range res.acked {
		if other, ok := byFID[s.FID]; ok {
			t.Errorf("fid %d acknowledged for %q and %q", s.FID, other, k)
		}
		byFID[s.FID] = k
	}
	checkCommitted(t, db, res.acked)
	plain := newClient(t, domain, 20*time.Second, a)
	lost := checkAcked(t, ctx, plain, res.keys(), sz)
	absent, complete, half := checkUnacked(t, ctx, plain, res.failedKeys(), sz)
	multi, err := queryInt(t, db, "SELECT COUNT(*) FROM (SELECT fid FROM file_on GROUP BY fid HAVING COUNT(*) > 1) x")
	if err != nil || multi != 0 {
		t.Errorf("%d fids with more than one copy in a class of one (%v)", multi, err)
	}
	figure(t, "acknowledged=%d (after_kill=%d) failed=%d (absent %d, complete %d, half-there %d) acknowledged_lost=%d",
		len(res.acked), res.ackedAfterKill, len(res.failed), absent, complete, half, lost)
}
