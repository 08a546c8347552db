package tracker_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestTwoTrackers runs two mogilefsd processes on one database: fids stay
// unique under concurrent create_open, concurrent creates of one domain or
// class succeed exactly once, and each tracker sees the other's changes.
func TestTwoTrackers(t *testing.T) {
	forBackends(t, func(t *testing.T, o mogtest.TrackerOptions) {
		cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: o, Hosts: 2, Domain: "multi"})
		tr1 := cl.Tracker
		tr2 := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: tr1.DSN, User: tr1.User, Pass: tr1.Pass, StreamPort: cl.StreamPort})
		cl.WaitWriteable(t, tr2.Conn(t))
		trackers := []*mogtest.Tracker{tr1, tr2}

		// Unique fids.
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				c, err := mogtest.DialTracker(trackers[g%2].Addr)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				for i := 0; i < 40; i++ {
					a, err := c.Do("create_open", wire.Args{"domain": "multi", "key": fmt.Sprintf("k%d-%d", g, i)})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if seen[a["fid"]] {
						errs <- fmt.Errorf("fid %s handed out twice", a["fid"])
					}
					seen[a["fid"]] = true
					mu.Unlock()
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(seen) != 320 {
			t.Fatalf("%d fids", len(seen))
		}

		// Concurrent creates of the same names.
		race := func(cmd string, args wire.Args, dupCodes ...string) {
			var okCount, dupCount int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for g := 0; g < 10; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					c, err := mogtest.DialTracker(trackers[g%2].Addr)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					_, err = c.Do(cmd, args)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						okCount++
					} else if e, isErr := err.(*wire.Error); isErr && slices.Contains(dupCodes, e.Code) {
						dupCount++
					} else {
						t.Errorf("%s: %v", cmd, err)
					}
				}(g)
			}
			wg.Wait()
			if okCount != 1 || dupCount != 9 {
				t.Fatalf("%s: %d OK, %d %v", cmd, okCount, dupCount, dupCodes)
			}
		}
		race("create_domain", wire.Args{"domain": "raced"}, "domain_exists")
		race("create_class", wire.Args{"domain": "raced", "class": "c", "mindevcount": "2"}, "class_exists")
		// The original answers a host insert that loses the race with "dup".
		race("create_host", wire.Args{"host": "racedhost", "ip": "10.77.0.1", "port": "7500"}, "host_exists", "dup")

		// A change through one tracker reaches the other within its
		// reload period.
		c1, c2 := tr1.Conn(t), tr2.Conn(t)
		ok(t, c1, "create_domain domain=seen.by.two")
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(raw(t, c2, "get_domains"), "seen.by.two") {
			if time.Now().After(deadline) {
				t.Fatal("tracker 2 never saw the domain")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// A file stored through one is served by the other.
		store(t, c2, "seen.by.two", "", "f", []byte("shared"))
		if _, b := get(t, paths(t, c1, "seen.by.two", "f", "")[0]); string(b) != "shared" {
			t.Fatalf("content via tracker 1: %q", b)
		}
	})
}
