package main_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

func request(t *testing.T, method, u string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	if body == nil {
		req.Body = nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestMetrics runs mogproxy with --metrics-listen (set in its config
// file) on a two-node cluster: requests, cache hits and misses, a
// failover to the second copy of a file, and SIGHUP emptying the caches.
func TestMetrics(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"two": 2}})
	bin := mogtest.Binary(t, "mogproxy")
	addr, maddr := mogtest.FreeAddr(t, "127.0.0.1"), mogtest.FreeAddr(t, "127.0.0.1")
	dir := t.TempDir()
	conf := filepath.Join(dir, "mogproxy.conf")
	os.WriteFile(conf, []byte("trackers = "+cl.Tracker.Addr+"\nlisten = "+addr+"\nmetrics_listen = "+maddr+"\nclass = two\n"), 0o644)
	p := mogtest.Start(t, "/usr/bin/env", "HOME="+dir, "MOGUTILSCONF=", bin, "--config="+conf)
	p.WaitPort(t, addr, 30*time.Second)
	p.WaitPort(t, maddr, 30*time.Second)
	base := "http://" + addr

	data := bytes.Repeat([]byte("metrics "), 1000)
	if code, _ := request(t, "PUT", base+"/files/a", data); code != 201 {
		t.Fatalf("PUT: %d", code)
	}
	for i := 0; i < 2; i++ {
		if code, got := request(t, "GET", base+"/files/a", nil); code != 200 || !bytes.Equal(got, data) {
			t.Fatalf("GET: %d", code)
		}
	}
	if code, _ := request(t, "GET", base+"/files/nope", nil); code != 404 {
		t.Fatalf("GET missing: %d", code)
	}
	f := metricstest.Scrape(t, maddr)
	check := func(name string, want float64, labels ...string) {
		t.Helper()
		if v, ok := f.Value(name, labels...); !ok || v != want {
			t.Errorf("%s%v = %v (found %v), want %v\n%s", name, labels, v, ok, want, f)
		}
	}
	check("mogilefs_gateway_requests_total", 1, "method", "PUT", "code", "201")
	check("mogilefs_gateway_requests_total", 2, "method", "GET", "code", "200")
	check("mogilefs_gateway_requests_total", 1, "method", "GET", "code", "404")
	check("mogilefs_gateway_request_duration_seconds", 2, "method", "GET", "code", "200")
	check("mogilefs_gateway_cache_requests_total", 1, "cache", "meta", "result", "miss")
	check("mogilefs_gateway_cache_requests_total", 1, "cache", "meta", "result", "hit")
	check("mogilefs_gateway_cache_requests_total", 1, "cache", "content", "result", "miss")
	check("mogilefs_gateway_cache_requests_total", 1, "cache", "content", "result", "hit")
	check("mogilefs_gateway_content_cache_bytes", float64(len(data)))
	check("mogilefs_gateway_meta_cache_entries", 1)
	if v, _ := f.Value("mogilefs_gateway_sent_bytes_total"); v < float64(2*len(data)) {
		t.Errorf("sent bytes %v, want >= %d", v, 2*len(data))
	}

	// Two copies, then one of them removed from its disk.
	c := cl.Tracker.Conn(t)
	fi := c.MustDo(t, "file_info", wire.Args{"domain": "files", "key": "a"})
	if fi["devcount"] != "2" {
		src := strings.Split(fi["devids"], ",")[0]
		dst := "1"
		if src == "1" {
			dst = "2"
		}
		c.Do("httpcopy", wire.Args{"sdevid": src, "ddevid": dst, "fid": fi["fid"]})
	}
	var paths []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := c.MustDo(t, "get_paths", wire.Args{"domain": "files", "key": "a", "noverify": "1"})
		if a["paths"] == "2" {
			paths = []string{a["path1"], a["path2"]}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second copy: %v", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	u, _ := url.Parse(paths[0])
	removed := false
	for _, n := range cl.Nodes {
		if n.IP == u.Hostname() {
			if err := os.Remove(filepath.Join(n.DocRoot, filepath.FromSlash(u.Path))); err != nil {
				t.Fatal(err)
			}
			removed = true
		}
	}
	if !removed {
		t.Fatalf("no node serves %s", paths[0])
	}
	// The gateway tries the copies in the trackers' order, which varies:
	// empty its caches with SIGHUP and read again until a read met the
	// missing copy first.
	for i := 1; ; i++ {
		p.Cmd.Process.Signal(syscall.SIGHUP)
		waitCount(t, p, "SIGHUP: caches cleared", i)
		f = metricstest.Scrape(t, maddr)
		check("mogilefs_gateway_meta_cache_entries", 0)
		check("mogilefs_gateway_content_cache_bytes", 0)
		if code, got := request(t, "GET", base+"/files/a", nil); code != 200 || !bytes.Equal(got, data) {
			t.Fatalf("GET with one copy gone: %d", code)
		}
		f = metricstest.Scrape(t, maddr)
		if v, _ := f.Value("mogilefs_gateway_node_failovers_total"); v >= 1 {
			break
		}
		if i == 30 {
			t.Fatalf("no failover counted in 30 reads\n%s", f)
		}
	}
	check("mogilefs_gateway_cache_requests_total", 1, "cache", "meta", "result", "hit")
}

// waitCount waits until s appears n times in the process output.
func waitCount(t *testing.T, p *mogtest.Proc, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.Output(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged %s times:\n%s", s, strconv.Itoa(n), p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
