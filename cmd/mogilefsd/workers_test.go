package main_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestWorkersWiredToTracker runs mogilefsd with its workers on two storage
// nodes: the workers report the original's !stats queue counters, and
// once the reaper has taken a dead device's copies away, get_paths with
// noverify on the same tracker never answers from its cache with the
// dead device's path (it does not wait for the cache entry to expire).
func TestWorkersWiredToTracker(t *testing.T) {
	t.Parallel()
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: "d", Classes: map[string]int{"one": 1, "two": 2}})
	c := cl.Tracker.Conn(t)

	// Single-copy files; group them by the device they landed on.
	byDev := map[string][]int64{}
	keyOf := map[int64]string{}
	for i := range 8 {
		key := "k" + strconv.Itoa(i)
		fid, devid := upload(t, c, "d", "one", key, []byte("copy of "+key))
		byDev[devid] = append(byDev[devid], fid)
		keyOf[fid] = key
	}
	dead := ""
	for d, fids := range byDev {
		if len(fids) >= 2 && (dead == "" || len(fids) > len(byDev[dead])) {
			dead = d
		}
	}
	fids := byDev[dead]
	slices.Sort(fids)
	first, last := keyOf[fids[0]], keyOf[fids[len(fids)-1]]
	deadPart := "/dev" + dead + "/"

	// A file that needs a second copy is queued for replication at
	// create_close (single-copy files are not: their one copy meets the
	// policy); the job master hands the row to the replicate workers.
	upload(t, c, "d", "two", "two copies", []byte("replicated"))
	waitStats(t, c, func(st map[string]int64) bool {
		return st["work_sent_to_replicate"] >= 1 && hasStat(st, "work_queue_for_replicate") && st["work_queue_for_replicate"] == 0
	})
	// A deleted file goes through the delete queue.
	upload(t, c, "d", "one", "gone", []byte("deleted"))
	c.MustDo(t, "delete", wire.Args{"domain": "d", "key": "gone"})
	waitStats(t, c, func(st map[string]int64) bool {
		return st["work_sent_to_delete"] >= 1 && st["work_queue_for_delete"] == 0
	})

	if p := getPaths(t, c, first, true); len(p) != 1 || !strings.Contains(p[0], deadPart) {
		t.Fatalf("get_paths %s before: %v, want its copy on dev%s", first, p, dead)
	}
	host := ""
	for _, n := range cl.Nodes {
		for _, d := range n.DevIDs {
			if strconv.Itoa(d) == dead {
				host = n.Hostname
			}
		}
	}
	c.MustDo(t, "set_state", wire.Args{"host": host, "device": dead, "state": "dead"})

	// The reaper (5 s scans, 16 s grace) removes the device's file_on rows
	// in fid order and reports each fid right after its row. Until then,
	// keep the first file's cache entry warm with noverify lookups.
	deadline := time.Now().Add(90 * time.Second)
	for len(getPaths(t, c, last, false)) > 0 {
		getPaths(t, c, first, true)
		if time.Now().After(deadline) {
			t.Fatalf("dev%s not reaped after 90 s: %s still has paths", dead, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The last fid's row is gone, so the first one's is too, and the
	// cache was told: no noverify answer may name the dead device now.
	for range 20 {
		if p := getPaths(t, c, first, true); slices.ContainsFunc(p, func(u string) bool { return strings.Contains(u, deadPart) }) {
			t.Fatalf("get_paths noverify %s after the reaper moved it: %v (dead device dev%s)", first, p, dead)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upload stores body as key (create_open, PUT, create_close) and returns
// the fid and the device it went to.
func upload(t *testing.T, c *mogtest.TrackerConn, domain, class, key string, body []byte) (int64, string) {
	t.Helper()
	o := c.MustDo(t, "create_open", wire.Args{"domain": domain, "class": class, "key": key, "fid": "0"})
	mogtest.Put(t, o["path"], body)
	c.MustDo(t, "create_close", wire.Args{"domain": domain, "key": key, "fid": o["fid"], "devid": o["devid"],
		"path": o["path"], "size": strconv.Itoa(len(body))})
	fid, err := strconv.ParseInt(o["fid"], 10, 64)
	if err != nil {
		t.Fatalf("create_open fid %q", o["fid"])
	}
	return fid, o["devid"]
}

func getPaths(t *testing.T, c *mogtest.TrackerConn, key string, noverify bool) []string {
	t.Helper()
	a := wire.Args{"domain": "d", "key": key}
	if noverify {
		a["noverify"] = "1"
	}
	r := c.MustDo(t, "get_paths", a)
	n, _ := strconv.Atoi(r["paths"])
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, r["path"+strconv.Itoa(i)])
	}
	return out
}

func hasStat(st map[string]int64, k string) bool { _, ok := st[k]; return ok }

// waitStats polls !stats until cond holds.
func waitStats(t *testing.T, c *mogtest.TrackerConn, cond func(map[string]int64) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines, err := c.Bang("!stats")
		if err != nil {
			t.Fatal(err)
		}
		st := map[string]int64{}
		for _, l := range lines {
			k, v, _ := strings.Cut(l, " ")
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				st[k] = n
			}
		}
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("!stats after 30 s: %s", fmt.Sprint(lines))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
