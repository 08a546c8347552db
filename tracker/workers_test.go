package tracker_test

import (
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestWithWorkers checks that mogilefsd runs its background workers: a
// file of a two-copy class gets its second copy, a deleted file's blobs
// go, and an fsck run started by fsck_start completes.
func TestWithWorkers(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: "w", Classes: map[string]int{"two": 2}})
	c := cl.Tracker.Conn(t)
	store(t, c, "w", "two", "f", []byte("replicate me"))
	deadline := time.Now().Add(60 * time.Second)
	for len(paths(t, c, "w", "f", "&noverify=1")) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no second copy after 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ps := paths(t, c, "w", "f", "")
	for _, p := range ps {
		if code, b := get(t, p); code != 200 || string(b) != "replicate me" {
			t.Fatalf("%s: %d %q", p, code, b)
		}
	}
	ok(t, c, "delete domain=w&key=f")
	for _, p := range ps {
		for {
			if code, _ := get(t, p); code == 404 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still there after delete", p)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	store(t, c, "w", "two", "g", []byte("check me"))
	ok(t, c, "fsck_start")
	for ok(t, c, "fsck_status")["running"] != "0" {
		if time.Now().After(deadline) {
			t.Fatal("fsck still running")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
