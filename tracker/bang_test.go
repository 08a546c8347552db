package tracker_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// watcher is a connection that asked for !watch; its lines arrive on a
// channel.
type watcher struct {
	lines chan string
}

func watch(t *testing.T, tr *mogtest.Tracker) *watcher {
	t.Helper()
	c := tr.Conn(t)
	if lines, err := c.Bang("!watch"); err != nil || len(lines) != 1 || lines[0] != "Added you to watcher list." {
		t.Fatalf("!watch: %q %v", lines, err)
	}
	w := &watcher{lines: make(chan string, 1000)}
	go func() {
		defer close(w.lines)
		for {
			l, err := c.ReadLine()
			if err != nil {
				return
			}
			w.lines <- l
		}
	}()
	return w
}

// expect waits for each of want, in this order, as ":: <line>" (other
// lines may come between them).
func (w *watcher) expect(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	var seen []string
	for _, line := range want {
		for found := false; !found; {
			select {
			case l, ok := <-w.lines:
				if !ok {
					t.Fatalf("watch connection closed waiting for %q; saw %q", line, seen)
				}
				seen = append(seen, l)
				found = l == ":: "+line
			case <-deadline:
				t.Fatalf("no watch line %q within 60 s; saw %q", line, seen)
			}
		}
	}
}

// jobs returns the !jobs lines as "<job> <field>" -> value.
func jobs(t *testing.T, c *mogtest.TrackerConn) map[string]string {
	t.Helper()
	lines, err := c.Bang("!jobs")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range lines {
		f := strings.SplitN(l, " ", 3)
		if len(f) != 3 {
			t.Fatalf("!jobs line %q", l)
		}
		out[f[0]+" "+f[1]] = f[2]
	}
	return out
}

// waitJobs polls !jobs until every key has its value.
func waitJobs(t *testing.T, c *mogtest.TrackerConn, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := jobs(t, c)
		missing := ""
		for k, v := range want {
			if got[k] != v {
				missing = fmt.Sprintf("%s: got %q, want %q", k, got[k], v)
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("!jobs after 60 s: %s (all: %q)", missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func want(t *testing.T, c *mogtest.TrackerConn, n int, job string) {
	t.Helper()
	lines, err := c.Bang(fmt.Sprintf("!want %d %s", n, job))
	if exp := fmt.Sprintf("Now desiring %d children doing '%s'.", n, job); err != nil || len(lines) != 1 || lines[0] != exp {
		t.Fatalf("!want %d %s: %q %v", n, job, lines, err)
	}
}

// TestJobsAndWatch drives the admin interface as the original's test
// files do: a job taken to 0 workers stays in !jobs at "count 0", 0 query
// workers hold queries back without locking out the "!" commands, the
// monitor can be paused, and !watch shows the original's lines.
func TestJobsAndWatch(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1})
	tr := cl.Tracker
	pid := strconv.Itoa(tr.Proc.Cmd.Process.Pid)
	admin := tr.Conn(t)
	waitJobs(t, admin, map[string]string{
		"queryworker count": "20", "queryworker pids": pid, "monitor count": "1",
		"job_master count": "1", "fsck count": "1", "replicate count": "1", "delete count": "1", "reaper count": "1",
	})
	w := watch(t, tr)

	t.Run("count 0 stays listed", func(t *testing.T) {
		want(t, admin, 0, "fsck")
		w.expect(t, "Child "+pid+" (fsck) died: 0 (expected)")
		waitJobs(t, admin, map[string]string{"fsck count": "0", "fsck desired": "0", "fsck pids": ""})
		want(t, admin, 1, "fsck")
		w.expect(t, "Job fsck has only 0, wants 1, making 1.")
		waitJobs(t, admin, map[string]string{"fsck count": "1", "fsck pids": pid})
	})

	t.Run("shutdown message", func(t *testing.T) {
		// The original's watchers see the worker end, then its
		// replacement started.
		toSent(t, admin, "job_master :shutdown", 1)
		w.expect(t, "Child "+pid+" (job_master) died: 0 (UNEXPECTED)", "Job job_master has only 0, wants 1, making 1.")
		waitJobs(t, admin, map[string]string{"job_master count": "1"})
	})

	t.Run("worker messages", func(t *testing.T) {
		c := tr.Conn(t)
		wantErr(t, c, "test crash=1", "failure", "")
		w.expect(t, "["+"queryworker("+pid+")] Error running command 'test': Crashed on purpose")
	})

	t.Run("zero query workers", func(t *testing.T) {
		want(t, admin, 0, "queryworker")
		waitJobs(t, admin, map[string]string{"queryworker count": "0", "queryworker desired": "0"})
		// A new client is accepted; its query waits.
		c := tr.Conn(t)
		if err := c.Write([]byte("get_domains\r\n")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			q, err := admin.Bang("!queue")
			if err != nil {
				t.Fatal(err)
			}
			if len(q) == 1 && q[0] == "127.0.0.1 get_domains" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("!queue: %q", q)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stats, _ := admin.Bang("!stats")
		if !containsLine(stats, "pending_queries 1") || !containsLine(stats, "bored_queryworkers 0") {
			t.Fatalf("!stats: %q", stats)
		}
		// Other "!" commands still answer, and raising the count serves
		// the query.
		want(t, admin, 1, "queryworker")
		w.expect(t, "Job queryworker has only 0, wants 1, making 1.")
		if l, err := c.ReadLine(); err != nil || !strings.HasPrefix(l, "OK ") {
			t.Fatalf("waiting query: %q %v", l, err)
		}
		waitJobs(t, admin, map[string]string{"queryworker count": "1"})
		want(t, admin, 20, "queryworker")
		w.expect(t, "Job queryworker has only 1, wants 20, making 19.")
		toSent(t, admin, "queryworker :shutdown", 20)
	})

	t.Run("monitor", func(t *testing.T) {
		want(t, admin, 0, "monitor")
		w.expect(t, "Child "+pid+" (monitor) died: 0 (expected)")
		waitJobs(t, admin, map[string]string{"monitor count": "0", "monitor desired": "0", "monitor pids": ""})
		toSent(t, admin, "monitor :refresh_monitor", 0)
		// Commands that wait for a monitor round do not hang.
		c := tr.Conn(t)
		ok(t, c, "clear_cache")
		ok(t, c, "create_domain domain=while.paused")
		want(t, admin, 1, "monitor")
		w.expect(t, "Job monitor has only 0, wants 1, making 1.")
		waitJobs(t, admin, map[string]string{"monitor count": "1", "monitor desired": "1"})
		ok(t, c, "clear_cache")
		toSent(t, admin, "monitor :refresh_monitor", 1)
	})
}

// TestZeroQueryWorkersShutdown: a query held back by "!want 0
// queryworker" is answered with an ERR at shutdown, which does not wait
// for it.
func TestZeroQueryWorkersShutdown(t *testing.T) {
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{Args: []string{"--no-job_master"}})
	admin := tr.Conn(t)
	waitJobs(t, admin, map[string]string{"queryworker count": "20"})
	want(t, admin, 0, "queryworker")
	c := tr.Conn(t)
	if err := c.Write([]byte("noop\r\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if q, _ := admin.Bang("!queue"); len(q) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("query not queued")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tr.Proc.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if l, err := c.ReadLine(); err != nil || l != "ERR failure Tracker+is+shutting+down" {
		t.Fatalf("held-back query at shutdown: %q %v", l, err)
	}
}

// toSent sends "!to <args>" and checks how many workers got it.
func toSent(t *testing.T, c *mogtest.TrackerConn, args string, n int) {
	t.Helper()
	lines, err := c.Bang("!to " + args)
	if exp := fmt.Sprintf("Message sent to %d children.", n); err != nil || len(lines) != 1 || lines[0] != exp {
		t.Fatalf("!to %s: %q %v, want %q", args, lines, err, exp)
	}
}

func containsLine(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}
