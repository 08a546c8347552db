package faulttest

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

var copiedRe = regexp.MustCompile(`msg="replicate: copied" fid=(\d+)`)

// TestTwoTrackersOneMariaDB: two trackers, each with its job master and
// workers, share one MariaDB database under a load of uploads, bare
// create_opens and deletes sent to both. No fid is handed out twice; every
// acknowledged upload reads back; each file is replicated exactly once
// (one "replicate: copied" across both trackers' logs) and ends with
// exactly 2 copies; every deleted file's copies are gone from the disks;
// both queues end empty, and the disks hold exactly the copies the
// database lists.
func TestTwoTrackersOneMariaDB(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	m := mogtest.NewMySQL(t)
	const domain, class = "fault", "two"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 3, Domain: domain, Classes: map[string]int{class: 2},
		Tracker: mogtest.TrackerOptions{MySQL: &m, Args: []string{"--debug"}}, NodeArgs: []string{"--nofsync"}})
	a := cl.Tracker
	b := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: a.DSN, User: a.User, Pass: a.Pass, StreamPort: cl.StreamPort,
		Args: []string{"--debug"}})
	cl.WaitWriteable(t, b.Conn(t))
	db := openDB(t, a.DSN, a.User, a.Pass)
	lease := watchLease(db)
	ca := newClient(t, domain, 20*time.Second, a.Addr)
	cb := newClient(t, domain, 20*time.Second, b.Addr)
	n := scale(600, 4000)
	sz := sizes{1 << 10, 32 << 10}

	stop := make(chan struct{})
	grabA, grabB := grabFids(a.Addr, domain, stop), grabFids(b.Addr, domain, stop)
	var ua, ub *uploads
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ua = upload(ctx, ca, class, keyList("a", n/2), 6, sz, nil) }()
	go func() { defer wg.Done(); ub = upload(ctx, cb, class, keyList("b", n/2), 6, sz, nil) }()
	wg.Wait()
	close(stop)
	<-grabA.done
	<-grabB.done
	acked := append(ua.ackedKeys(), ub.ackedKeys()...)
	if nf := len(ua.failedKeys()) + len(ub.failedKeys()); nf > 0 {
		t.Errorf("%d uploads failed with both trackers up:\n%s\n%s", nf, ua.errorSummary(), ub.errorSummary())
	}
	fids := fidsOf(t, ctx, ca, acked)
	var fileFids []int64
	for _, f := range fids {
		fileFids = append(fileFids, f)
	}
	dups, total := duplicates(fileFids, grabA.fids, grabB.fids)
	if dups > 0 {
		t.Errorf("%d of %d fids handed out twice", dups, total)
	}

	// Delete every third file, alternating trackers.
	deleted := map[string]bool{}
	var kept []string
	for i, k := range acked {
		if i%3 != 0 {
			kept = append(kept, k)
			continue
		}
		cc := ca
		if i%2 == 1 {
			cc = cb
		}
		if err := cc.Delete(ctx, k); err != nil {
			t.Errorf("delete %q: %v", k, err)
		}
		deleted[k] = true
	}

	settle := waitFor(t, "both queues empty, 2 copies of every file, no copies of deleted ones", time.Duration(scale(180, 900))*time.Second,
		func() (bool, string) {
			repl, e1 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_replicate")
			del, e2 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_delete2")
			wrong, e3 := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) <> 2")
			orphans, e4 := queryInt(t, db, "SELECT COUNT(*) FROM file_on o WHERE NOT EXISTS (SELECT 1 FROM file f WHERE f.fid = o.fid)")
			if err := firstErr(e1, e2, e3, e4); err != nil {
				return false, err.Error()
			}
			return repl == 0 && del == 0 && wrong == 0 && orphans == 0,
				fmt.Sprintf("replicate queue %d, delete queue %d, files without exactly 2 copies %d, file_on rows of deleted files %d", repl, del, wrong, orphans)
		})

	// The disks hold exactly the copies the database lists.
	rows, err := queryInt(t, db, "SELECT COUNT(*) FROM file_on")
	if err != nil {
		t.Fatal(err)
	}
	onDisk := 0
	for _, nd := range cl.Nodes {
		onDisk += countFids(t, nd.DocRoot)
	}
	if int64(onDisk) != rows {
		t.Errorf("%d .fid files on the disks, %d file_on rows", onDisk, rows)
	}
	if want := int64(2 * len(kept)); rows != want {
		t.Errorf("%d file_on rows, want %d (2 per kept file)", rows, want)
	}
	// Each file was replicated exactly once, by one tracker or the other.
	copies := map[string]int{}
	for _, out := range []string{a.Proc.Output(), b.Proc.Output()} {
		for _, mm := range copiedRe.FindAllStringSubmatch(out, -1) {
			copies[mm[1]]++
		}
	}
	doubled, never := 0, 0
	for k, fid := range fids {
		switch copies[fmt.Sprint(fid)] {
		case 1:
		case 0:
			if !deleted[k] { // a deleted file may be gone before its replication
				never++
			}
		default:
			doubled++
			if doubled <= 10 {
				t.Errorf("fid %d (%s) replicated %d times", fid, k, copies[fmt.Sprint(fid)])
			}
		}
	}
	if never > 0 {
		t.Errorf("%d kept files were never replicated according to the logs", never)
	}
	lost := checkAcked(t, ctx, ca, kept, sz)
	stillThere := 0
	for k := range deleted {
		if _, err := cb.FileInfo(ctx, k); !client.IsUnknownKey(err) {
			stillThere++
			t.Errorf("deleted %q: file_info %v", k, err)
		}
	}
	byA, byB := strings.Count(a.Proc.Output(), `msg="replicate: copied"`), strings.Count(b.Proc.Output(), `msg="replicate: copied"`)
	handover := stopJobMaster(t, lease, a, b)
	figure(t, "uploads=%d acknowledged=%d deleted=%d acknowledged_lost=%d fids_checked=%d duplicate_fids=%d "+
		"replications_by_a=%d by_b=%d doubled=%d deleted_still_there=%d copies_on_disk=%d file_on_rows=%d settled_in=%.1fs "+
		"job_master_handover_after_sigterm=%v",
		n, len(acked), len(deleted), lost, total, dups, byA, byB, doubled, stillThere, onDisk, rows, settle.Seconds(),
		handover.Round(time.Millisecond))
}

// countFids counts .fid files under a docroot.
func countFids(t testing.TB, root string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".fid") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
