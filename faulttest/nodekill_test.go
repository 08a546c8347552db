package faulttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestNodeKillDuringUploads: a storage node gets SIGKILL while 1 000
// uploads (class of 2 copies, 3 hosts) run.
//
//  1. Every failed upload is complete or absent, never half there; every
//     acknowledged upload with a copy on a surviving node reads back at
//     once. An acknowledged upload whose only copy so far is on the killed
//     node (create_close acknowledges one copy; replication follows) is
//     counted as "at risk": it cannot be read until that disk is back.
//  2. The node restarts on its disk: every acknowledged upload reads back
//     and replication brings every file to 2 copies.
//  3. The node is killed again, for good, and its device marked dead: the
//     reaper and replication bring every file back to 2 copies on the
//     surviving nodes, each copy checked byte for byte.
//
// Figures: acknowledged files lost (0), at risk, seconds until the copy
// count is restored after the device is marked dead.
func TestNodeKillDuringUploads(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "fault", "two"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 3, Domain: domain, Classes: map[string]int{class: 2},
		NodeArgs: []string{"--nofsync"}})
	tc := &tconn{addr: cl.Tracker.Addr}
	defer tc.close()
	c := newClient(t, domain, 20*time.Second, cl.Tracker.Addr)
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	n := scale(1000, 5000)
	sz := sizes{1 << 10, 64 << 10}
	victim := cl.Nodes[2]
	devid := victim.DevIDs[0]
	var killed time.Time
	var once sync.Once
	start := time.Now()
	up := upload(ctx, c, class, keyList("kill", n), 16, sz, func(acked int64) {
		if acked == int64(n/3) {
			once.Do(func() {
				victim.Proc.Kill()
				killed = time.Now()
			})
		}
	})
	loadTime := time.Since(start)
	if killed.IsZero() {
		t.Fatalf("the node was never killed: %d of %d uploads acknowledged\n%s", len(up.ackedKeys()), n, up.errorSummary())
	}
	acked, failed := up.ackedKeys(), up.failedKeys()
	t.Logf("%d uploads in %v: %d acknowledged, %d failed", n, loadTime.Round(time.Millisecond), len(acked), len(failed))
	if len(failed) > 0 {
		t.Logf("upload errors:\n%s", up.errorSummary())
	}

	// 1. With the node down.
	var failedKeys []string
	for k := range failed {
		failedKeys = append(failedKeys, k)
	}
	absent, complete, half := checkUnacked(t, ctx, c, failedKeys, sz)
	atRisk, unreadable := 0, 0
	var mu sync.Mutex
	parallel(acked, 8, func(k string) {
		paths, err := c.Paths(ctx, k, pathsAll())
		onlyVictim := err == nil && len(paths) > 0
		for _, p := range paths {
			if !onVictim(p, victim) {
				onlyVictim = false
			}
		}
		got, gerr := c.GetBytes(ctx, k)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case onlyVictim:
			atRisk++
		case gerr != nil || !bytes.Equal(got, sz.of(k)):
			unreadable++
			t.Errorf("acknowledged %q with a copy on a live node: %d bytes, %v (paths %v, %v)", k, len(got), gerr, paths, err)
		}
	})
	t.Logf("node down: %d acknowledged files only on the killed node (at risk), %d unreadable otherwise", atRisk, unreadable)

	t.Logf("checked with the node down at %v", time.Since(start).Round(time.Second))

	// 2. The node comes back on its disk.
	victim.Proc = restart(t, victim.Proc)
	victim.Proc.WaitPort(t, victim.Mogstored.HTTPAddr, 30*time.Second)
	lost := checkAcked(t, ctx, c, acked, sz)
	// Replication that failed while the node was down backs off (15 s,
	// 60 s, ...); as an operator would, ask for it now (replicate_now)
	// once the monitor sees the device writeable again.
	waitFor(t, "the monitor to see the node again", 60*time.Second, func() (bool, string) {
		d := devices(t, tc)[devid]
		return d["observed_state"] == "writeable", fmt.Sprint(d)
	})
	waitFor(t, "every file at 2 copies with the node back", time.Duration(scale(180, 900))*time.Second, func() (bool, string) {
		tc.do("replicate_now", nil)
		short, err := queryInt(t, db, `SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2`)
		if err != nil {
			return false, err.Error()
		}
		return short == 0, fmt.Sprintf("%d files short of 2 copies", short)
	})

	t.Logf("all at 2 copies with the node back at %v", time.Since(start).Round(time.Second))

	// 3. The node dies for good and its device is marked dead.
	victim.Proc.Kill()
	killed = time.Now()
	tc.mustDo(t, "set_state", wire.Args{"host": victim.Hostname, "device": strconv.Itoa(devid), "state": "dead"})
	restoreWait := waitFor(t, "every file back at 2 copies on live devices", time.Duration(scale(180, 900))*time.Second, func() (bool, string) {
		short, err := queryInt(t, db, `SELECT COUNT(*) FROM file f WHERE
			(SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid AND o.devid <> ?) < 2`, devid)
		if err != nil {
			return false, err.Error()
		}
		return short == 0, fmt.Sprintf("%d files short of 2 copies", short)
	})
	sinceKill := time.Since(killed)
	t.Logf("restored at %v", time.Since(start).Round(time.Second))
	badCopies := checkCopies(t, ctx, c, acked, sz, func(p string) bool { return !onVictim(p, victim) })
	lost += checkAcked(t, ctx, c, acked, sz)
	figure(t, "uploads=%d acknowledged=%d failed=%d (absent %d, complete %d, half-there %d) acknowledged_lost=%d "+
		"at_risk_while_down=%d bad_copies=%d copy_count_restored_after_dead=%.1fs (after_kill=%.1fs) load=%.1fs",
		n, len(acked), len(failed), absent, complete, half, lost, atRisk, badCopies, restoreWait.Seconds(),
		sinceKill.Seconds(), loadTime.Seconds())
}

// onVictim reports whether a path is on node n.
func onVictim(path string, n *mogtest.Node) bool {
	return strings.HasPrefix(path, "http://"+n.Mogstored.HTTPAddr+"/")
}

// checkCopies GETs every path of every key: each must hold the key's
// bytes, there must be at least 2, and allowed must accept each path. It
// returns the number of problems (each reported).
func checkCopies(t testing.TB, ctx context.Context, c *client.Client, keys []string, sz sizes, allowed func(string) bool) int {
	t.Helper()
	bad := 0
	var mu sync.Mutex
	hc := &http.Client{Timeout: 30 * time.Second}
	parallel(keys, 8, func(k string) {
		report := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			bad++
			if bad <= 20 {
				t.Errorf("%s: %s", k, fmt.Sprintf(format, args...))
			}
		}
		paths, err := c.Paths(ctx, k, pathsAll())
		if err != nil || len(paths) < 2 {
			report("paths %v, %v", paths, err)
			return
		}
		for _, p := range paths {
			if !allowed(p) {
				report("unexpected path %s", p)
				continue
			}
			resp, err := hc.Get(p)
			if err != nil {
				report("GET %s: %v", p, err)
				continue
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(b, sz.of(k)) {
				report("GET %s: %s, %d bytes, %v", p, resp.Status, len(b), err)
			}
		}
	})
	return bad
}
