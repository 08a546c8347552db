package faulttest

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// fpItem is one fastpath_commit item.
type fpItem struct {
	fid   int64
	devid int
	key   string
}

// TestFastpathTwoTrackers: two trackers on one MariaDB lease fids, and
// each batch of uploads is committed through both trackers at once (a
// node that resent a batch whose reply it lost), the fids of one
// tracker's leases committed through the other, over a small set of keys
// that the batches keep replacing. Every fid ends committed exactly once:
// answered ok at least once, live under its key or queued for deletion
// as a replaced fid (never both), with exactly its one file_on row and no
// tempfile row left; every key names one fid, one of those committed
// under it.
func TestFastpathTwoTrackers(t *testing.T) {
	parallelUnlessSoak(t)
	m := mogtest.NewMySQL(t)
	const domain = "fast"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{"one": 1},
		Tracker: mogtest.TrackerOptions{MySQL: &m, Args: []string{"--no-job_master"}}, NodeArgs: []string{"--nofsync"}})
	a := cl.Tracker
	b := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: a.DSN, User: a.User, Pass: a.Pass, StreamPort: cl.StreamPort,
		Args: []string{"--no-job_master"}})
	cl.WaitWriteable(t, b.Conn(t))
	trackers := []*mogtest.Tracker{a, b}
	db := openDB(t, a.DSN, a.User, a.Pass)

	batches, batchSize, keys := scale(16, 64), 32, 24
	// Leases: batch i's fids come from tracker i%2, on device 1 or 2.
	var all [][]fpItem
	for i := 0; i < batches; i++ {
		devid := 1 + i%2
		l := trackers[i%2].Conn(t).MustDo(t, "fastpath_lease", wire.Args{"devid": strconv.Itoa(devid), "count": strconv.Itoa(batchSize)})
		var items []fpItem
		for j := 1; j <= batchSize; j++ {
			fid, err := strconv.ParseInt(l["fid_"+strconv.Itoa(j)], 10, 64)
			if err != nil {
				t.Fatalf("lease: %v", l)
			}
			items = append(items, fpItem{fid: fid, devid: devid, key: "key" + strconv.Itoa(rand.IntN(keys))})
		}
		all = append(all, items)
	}

	// Every batch is sent to both trackers at once, from 4 senders per
	// tracker.
	var mu sync.Mutex
	statuses := map[int64]map[string]int{}
	var wg sync.WaitGroup
	work := make(chan []fpItem)
	for s := 0; s < 8; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := mogtest.DialTracker(trackers[s%2].Addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for items := range work {
				args := wire.Args{"count": strconv.Itoa(len(items))}
				for j, it := range items {
					p := "_" + strconv.Itoa(j+1)
					args["fid"+p], args["devid"+p] = strconv.FormatInt(it.fid, 10), strconv.Itoa(it.devid)
					args["domain"+p], args["key"+p], args["class"+p], args["size"+p] = domain, it.key, "one", "100"
				}
				r, err := c.Do("fastpath_commit", args)
				if err != nil {
					t.Errorf("fastpath_commit through %s: %v", trackers[s%2].Addr, err)
					continue
				}
				mu.Lock()
				for j, it := range items {
					if statuses[it.fid] == nil {
						statuses[it.fid] = map[string]int{}
					}
					statuses[it.fid][r["status_"+strconv.Itoa(j+1)]]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, items := range all {
		work <- items
		work <- items
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}

	committedUnder := map[string]map[int64]bool{}
	live, replaced := 0, 0
	for _, items := range all {
		for _, it := range items {
			st := statuses[it.fid]
			if st["ok"] == 0 || st["ok"]+st["lease_expired"] != 2 {
				t.Fatalf("fid %d: statuses %v, want ok at least once (lease_expired only for a resend after its key was replaced)", it.fid, st)
			}
			if committedUnder[it.key] == nil {
				committedUnder[it.key] = map[int64]bool{}
			}
			committedUnder[it.key][it.fid] = true
			inFile, _ := queryInt(t, db, "SELECT COUNT(*) FROM file WHERE fid = ? AND dkey = ?", it.fid, it.key)
			queued, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_to_delete2 WHERE fid = ?", it.fid)
			temp, _ := queryInt(t, db, "SELECT COUNT(*) FROM tempfile WHERE fid = ?", it.fid)
			on, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ? AND devid = ?", it.fid, it.devid)
			onAll, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE fid = ?", it.fid)
			if inFile+queued != 1 || temp != 0 || on != 1 || onAll != 1 {
				t.Fatalf("fid %d (key %s): file row %d, queued for deletion %d, tempfile %d, file_on %d/%d",
					it.fid, it.key, inFile, queued, temp, on, onAll)
			}
			live += int(inFile)
			replaced += int(queued)
		}
	}
	rows, err := db.Query("SELECT dkey, fid FROM file")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	nkeys := 0
	for rows.Next() {
		var key string
		var fid int64
		if err := rows.Scan(&key, &fid); err != nil {
			t.Fatal(err)
		}
		nkeys++
		if !committedUnder[key][fid] {
			t.Fatalf("key %s names fid %d, not one committed under it", key, fid)
		}
	}
	if nkeys != len(committedUnder) || live != nkeys {
		t.Fatalf("%d keys in the database, %d keys committed, %d live fids", nkeys, len(committedUnder), live)
	}
	figure(t, "fastpath two trackers: %d batches of %d sent twice, %d keys live, %d fids replaced", batches, batchSize, live, replaced)
}
