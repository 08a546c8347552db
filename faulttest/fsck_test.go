package faulttest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestFsckRepairsCorruption: files of an MD5 class have 2 copies on 2
// hosts. On one host, some copies get bytes flipped (same length), some
// are truncated and some removed. A full fsck run finds each: BLEN for
// the truncated, MISS for the removed (both naming the device), a
// checksum disagreement for the flipped (the copy that does not match
// the stored MD5 is dropped); REPL for all three; nothing for the
// untouched files. Replication then restores every file to 2 copies whose
// bytes are right.
func TestFsckRepairsCorruption(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "fault", "md5"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, NodeArgs: []string{"--nofsync"}})
	tc := &tconn{addr: cl.Tracker.Addr}
	defer tc.close()
	tc.mustDo(t, "create_class", wire.Args{"domain": domain, "class": class, "mindevcount": "2", "hashtype": "MD5"})
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	c := newClient(t, domain, 20*time.Second, cl.Tracker.Addr)
	sz := sizes{4 << 10, 64 << 10}
	per := scale(5, 50)
	keys := keyList("fsck", 4*per)
	up := upload(ctx, c, class, keys, 4, sz, nil)
	if len(up.failedKeys()) > 0 {
		t.Fatalf("uploads failed:\n%s", up.errorSummary())
	}
	waitFor(t, "2 copies of every file", 120*time.Second, func() (bool, string) {
		short, err := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		return err == nil && short == 0, fmt.Sprint(short, " files short ", err)
	})
	fids := fidsOf(t, ctx, c, keys)

	// Corrupt the copies on host 1.
	node := cl.Nodes[0]
	devid := node.DevIDs[0]
	onDisk := func(k string) string {
		return filepath.Join(node.DocRoot, filepath.FromSlash(nodeproto.FIDPath(devid, fids[k])))
	}
	kind := map[int64]string{}
	for i, k := range keys {
		p := onDisk(k)
		switch i / per {
		case 0:
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for j := len(b) / 3; j < len(b)/3+16; j++ {
				b[j] ^= 0x5a
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			kind[fids[k]] = "flipped"
		case 1:
			if err := os.Truncate(p, int64(len(sz.of(k))/2)); err != nil {
				t.Fatal(err)
			}
			kind[fids[k]] = "truncated"
		case 2:
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			kind[fids[k]] = "removed"
		default:
			kind[fids[k]] = "intact"
		}
	}

	// A full fsck run, as "mogadm fsck stop; clearlog; reset; start".
	start := time.Now()
	tc.do("fsck_stop", nil)
	tc.mustDo(t, "fsck_clearlog", nil)
	tc.mustDo(t, "fsck_reset", nil)
	tc.mustDo(t, "fsck_start", nil)
	waitFor(t, "the fsck run and the repairs", time.Duration(scale(120, 600))*time.Second, func() (bool, string) {
		st := tc.mustDo(t, "fsck_status", nil)
		fq, e1 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_queue WHERE type = 1")
		rq, e2 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_replicate")
		short, e3 := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		if err := firstErr(e1, e2, e3); err != nil {
			return false, err.Error()
		}
		return st["running"] == "0" && fq == 0 && rq == 0 && short == 0,
			fmt.Sprintf("fsck running %s (checked up to %s of %s), fsck queue %d, replicate queue %d, %d files short of 2 copies",
				st["running"], st["max_fid_checked"], st["end_fid"], fq, rq, short)
	})
	repairTime := time.Since(start)

	// The fsck log, by kind of damage.
	events := map[int64][]string{}
	after := "0"
	for {
		a := tc.mustDo(t, "fsck_getlog", wire.Args{"after_logid": after})
		n, _ := strconv.Atoi(a["row_count"])
		for i := 1; i <= n; i++ {
			p := "row_" + strconv.Itoa(i) + "_"
			fid, _ := strconv.ParseInt(a[p+"fid"], 10, 64)
			ev := a[p+"evcode"]
			if a[p+"devid"] != "" {
				ev += ":" + a[p+"devid"]
			}
			events[fid] = append(events[fid], ev)
			after = a[p+"logid"]
		}
		if n < 100 {
			break
		}
	}
	dev := ":" + strconv.Itoa(devid)
	want := map[string][]string{"flipped": {"REPL"}, "truncated": {"BLEN" + dev, "REPL"}, "removed": {"MISS" + dev, "REPL"}, "intact": nil}
	found := map[string]int{}
	for fid, k := range kind {
		got := events[fid]
		if !slices.Equal(got, want[k]) {
			t.Errorf("fid %d (%s): fsck_log %v, want %v", fid, k, got, want[k])
		} else if k != "intact" {
			found[k]++
		}
	}
	bad := checkCopies(t, ctx, c, keys, sz, func(string) bool { return true })
	lost := checkAcked(t, ctx, c, keys, sz)
	var summary []string
	for _, k := range []string{"flipped", "truncated", "removed"} {
		summary = append(summary, fmt.Sprintf("%s %d/%d", k, found[k], per))
	}
	figure(t, "files=%d corrupted_found_and_repaired: %s; bad_copies_after=%d acknowledged_lost=%d fsck_and_repair=%.1fs",
		len(keys), strings.Join(summary, ", "), bad, lost, repairTime.Seconds())
}
