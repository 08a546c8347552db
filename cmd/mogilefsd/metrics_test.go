package main_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestMetrics runs a tracker with --metrics-listen over two storage
// nodes, stores and reads a file, sends failing and unknown commands and
// checks the scraped series.
func TestMetrics(t *testing.T) {
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{
		Tracker: mogtest.TrackerOptions{Args: []string{"--metrics-listen=" + maddr}},
		Domain:  "d", Classes: map[string]int{"two": 2},
	})
	c := cl.Tracker.Conn(t)

	body := []byte("metrics test body")
	o := c.MustDo(t, "create_open", wire.Args{"domain": "d", "key": "k", "class": "two", "fid": "0", "multi_dest": "1"})
	req, _ := http.NewRequest("PUT", o["path_1"], bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %v %v", o["path_1"], resp, err)
	}
	resp.Body.Close()
	c.MustDo(t, "create_close", wire.Args{"domain": "d", "key": "k", "fid": o["fid"], "devid": o["devid_1"],
		"path": o["path_1"], "size": strconv.Itoa(len(body))})
	c.MustDo(t, "get_paths", wire.Args{"domain": "d", "key": "k"})
	c.MustDo(t, "get_paths", wire.Args{"domain": "d", "key": "k"})
	var we *wire.Error
	if _, err := c.Do("get_paths", wire.Args{"domain": "d", "key": "nope"}); !errors.As(err, &we) || we.Code != "unknown_key" {
		t.Fatalf("get_paths of a missing key: %v", err)
	}
	if _, err := c.Do("no_such_command_xyz", nil); !errors.As(err, &we) || we.Code != "unknown_command" {
		t.Fatalf("unknown command: %v", err)
	}

	// The only tracker becomes job master; !stats says so before the
	// scrape, and the gauge with it.
	for deadline := time.Now().Add(30 * time.Second); ; {
		lines, err := c.Bang("!stats")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(lines, "is_job_master 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("!stats never showed is_job_master 1: %q", lines)
		}
		time.Sleep(50 * time.Millisecond)
	}
	f := metricstest.Scrape(t, maddr)
	check := func(name string, want float64, labels ...string) {
		t.Helper()
		if v, ok := f.Value(name, labels...); !ok || v != want {
			t.Errorf("%s%v = %v (found %v), want %v", name, labels, v, ok, want)
		}
	}
	const cmds, lat = "mogilefs_tracker_commands_total", "mogilefs_tracker_command_duration_seconds"
	check(cmds, 1, "command", "create_open", "result", "ok")
	check(cmds, 1, "command", "create_close", "result", "ok")
	check(cmds, 2, "command", "get_paths", "result", "ok")
	check(cmds, 1, "command", "get_paths", "result", "unknown_key")
	check(cmds, 1, "command", "unknown", "result", "unknown_command")
	check(lat, 2, "command", "get_paths", "result", "ok")
	check(lat, 1, "command", "unknown", "result", "unknown_command")
	if _, ok := f.Value(cmds, "command", "no_such_command_xyz"); ok {
		t.Error("an unknown command word became a label")
	}
	if v, _ := f.Value("mogilefs_tracker_connections"); v < 1 {
		t.Errorf("connections %v, want >= 1", v)
	}
	check("mogilefs_tracker_job_master", 1)
	if v, _ := f.Value("mogilefs_tracker_monitor_rounds_total"); v < 1 {
		t.Errorf("monitor rounds %v, want >= 1", v)
	}
	for _, q := range []string{"replicate", "delete", "fsck", "rebalance"} {
		if v, ok := f.Value("mogilefs_tracker_queue_length", "queue", q); !ok || v < 0 {
			t.Errorf("queue_length{%s} = %v %v", q, v, ok)
		}
	}
	if _, ok := f.Value("mogilefs_tracker_replication_backlog"); !ok {
		t.Error("no replication_backlog")
	}
	for _, n := range cl.Nodes {
		for _, d := range n.DevIDs {
			id := strconv.Itoa(d)
			total, ok := f.Value("mogilefs_tracker_device_total_mb", "devid", id, "host", n.Hostname)
			free, _ := f.Value("mogilefs_tracker_device_free_mb", "devid", id)
			if !ok || total <= 0 || free < 0 || free > total {
				t.Errorf("device %s: total %v free %v", id, total, free)
			}
			check("mogilefs_tracker_device_observed_state", 1, "devid", id, "state", "writeable")
			check("mogilefs_tracker_device_observed_state", 0, "devid", id, "state", "unreachable")
			check("mogilefs_tracker_device_status", 1, "devid", id, "status", "alive")
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", f)
	}

	// A device marked down shows in device_status at once (clear_cache
	// reloads the snapshot).
	c.MustDo(t, "set_state", wire.Args{"host": cl.Nodes[0].Hostname, "device": strconv.Itoa(cl.Nodes[0].DevIDs[0]), "state": "down"})
	c.MustDo(t, "clear_cache", nil)
	metricstest.Wait(t, maddr, 10*time.Second, "device down", func(f metricstest.Families) bool {
		v, _ := f.Value("mogilefs_tracker_device_status", "devid", strconv.Itoa(cl.Nodes[0].DevIDs[0]), "status", "down")
		return v == 1
	})
}

// TestMetricsConfigKey: metrics_listen in mogilefsd.conf, and a bad
// address stops the start.
func TestMetricsConfigKey(t *testing.T) {
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{})
	tr2 := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: tr.DSN, Args: []string{"--config=" + writeConf(t, "metrics_listen = "+maddr+"\n")}})
	tr2.Proc.WaitPort(t, maddr, 15*time.Second)
	tr2.Conn(t).MustDo(t, "get_domains", nil)
	metricstest.Wait(t, maddr, 10*time.Second, "get_domains counted", func(f metricstest.Families) bool {
		v, _ := f.Value("mogilefs_tracker_commands_total", "command", "get_domains", "result", "ok")
		return v == 1
	})
	out := runFail(t, append([]string{"--skipconfig", "--dsn=" + tr.DSN, "--listen=" + mogtest.FreeAddr(t, "127.0.0.1"), "--metrics-listen=" + maddr}, rootArgs()...)...)
	if !strings.Contains(out, "metrics_listen: metrics: listen on") {
		t.Errorf("busy metrics port: %q", out)
	}
}

// TestHUPReload changes the config file of a running tracker, sends
// SIGHUP and observes the new worker counts through !jobs, the log level
// through debug lines, and what needs a restart in the log.
func TestHUPReload(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "d"})
	tr := cl.Tracker
	c := tr.Conn(t)
	waitJobs(t, c, "replicate count 1", true)
	waitJobs(t, c, "delete count 1", true)
	// The file keeps the stream port StartCluster wrote.
	port := "mogstored_stream_port = " + strconv.Itoa(cl.StreamPort) + "\n"
	conf := port + "replicate_jobs = 3\ndelete_jobs = 2\nnode_timeout = 4.5\nconn_timeout = 3\nmin_free_space = 500\ndebug = 1\n"
	if err := os.WriteFile(tr.ConfigFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	tr.Proc.Cmd.Process.Signal(syscall.SIGHUP)
	waitJobs(t, c, "replicate count 3", true)
	waitJobs(t, c, "delete count 2", true)
	tr.Proc.WaitOutput(t, `SIGHUP: config reloaded" applied=conn_timeout,debug,delete_jobs,node_timeout,replicate_jobs needs_restart=min_free_space`, 15*time.Second)
	tr.Proc.WaitOutput(t, `setting changed; restart mogilefsd to apply it" setting=min_free_space`, 15*time.Second)
	// debug = 1 turned on debug lines.
	before := strings.Count(tr.Proc.Output(), "level=DEBUG")
	c.MustDo(t, "create_open", wire.Args{"domain": "d", "key": "k", "fid": "0"})
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(tr.Proc.Output(), "level=DEBUG") == before {
		if time.Now().After(deadline) {
			t.Fatalf("no debug line after debug = 1:\n%s", tr.Proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A config that does not parse changes nothing; the tracker goes on.
	os.WriteFile(tr.ConfigFile, []byte(port+"replicate_jobs = 1\nbogus_key = 2\n"), 0o644)
	tr.Proc.Cmd.Process.Signal(syscall.SIGHUP)
	tr.Proc.WaitOutput(t, `SIGHUP: config not reloaded; nothing changed`, 15*time.Second)
	waitJobs(t, c, "replicate count 3", true)
	c.MustDo(t, "noop", nil)

	// Back to one replicate worker; the command line still wins over the
	// file (StartTracker passes --workers=20).
	os.WriteFile(tr.ConfigFile, []byte(port+"replicate_jobs = 1\nquery_jobs = 5\n"), 0o644)
	tr.Proc.Cmd.Process.Signal(syscall.SIGHUP)
	waitJobs(t, c, "replicate count 1", true)
	waitJobs(t, c, "queryworker count 20", true)
}
