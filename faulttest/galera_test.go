package faulttest

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest/galeratest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// galeraSite is two trackers on a 3-node Galera cluster, tracker A on
// node 1 (then 2, 3), tracker B on node 2 (then 3, 1), and two storage
// nodes.
type galeraSite struct {
	g    *galeratest.Cluster
	cl   *mogtest.Cluster
	a, b *mogtest.Tracker
}

func startGaleraSite(t *testing.T, domain string, classes map[string]int) *galeraSite {
	t.Helper()
	g := galeratest.Start(t, 3)
	mogtest.SetupSchema(t, g.DBIDSN(0), "root", "")
	dsns := func(order ...int) []string {
		var out []string
		for _, i := range order[1:] {
			out = append(out, "--dsn="+g.DBIDSN(i))
		}
		return append(out, "--debug")
	}
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: classes,
		Tracker:  mogtest.TrackerOptions{DSN: g.DBIDSN(0), User: "root", Args: dsns(0, 1, 2)},
		NodeArgs: []string{"--nofsync"}})
	b := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: g.DBIDSN(1), User: "root", StreamPort: cl.StreamPort,
		Args: dsns(1, 2, 0)})
	cl.WaitWriteable(t, b.Conn(t))
	return &galeraSite{g: g, cl: cl, a: cl.Tracker, b: b}
}

// TestGaleraTwoTrackers: uploads from 8 clients spread over two trackers
// on two Galera nodes while, in turn, tracker A's database node is killed
// (A fails over to the next node), tracker A itself is killed (clients
// fail over to B), the database node comes back and tracker A is started
// again. Every acknowledged upload reads back with its bytes, no fid
// belongs to two keys, every file reaches its class's 2 copies with the
// disks holding exactly the copies the database lists, and a full fsck
// finds nothing. Throughout, exactly one tracker is job master: the lease
// row never passes to another tracker before it expired, the trackers'
// logs show no two job masters at once, and once tracker A, the job
// master, is killed, B takes over within the lease's lifetime and a poll.
func TestGaleraTwoTrackers(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "gal", "two"
	site := startGaleraSite(t, domain, map[string]int{class: 2})
	a, b := site.a, site.b
	db := openDB(t, site.g.DBIDSN(1), "root", "")
	lease := watchLease(db)
	makeJobMaster(t, lease, a, b)
	sz := sizes{512, 16 << 10}

	var acked atomic.Int64
	var stopped atomic.Bool
	results := make([]*uploads, 8)
	var wg sync.WaitGroup
	for i := range results {
		trackers := []string{a.Addr, b.Addr}
		if i%2 == 1 {
			trackers = []string{b.Addr, a.Addr}
		}
		c := newClient(t, domain, 20*time.Second, trackers...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = uploadWhile(ctx, c, class, fmt.Sprintf("c%d", i), 1, 1<<20, sz,
				func(int64) { acked.Add(1) }, func() bool { return !stopped.Load() })
		}()
	}
	step := int64(scale(60, 600))
	waitAcked := func(what string) {
		t.Helper()
		target := acked.Load() + step
		waitFor(t, fmt.Sprintf("%d more acknowledged uploads %s", step, what), 120*time.Second, func() (bool, string) {
			n := acked.Load()
			return n >= target, fmt.Sprintf("%d of %d acknowledged", n, target)
		})
	}
	waitAcked("before the faults")
	site.g.Kill(t, 0)
	waitAcked("after kill -9 of tracker A's database node")
	a.Proc.Kill()
	<-a.Proc.Exited()
	aExited := time.Now()
	waitAcked("after kill -9 of tracker A")
	site.g.Restart(t, 0)
	aProc := restart(t, a.Proc)
	aProc.WaitPort(t, a.Addr, 60*time.Second)
	waitAcked("with the database node and tracker A back")
	stopped.Store(true)
	wg.Wait()

	var keys []string
	failed := 0
	for _, u := range results {
		keys = append(keys, u.ackedKeys()...)
		failed += len(u.failedKeys())
	}
	cb := newClient(t, domain, 20*time.Second, b.Addr, a.Addr)
	lost := checkAcked(t, ctx, cb, keys, sz)
	fids := fidsOf(t, ctx, cb, keys)
	owner := map[int64]string{}
	dupFids := 0
	for k, f := range fids {
		if o, ok := owner[f]; ok {
			dupFids++
			t.Errorf("fid %d belongs to %q and %q", f, o, k)
		}
		owner[f] = k
	}
	// The failed uploads are absent or complete, never half there.
	for _, u := range results {
		var fk []string
		for k := range u.failedKeys() {
			fk = append(fk, k)
		}
		checkUnacked(t, ctx, cb, fk, sz)
	}

	settle := waitFor(t, "2 copies of every file, replicate queue empty", 180*time.Second, func() (bool, string) {
		repl, e1 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_replicate")
		short, e2 := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) <> 2")
		if err := firstErr(e1, e2); err != nil {
			return false, err.Error()
		}
		return repl == 0 && short == 0, fmt.Sprintf("replicate queue %d, files without exactly 2 copies %d", repl, short)
	})
	rows, err := queryInt(t, db, "SELECT COUNT(*) FROM file_on")
	if err != nil {
		t.Fatal(err)
	}
	// The disks hold the copies the database lists, plus the files of
	// uploads that died between PUT and create_close: those are still in
	// tempfile, where the tempfile reaper finds and deletes them.
	onDisk, pending := 0, 0
	for _, nd := range site.cl.Nodes {
		for _, fid := range fidsOnDisk(t, nd.DocRoot) {
			onDisk++
			listed, e1 := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ?", fid)
			temp, e2 := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE fid = ?", fid)
			switch {
			case firstErr(e1, e2) != nil:
				t.Fatal(firstErr(e1, e2))
			case listed == 0 && temp == 1:
				pending++
			case listed == 0:
				t.Errorf("fid %d on %s: neither a copy in the database nor a tempfile the reaper cleans", fid, nd.Hostname)
			}
		}
	}
	if int64(onDisk-pending) != rows {
		t.Errorf("%d .fid files on the disks (%d of unfinished uploads), %d file_on rows", onDisk, pending, rows)
	}

	// A full fsck through tracker B finds nothing to report.
	tc := &tconn{addr: b.Addr}
	defer tc.close()
	tc.do("fsck_stop", nil)
	tc.mustDo(t, "fsck_clearlog", nil)
	tc.mustDo(t, "fsck_reset", nil)
	tc.mustDo(t, "fsck_start", nil)
	waitFor(t, "the fsck run", 180*time.Second, func() (bool, string) {
		st := tc.mustDo(t, "fsck_status", nil)
		fq, err := queryInt(t, db, "SELECT COUNT(*) FROM file_to_queue WHERE type = 1")
		if err != nil {
			return false, err.Error()
		}
		return st["running"] == "0" && fq == 0 && st["max_fid_checked"] == st["end_fid"],
			fmt.Sprintf("running %s, checked up to %s of %s, fsck queue %d", st["running"], st["max_fid_checked"], st["end_fid"], fq)
	})
	logRows := tc.mustDo(t, "fsck_getlog", wire.Args{"after_logid": "0"})
	if n, _ := strconv.Atoi(logRows["row_count"]); n != 0 {
		t.Errorf("fsck found %d problems: %v", n, logRows)
	}
	noLease := lease.finish(t)
	if noLease > jobMasterTakeover {
		t.Errorf("the database had no live job-master lease for %v, want at most %v", noLease, jobMasterTakeover)
	}
	takeovers := checkMasterTerms(t, masterTerms(t, []trackerRun{
		{name: "A", proc: a.Proc, exited: aExited}, {name: "A (restarted)", proc: aProc}, {name: "B", proc: b.Proc},
	}, time.Now()))
	if len(takeovers) != 1 {
		t.Errorf("%d takeovers after a killed job master, want 1 (tracker A's)", len(takeovers))
	}
	figure(t, "acknowledged=%d failed_uploads=%d acknowledged_lost=%d duplicate_fids=%d file_on_rows=%d copies_on_disk=%d "+
		"unfinished_upload_files=%d settled_in=%.1fs job_master_takeover=%v db_longest_without_lease=%v",
		len(keys), failed, lost, dupFids, rows, onDisk, pending, settle.Seconds(), takeovers, noLease.Round(time.Millisecond))
}

// TestGaleraConflictingCommands: both trackers rename and delete the same
// keys at once, through different Galera nodes. No key answers OK to two
// conflicting commands, and what is left agrees with the commands that
// answered OK.
func TestGaleraConflictingCommands(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "galc", "one"
	site := startGaleraSite(t, domain, map[string]int{class: 1})
	ca := newClient(t, domain, 20*time.Second, site.a.Addr)
	cb := newClient(t, domain, 20*time.Second, site.b.Addr)
	sz := sizes{100, 100}
	keys := keyList("k", scale(100, 1000))
	if u := upload(ctx, ca, class, keys, 8, sz, nil); len(u.failedKeys()) > 0 {
		t.Fatalf("uploads failed: %s", u.errorSummary())
	}

	// Round 1: A renames k to k.a while B renames k to k.b.
	both, none := 0, 0
	parallel(keys, 8, func(k string) {
		errA, errB := raceRenames(ctx, ca, cb, k)
		okA, okB := errA == nil, errB == nil
		existsA, existsB, existsK := exists(ctx, cb, k+".a"), exists(ctx, ca, k+".b"), exists(ctx, ca, k)
		switch {
		case okA && okB:
			both++
			t.Errorf("%s: both renames answered OK", k)
		case okA:
			if !existsA || existsB || existsK {
				t.Errorf("%s: rename to .a answered OK, but .a %v, .b %v, original %v", k, existsA, existsB, existsK)
			}
		case okB:
			if existsA || !existsB || existsK {
				t.Errorf("%s: rename to .b answered OK, but .a %v, .b %v, original %v", k, existsA, existsB, existsK)
			}
		default:
			none++
			if existsA || existsB || !existsK {
				t.Errorf("%s: no rename answered OK (%v; %v), but .a %v, .b %v, original %v", k, errA, errB, existsA, existsB, existsK)
			}
		}
	})

	// Round 2: A deletes what round 1 left while B renames it to .c.
	delRename := 0
	parallel(keys, 8, func(k string) {
		from := k
		for _, s := range []string{".a", ".b"} {
			if exists(ctx, ca, k+s) {
				from = k + s
			}
		}
		var errA, errB error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); errA = ca.Delete(ctx, from) }()
		go func() { defer wg.Done(); errB = cb.Rename(ctx, from, k+".c") }()
		wg.Wait()
		existsFrom, existsC := exists(ctx, cb, from), exists(ctx, ca, k+".c")
		switch {
		case errA == nil && errB == nil:
			delRename++
			t.Errorf("%s: delete and rename both answered OK", from)
		case errA == nil:
			if existsFrom || existsC {
				t.Errorf("%s: delete answered OK, but it %v, .c %v", from, existsFrom, existsC)
			}
		case errB == nil:
			if existsFrom || !existsC {
				t.Errorf("%s: rename answered OK, but it %v, .c %v", from, existsFrom, existsC)
			}
		}
	})
	bothF, lostAnswers := conflictsThroughFailover(t, ctx, site, domain, class, ca, cb, sz)
	figure(t, "keys=%d both_renames_ok=%d neither_ok=%d delete_and_rename_ok=%d failover_both_ok=%d failover_answer_lost=%d",
		len(keys), both, none, delRename, bothF, lostAnswers)
}

// raceRenames renames k to k.a through ca and to k.b through cb at once.
func raceRenames(ctx context.Context, ca, cb *client.Client, k string) (errA, errB error) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errA = ca.Rename(ctx, k, k+".a") }()
	go func() { defer wg.Done(); errB = cb.Rename(ctx, k, k+".b") }()
	wg.Wait()
	return errA, errB
}

// conflictsThroughFailover is round 3 of TestGaleraConflictingCommands:
// the two trackers rename the same keys at once (A to k.a, B to k.b)
// while tracker A's database node is killed and later brought back. No
// key may answer OK to both renames, an OK must agree with what is left,
// and every key ends under exactly one of its three names. A rename that
// answered an error may still have happened (its commit reached the
// cluster, the answer did not: lostAnswers counts those); nothing else
// is allowed.
func conflictsThroughFailover(t *testing.T, ctx context.Context, site *galeraSite, domain, class string,
	ca, cb *client.Client, sz sizes) (both, lostAnswers int) {
	keys := keyList("f", scale(300, 3000))
	if u := upload(ctx, ca, class, keys, 8, sz, nil); len(u.failedKeys()) > 0 {
		t.Fatalf("uploads failed: %s", u.errorSummary())
	}
	type outcome struct{ okA, okB bool }
	var mu sync.Mutex
	outcomes := map[string]outcome{}
	var done atomic.Int64
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		parallel(keys, 8, func(k string) {
			errA, errB := raceRenames(ctx, ca, cb, k)
			mu.Lock()
			outcomes[k] = outcome{errA == nil, errB == nil}
			mu.Unlock()
			done.Add(1)
		})
	}()
	waitFor(t, "the first renames", 120*time.Second, func() (bool, string) {
		return done.Load() >= int64(len(keys)/6), fmt.Sprintf("%d of %d keys", done.Load(), len(keys))
	})
	site.g.Kill(t, 0)
	killedAt := done.Load()
	waitFor(t, "renames with tracker A's database node down", 120*time.Second, func() (bool, string) {
		return done.Load() >= int64(len(keys)/2), fmt.Sprintf("%d of %d keys", done.Load(), len(keys))
	})
	site.g.Restart(t, 0)
	restartedAt := done.Load()
	<-finished
	t.Logf("failover round: node killed after %d keys, back after %d, of %d", killedAt, restartedAt, len(keys))

	check := newClient(t, domain, 20*time.Second, site.b.Addr, site.a.Addr)
	present := func(key string) bool {
		_, err := check.FileInfo(ctx, key)
		if err != nil && !client.IsUnknownKey(err) {
			t.Errorf("file_info %s: %v", key, err)
		}
		return err == nil
	}
	for _, k := range keys {
		o := outcomes[k]
		isK, isA, isB := present(k), present(k+".a"), present(k+".b")
		n := 0
		for _, b := range []bool{isK, isA, isB} {
			if b {
				n++
			}
		}
		switch {
		case n != 1:
			t.Errorf("%s: under %d names (original %v, .a %v, .b %v), want exactly one", k, n, isK, isA, isB)
		case o.okA && o.okB:
			both++
			t.Errorf("%s: both renames answered OK", k)
		case o.okA && !isA, o.okB && !isB:
			t.Errorf("%s: a rename answered OK (A %v, B %v), but .a %v, .b %v, original %v", k, o.okA, o.okB, isA, isB, isK)
		case !o.okA && !o.okB && !isK:
			lostAnswers++
		}
	}
	return both, lostAnswers
}

// fidsOnDisk lists the fids of the .fid files under a docroot.
func fidsOnDisk(t testing.TB, root string) []int64 {
	t.Helper()
	var out []int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name, ok := strings.CutSuffix(d.Name(), ".fid"); ok && !d.IsDir() {
			fid, err := strconv.ParseInt(name, 10, 64)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, fid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// exists asks the tracker whether key is there.
func exists(ctx context.Context, c *client.Client, key string) bool {
	_, err := c.FileInfo(ctx, key)
	return err == nil
}
