package faulttest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestTrackerKillRestart: the tracker (on MariaDB) gets SIGKILL in the
// middle of a load of uploads (one kill per n/(kills+2) acknowledged
// uploads; the load goes on until as many more are acknowledged after the
// last restart) and of a stream of bare create_opens, and is
// started again. No acknowledged upload is lost, failed ones are complete
// or absent, no fid is handed out twice (across the uploads' fids and the
// create_opens' fids, before and after the restart), and the replication
// queue left by the dead tracker is worked off by the new one. Soak mode
// kills it several times.
func TestTrackerKillRestart(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	m := mogtest.NewMySQL(t)
	const domain, class = "fault", "two"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{class: 2},
		Tracker: mogtest.TrackerOptions{MySQL: &m}, NodeArgs: []string{"--nofsync"}})
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	c := newClient(t, domain, 10*time.Second, cl.Tracker.Addr)
	n := scale(600, 4000)
	kills := scale(1, 5)
	sz := sizes{1 << 10, 32 << 10}

	stop := make(chan struct{})
	grab := grabFids(cl.Tracker.Addr, domain, stop)
	proc := cl.Tracker.Proc
	var mu sync.Mutex
	var downtimes []time.Duration
	var restarts sync.WaitGroup
	killed := 0
	step := int64(n / (kills + 2)) // acknowledged uploads between kills
	var ackedSoFar atomic.Int64
	more := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return killed < kills || ackedSoFar.Load() < int64(kills+1)*step
	}
	up := uploadWhile(ctx, c, class, "tk", 8, 4*n, sz, func(acked int64) {
		ackedSoFar.Store(acked)
		mu.Lock()
		defer mu.Unlock()
		if killed >= kills || acked != int64(killed+1)*step {
			return
		}
		killed++
		proc.Kill()
		down := time.Now()
		restarts.Add(1)
		go func() {
			defer restarts.Done()
			time.Sleep(time.Second)
			mu.Lock()
			proc = restart(t, proc)
			p := proc
			mu.Unlock()
			p.WaitPort(t, cl.Tracker.Addr, 60*time.Second)
			mu.Lock()
			downtimes = append(downtimes, time.Since(down))
			mu.Unlock()
		}()
	}, more)
	restarts.Wait()
	close(stop)
	<-grab.done
	acked, failed := up.ackedKeys(), up.failedKeys()
	n = len(acked) + len(failed)
	t.Logf("%d uploads, %d kills: %d acknowledged, %d failed; %d bare create_opens (%d errors)",
		n, killed, len(acked), len(failed), len(grab.fids), grab.errs)
	if killed != kills {
		t.Fatalf("killed the tracker %d times, wanted %d", killed, kills)
	}
	if len(failed) > 0 {
		t.Logf("upload errors:\n%s", up.errorSummary())
	}
	lost := checkAcked(t, ctx, c, acked, sz)
	var failedKeys []string
	for k := range failed {
		failedKeys = append(failedKeys, k)
	}
	absent, complete, half := checkUnacked(t, ctx, c, failedKeys, sz)

	fids := fidsOf(t, ctx, c, acked)
	var fileFids []int64
	for _, f := range fids {
		fileFids = append(fileFids, f)
	}
	dups, total := duplicates(fileFids, grab.fids)
	if dups > 0 {
		t.Errorf("%d of %d fids handed out twice", dups, total)
	}
	drain := waitFor(t, "the replication queue worked off after the restart", time.Duration(scale(120, 1800))*time.Second, func() (bool, string) {
		q, err1 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_replicate")
		short, err2 := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		if err1 != nil || err2 != nil {
			return false, fmt.Sprint(err1, err2)
		}
		if q == 0 && short == 0 {
			return true, ""
		}
		due, _ := queryInt(t, db, "SELECT MIN(nexttry) - UNIX_TIMESTAMP() FROM file_to_replicate")
		fails, _ := queryInt(t, db, "SELECT MAX(failcount) FROM file_to_replicate")
		jobs := "?"
		if r, err := dialRaw(cl.Tracker.Addr); err == nil {
			r.send(t, []byte("!jobs\r\n"))
			var lines []string
			for {
				l, err := r.readLine(5 * time.Second)
				if err != nil || l == "." {
					break
				}
				lines = append(lines, l)
			}
			r.c.Close()
			jobs = strings.Join(lines, "; ")
		}
		return false, fmt.Sprintf("%d queued (next due in %d s, max failcount %d), %d files short of 2 copies; !jobs: %s",
			q, due, fails, short, jobs)
	})
	lost += checkAcked(t, ctx, c, acked, sz)
	figure(t, "uploads=%d tracker_kills=%d acknowledged=%d failed=%d (absent %d, complete %d, half-there %d) acknowledged_lost=%d "+
		"fids_checked=%d duplicate_fids=%d tracker_down=%v replication_drained_after=%.1fs",
		n, killed, len(acked), len(failed), absent, complete, half, lost, total, dups, roundAll(downtimes), drain.Seconds())
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Millisecond)
	}
	return out
}
