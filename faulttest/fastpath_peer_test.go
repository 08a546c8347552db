package faulttest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestFastpathPeerCopies: the fast path's peer copies (docs/fastpath.md
// §4.5) over two real storage nodes and a class of two copies, the
// tracker's job master off until step 4 so that the queues stay as the
// commits left them.
//
//  1. Every upload is committed with its two copies: file_on rows on
//     both devices, devcount 2, no replication queued, and both copies
//     read back byte for byte.
//  2. With the peer node killed, uploads to the other node are committed
//     with the one copy they have, and replication is queued for them.
//  3. The peer node restarted, a lease naming it whose upload was never
//     committed leaves files on both nodes.
//  4. The peer node back and the tracker replaced by one whose job
//     master runs and whose tempfile reaper is fast: the uncommitted
//     files are reaped on both nodes, the files of step 2 are replicated
//     to two copies, and a full fsck run finds nothing wrong.
func TestFastpathPeerCopies(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "fppeer", "two"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{class: 2},
		FastPath: true, NodeArgs: []string{"--nofsync"}, Tracker: mogtest.TrackerOptions{Args: []string{"--no-job_master"}}})
	cl.WaitFastPathPeers(t)
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	sz := sizes{1 << 10, 8 << 10}
	fast, err := client.New(client.Config{Domain: domain, Trackers: []string{cl.Tracker.Addr}, Timeout: 10 * time.Second,
		FastPath: client.FastPathOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	plain := newClient(t, domain, 20*time.Second, cl.Tracker.Addr)

	// The nodes learn the class's mindevcount from the tracker: until
	// then an upload goes with one copy. Wait for the first with two.
	warm := 0
	waitFor(t, "an upload committed with its peer copy", 30*time.Second, func() (bool, string) {
		warm++
		k := "warm/" + strconv.Itoa(warm)
		b := sz.of(k)
		s, err := fast.StoreWith(ctx, k, class, bytes.NewReader(b), int64(len(b)), client.Commit{})
		if err != nil {
			return false, err.Error()
		}
		n, err := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ?", s.FID)
		return err == nil && n == 2, fmt.Sprintf("%d copies of %s, %v", n, k, err)
	})

	// 1. Two copies at commit.
	keys := keyList("two", scale(200, 2000))
	up := upload(ctx, fast, class, keys, 4, sz, nil)
	if len(up.failedKeys()) > 0 {
		t.Fatalf("uploads failed:\n%s", up.errorSummary())
	}
	// Bodies of many chunks, streamed to the peer as they arrive: a
	// client with a FastPathMax past the default 64 KiB.
	bigSz := sizes{32 << 10, 256 << 10}
	bigFast, err := client.New(client.Config{Domain: domain, Trackers: []string{cl.Tracker.Addr}, Timeout: 10 * time.Second,
		FastPath: client.FastPathOnly, FastPathMax: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer bigFast.Close()
	bigKeys := keyList("big", 20)
	if upBig := upload(ctx, bigFast, class, bigKeys, 4, bigSz, nil); len(upBig.failedKeys()) > 0 {
		t.Fatalf("big uploads failed:\n%s", upBig.errorSummary())
	}
	check := func(keys []string, sz sizes) {
		fids := fidsOf(t, ctx, plain, keys)
		for _, k := range keys {
			checkPeerCopies(t, db, fids[k], []int{1, 2}, false)
			ps, err := plain.Paths(ctx, k, pathsAll())
			if err != nil || len(ps) != 2 {
				t.Fatalf("paths of %s: %v %v", k, ps, err)
			}
			for _, p := range ps {
				if got := httpGet(t, p); !bytes.Equal(got, sz.of(k)) {
					t.Fatalf("%s: %d bytes, not the %d uploaded", p, len(got), len(sz.of(k)))
				}
			}
		}
	}
	check(keys, sz)
	check(bigKeys, bigSz)

	// 2. The peer down: one copy committed, replication queued.
	victim := cl.Nodes[1]
	victim.Proc.Kill()
	down := keyList("down", scale(50, 500))
	upDown := upload(ctx, fast, class, down, 4, sz, nil)
	acked := upDown.ackedKeys()
	if len(acked) == 0 {
		t.Fatalf("no upload acknowledged with the peer down:\n%s", upDown.errorSummary())
	}
	downFIDs := fidsOf(t, ctx, plain, acked)
	for _, k := range acked {
		checkPeerCopies(t, db, downFIDs[k], []int{1}, true)
	}

	// 3. The peer back; a lease with it whose upload was never
	// committed.
	victim.Proc = restart(t, victim.Proc)
	victim.Mogstored.Proc = victim.Proc
	victim.Proc.WaitPort(t, victim.Mogstored.HTTPAddr, 30*time.Second)
	cl.WaitWriteable(t, cl.Tracker.Conn(t))
	tc := &tconn{addr: cl.Tracker.Addr}
	defer tc.close()
	l := tc.mustDo(t, "fastpath_lease", wire.Args{"devid": "1", "count": "1", "peers": "1"})
	if l["peer_devid_1"] != "2" {
		t.Fatalf("lease: %v", l)
	}
	stray, _ := strconv.ParseInt(l["fid_1"], 10, 64)
	var orphans []string
	for _, n := range cl.Nodes {
		devid := n.DevIDs[0]
		mogtest.Put(t, fmt.Sprintf("http://%s:%d%s", n.IP, n.HTTPPort, nodeproto.FIDPath(devid, stray)), []byte("never committed"))
		orphans = append(orphans, filepath.Join(n.DocRoot, filepath.FromSlash(nodeproto.FIDPath(devid, stray))))
	}

	// 4. Reaped, replicated, fsck clean.
	roots := []string{cl.Nodes[0].DocRoot, victim.DocRoot}
	tc.close()
	_, reapWait := reapOnNewTracker(t, cl, db, roots, orphans)
	replWait := waitFor(t, "the one-copy files replicated", 60*time.Second, func() (bool, string) {
		short := 0
		for _, k := range acked {
			if n, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ?", downFIDs[k]); n < 2 {
				short++
			}
		}
		return short == 0, fmt.Sprintf("%d of %d files short of 2 copies", short, len(acked))
	})
	for _, k := range acked {
		if got := httpGetKey(t, ctx, plain, k); !bytes.Equal(got, sz.of(k)) {
			t.Fatalf("%s after replication: %d bytes, not the %d uploaded", k, len(got), len(sz.of(k)))
		}
	}
	events := fsckAll(t, db, cl.Tracker.Addr)
	if len(events) > 0 {
		t.Fatalf("fsck found %d problems: %v", len(events), events[:min(5, len(events))])
	}
	figure(t, "fastpath peer copies: %d uploads with 2 copies at commit, %d with the peer down (%d failed), replicated in %.1fs, "+
		"uncommitted peer copy reaped in %.1fs, fsck clean", len(keys), len(acked), len(upDown.failedKeys()),
		replWait.Seconds(), reapWait.Seconds())
}

// checkPeerCopies checks that fid is committed with copies on exactly
// devids (file_on rows and devcount), no tempfile row left, and a
// replication job queued or not.
func checkPeerCopies(t *testing.T, db *sql.DB, fid int64, devids []int, queued bool) {
	t.Helper()
	rows, err := db.Query("SELECT devid FROM file_on WHERE fid = ? ORDER BY devid", fid)
	if err != nil {
		t.Fatal(err)
	}
	var on []int
	for rows.Next() {
		var d int
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		on = append(on, d)
	}
	rows.Close()
	devcount, err1 := queryInt(t, db, "SELECT devcount FROM file WHERE fid = ?", fid)
	repl, err2 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_replicate WHERE fid = ?", fid)
	temp, err3 := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE fid = ?", fid)
	if err := firstErr(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(on, devids) || devcount != int64(len(devids)) || (repl == 1) != queued || temp != 0 {
		t.Fatalf("fid %d: copies on %v devcount %d, replication queued %d, tempfile %d; want copies on %v, queued %v",
			fid, on, devcount, repl, temp, devids, queued)
	}
}

// fsckAll runs a full fsck (as "mogadm fsck stop; clearlog; reset;
// start") until it is done and its queues are empty, and returns what it
// logged.
func fsckAll(t *testing.T, db *sql.DB, addr string) []string {
	t.Helper()
	tc := &tconn{addr: addr}
	defer tc.close()
	tc.do("fsck_stop", nil)
	tc.mustDo(t, "fsck_clearlog", nil)
	tc.mustDo(t, "fsck_reset", nil)
	tc.mustDo(t, "fsck_start", nil)
	waitFor(t, "the fsck run", 120*time.Second, func() (bool, string) {
		st := tc.mustDo(t, "fsck_status", nil)
		fq, err := queryInt(t, db, "SELECT COUNT(*) FROM file_to_queue WHERE type = 1")
		return err == nil && st["running"] == "0" && fq == 0,
			fmt.Sprintf("fsck running %s (checked up to %s of %s), fsck queue %d", st["running"], st["max_fid_checked"], st["end_fid"], fq)
	})
	a := tc.mustDo(t, "fsck_getlog", wire.Args{"after_logid": "0"})
	n, _ := strconv.Atoi(a["row_count"])
	var out []string
	for i := 1; i <= n; i++ {
		p := "row_" + strconv.Itoa(i) + "_"
		out = append(out, fmt.Sprintf("fid %s %s dev %s", a[p+"fid"], a[p+"evcode"], a[p+"devid"]))
	}
	return out
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}

func httpGetKey(t *testing.T, ctx context.Context, c *client.Client, key string) []byte {
	t.Helper()
	b, err := c.GetBytes(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return b
}
