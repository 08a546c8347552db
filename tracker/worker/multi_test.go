package worker_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/worker"
)

// Two trackers on one MariaDB share the work through the database: every
// file ends at exactly its policy (no copy made twice), and an fsck run
// injected by one tracker and worked by both logs each problem once.
func TestTwoTrackersShareWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{mysql: true, hosts: [][]int{{1, 2}, {3, 4}, {5}}})
	// Tracker B: its own store connection, cluster view, monitor and
	// workers, on the same database and nodes.
	stB := e.openStore("tracker-b")
	clB := cluster.New(cluster.Options{Source: stB, MinFreeMB: 1, DefaultMinDevCount: 2, Logger: e.log})
	e.startMonitor(clB, stB)
	e.waitWriteable(clB)
	cfgB := fastConfig()
	cfgB.Hostname = "tracker-b"
	cfgB.ReplicateJobs = 3
	wB := e.startWorkers(stB, clB, cfgB)
	if err := e.w.Want(worker.JobReplicate, 3); err != nil {
		t.Fatal(err)
	}

	data := map[int64][]byte{}
	var fids []int64
	for i := range 60 {
		b := bytes.Repeat([]byte(fmt.Sprintf("%03d", i)), 300)
		fid := e.upload(fmt.Sprintf("k%d", i), "2copies", b, 1+i%5, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.waitCopies(fids, data, 2, 90*time.Second)
	e.waitFor("empty replication queue", 20*time.Second, func() (bool, string) {
		return e.queueLen(store.QueueReplicate) == 0, ""
	})
	total := 0
	for d := 1; d <= 5; d++ {
		total += len(e.fidFilesOn(d))
	}
	if total != 2*len(fids) {
		t.Errorf("%d .fid files on disk for %d files at 2 copies: something was copied twice", total, len(fids))
	}
	copiedBy := func(lw *logWriter) int {
		n := 0
		lw.mu.Lock()
		defer lw.mu.Unlock()
		for _, l := range lw.lines {
			if strings.Contains(l, `msg="replicate: copied"`) {
				n++
			}
		}
		return n
	}
	t.Logf("copies made (both trackers): %d", copiedBy(e.logs))

	// Break a copy of every third file, then fsck from tracker B.
	var broken []int64
	for i, fid := range fids {
		if i%3 == 0 {
			e.httpDelete(e.url(e.devids(fid)[0], fid))
			broken = append(broken, fid)
		}
	}
	e.st.ClearFsckLog(e.ctx)
	for k, v := range map[string]string{"fsck_highest_fid_checked": "0", "fsck_fid_at_end": fmt.Sprint(fids[len(fids)-1])} {
		if err := e.st.SetSetting(e.ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.SetSetting(e.ctx, "fsck_host", "tracker-b"); err != nil {
		t.Fatal(err)
	}
	clB.Reload(e.ctx)
	e.waitFor("fsck done", 60*time.Second, func() (bool, string) {
		return e.setting("fsck_host") == "" && e.queueLen(store.QueueFsck) == 0, e.setting("fsck_host")
	})
	evs, err := e.st.FsckEvents(e.ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	perFID := map[int64][]string{}
	for _, ev := range evs {
		perFID[ev.FID] = append(perFID[ev.FID], ev.EvCode)
	}
	for _, fid := range broken {
		if got := perFID[fid]; !slices.Equal(got, []string{"MISS", "REPL"}) {
			t.Errorf("fid %d: fsck_log %v, want [MISS REPL] once", fid, got)
		}
	}
	if len(perFID) != len(broken) {
		t.Errorf("fsck logged %d fids, want the %d broken ones", len(perFID), len(broken))
	}
	e.waitCopies(fids, data, 2, 60*time.Second)
	_ = wB
}

// Job counts follow "!want"; replicate, delete and fsck run only while a
// job_master is wanted; ":shutdown" replaces a worker.
func TestJobControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	counts := func() map[string][2]int {
		m := map[string][2]int{}
		for _, j := range e.w.Jobs() {
			m[j.Name] = [2]int{j.Count, j.Desired}
		}
		return m
	}
	waitCounts := func(want map[string][2]int) {
		t.Helper()
		e.waitFor(fmt.Sprint("job counts ", want), 10*time.Second, func() (bool, string) {
			got := counts()
			for k, v := range want {
				if got[k] != v {
					return false, fmt.Sprint(got)
				}
			}
			return true, ""
		})
	}
	waitCounts(map[string][2]int{"job_master": {1, 1}, "replicate": {1, 1}, "delete": {1, 1}, "fsck": {1, 1}, "reaper": {1, 1}})
	if err := e.w.Want("job_master", 0); err != nil {
		t.Fatal(err)
	}
	waitCounts(map[string][2]int{"job_master": {0, 0}, "replicate": {0, 1}, "delete": {0, 1}, "fsck": {0, 1}, "reaper": {1, 1}})

	// No job master: an upload is not replicated.
	b := []byte("waiting for the job master")
	fid := e.upload("k", "2copies", b, 1, false)
	// Let a few monitor rounds pass (the workers' clock ticks at least as
	// often), then check nothing leased the row or copied the file.
	for range 3 {
		if err := e.cl.WaitForMonitorRound(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if fd, err := e.st.FileDebug(e.ctx, fid); err != nil || fd.Replicate == nil || fd.Replicate.NextTry != 0 {
		t.Errorf("replication row touched without a job master: %+v, %v", fd.Replicate, err)
	}
	if ids := e.devids(fid); len(ids) != 1 {
		t.Errorf("replicated without a job master: %v", ids)
	}
	if err := e.w.Want("replicate", 3); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Want("job_master", 1); err != nil {
		t.Fatal(err)
	}
	waitCounts(map[string][2]int{"job_master": {1, 1}, "replicate": {3, 3}})
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: b}, 2, 30*time.Second)

	n, err := e.w.Tell("fsck", ":shutdown")
	if err != nil || n != 1 {
		t.Errorf("Tell fsck :shutdown = %d, %v; want 1", n, err)
	}
	waitCounts(map[string][2]int{"fsck": {1, 1}})
	if n, err := e.w.Tell("replicate", ":wake_up"); err != nil || n != 3 {
		t.Errorf("Tell replicate :wake_up = %d, %v; want 3", n, err)
	}
	for _, bad := range []struct {
		job string
		n   int
	}{{"job_master", 2}, {"replicate", -1}, {"replicate", 501}, {"bogus", 1}} {
		if err := e.w.Want(bad.job, bad.n); err == nil {
			t.Errorf("Want(%q, %d) succeeded", bad.job, bad.n)
		}
	}
	// The original's workers complain about a message they do not know.
	if n, err := e.w.Tell("fsck", ":dance"); err != nil || n != 1 {
		t.Errorf("Tell fsck :dance = %d, %v; want 1", n, err)
	}
	if !e.logs.contains("Unrecognized command from parent: :dance") {
		t.Errorf("no complaint about :dance in the log")
	}
	if _, err := e.w.Tell("bogus", ":wake_up"); err == nil {
		t.Errorf("Tell to an unknown job succeeded")
	}
}
