package main_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetrics runs mogstored with --metrics-listen, serves requests of
// every kind and a side-channel command, and checks the scraped counters.
func TestMetrics(t *testing.T) {
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Args: []string{"--metrics-listen=" + maddr}})
	m.WaitPort(t, maddr, 15*time.Second)

	f := metricstest.Scrape(t, maddr)
	if n := f.Sum("mogilefs_mogstored_http_requests_total"); n != 0 {
		t.Fatalf("requests before any request: %v\n%s", n, f)
	}
	// The usage refresh at start measures dev1; the metrics listener may
	// answer before the devices are scanned, so wait for the gauge.
	deadline := time.Now().Add(15 * time.Second)
	total, ok := f.Value("mogilefs_mogstored_device_total_bytes", "devid", "1")
	for !ok && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		f = metricstest.Scrape(t, maddr)
		total, ok = f.Value("mogilefs_mogstored_device_total_bytes", "devid", "1")
	}
	free, _ := f.Value("mogilefs_mogstored_device_free_bytes", "devid", "1")
	if !ok || total <= 0 || free <= 0 || free > total {
		t.Fatalf("device 1 total %v free %v (ok %v)\n%s", total, free, ok, f)
	}

	body := strings.Repeat("x", 10000)
	url := m.URL("/dev1/0/000/000/0000000001.fid")
	if code, _ := do(t, "PUT", url, body); code != 200 {
		t.Fatalf("PUT: %d", code)
	}
	for i := 0; i < 2; i++ {
		if code, got := do(t, "GET", url, ""); code != 200 || got != body {
			t.Fatalf("GET: %d, %d bytes", code, len(got))
		}
	}
	if code, _ := do(t, "HEAD", url, ""); code != 200 {
		t.Fatalf("HEAD: %d", code)
	}
	if code, _ := do(t, "GET", m.URL("/dev1/0/000/000/0000000002.fid"), ""); code != 404 {
		t.Fatalf("GET missing: %d", code)
	}
	if code, _ := do(t, "DELETE", url, ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := do(t, "PROPFIND", url, ""); code != 405 {
		t.Fatalf("PROPFIND: %d", code)
	}
	sc := m.SideChannel(t)
	sc.Write([]byte("size /dev1/0/000/000/0000000002.fid\r\nbogus-command\r\n"))
	br := bufio.NewReader(sc)
	for i := 0; i < 2; i++ {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}

	// A request is counted once its response has been sent, so the last
	// ones may still be on their way into the counters: wait for the
	// state, then report what differs.
	var problems []string
	deadline = time.Now().Add(10 * time.Second)
	for {
		f = metricstest.Scrape(t, maddr)
		problems = metricProblems(f, len(body))
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", f)
	}
}

// metricProblems lists how the node's metrics differ from what
// TestMetrics's requests and side-channel commands should have made.
func metricProblems(f metricstest.Families, bodyLen int) []string {
	var out []string
	want := []struct {
		method, status string
		n              float64
	}{{"PUT", "2xx", 1}, {"GET", "2xx", 2}, {"GET", "4xx", 1}, {"HEAD", "2xx", 1}, {"DELETE", "2xx", 1}, {"other", "4xx", 1}}
	for _, w := range want {
		if v, _ := f.Value("mogilefs_mogstored_http_requests_total", "method", w.method, "status", w.status); v != w.n {
			out = append(out, fmt.Sprintf("requests{%s,%s} = %v, want %v", w.method, w.status, v, w.n))
		}
		if v, _ := f.Value("mogilefs_mogstored_http_request_duration_seconds", "method", w.method, "status", w.status); v != w.n {
			out = append(out, fmt.Sprintf("latency count{%s,%s} = %v, want %v", w.method, w.status, v, w.n))
		}
	}
	if n := f.Sum("mogilefs_mogstored_http_requests_total"); n != 7 {
		out = append(out, fmt.Sprintf("requests in all: %v, want 7", n))
	}
	if v, _ := f.Value("mogilefs_mogstored_http_received_bytes_total"); v != float64(bodyLen) {
		out = append(out, fmt.Sprintf("received bytes %v, want %d", v, bodyLen))
	}
	// Two GETs of the body, plus the short HTML bodies of 404 and 405.
	if v, _ := f.Value("mogilefs_mogstored_http_sent_bytes_total"); v < float64(2*bodyLen) || v > float64(2*bodyLen+200) {
		out = append(out, fmt.Sprintf("sent bytes %v, want a little over %d", v, 2*bodyLen))
	}
	if v, _ := f.Value("mogilefs_mogstored_sidechannel_commands_total", "command", "size"); v != 1 {
		out = append(out, fmt.Sprintf("side-channel size commands %v, want 1", v))
	}
	if v, _ := f.Value("mogilefs_mogstored_sidechannel_commands_total", "command", "manage"); v != 1 {
		out = append(out, fmt.Sprintf("side-channel manage commands %v, want 1 (bogus-command)", v))
	}
	return out
}

// TestHUPRescansDevices adds a device directory to a running node and
// checks that SIGHUP measures it at once (the periodic refresh is 10 s).
func TestHUPRescansDevices(t *testing.T) {
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Args: []string{"--metrics-listen=" + maddr}})
	m.WaitPort(t, maddr, 15*time.Second)
	f := metricstest.Scrape(t, maddr)
	if _, ok := f.Value("mogilefs_mogstored_device_total_bytes", "devid", "7"); ok {
		t.Fatal("dev7 measured before it exists")
	}
	if err := os.Mkdir(filepath.Join(m.DocRoot, "dev7"), 0o755); err != nil {
		t.Fatal(err)
	}
	m.Cmd.Process.Signal(syscall.SIGHUP)
	metricstest.Wait(t, maddr, 5*time.Second, "dev7 measured", func(f metricstest.Families) bool {
		_, ok := f.Value("mogilefs_mogstored_device_total_bytes", "devid", "7")
		return ok
	})
	if _, err := os.Stat(filepath.Join(m.DocRoot, "dev7", "usage")); err != nil {
		t.Fatalf("dev7/usage after SIGHUP: %v", err)
	}
	// Still serving after the signal.
	if code, _ := do(t, "GET", m.URL("/dev7/usage"), ""); code != 200 {
		t.Fatalf("GET /dev7/usage: %d", code)
	}
	m.WaitOutput(t, "SIGHUP: rescanning devices", 5*time.Second)
}

// TestMetricsListenErrors: a bad or busy metrics address stops the start
// with a message naming the option.
func TestMetricsListenErrors(t *testing.T) {
	bin := mogtest.Binary(t, "mogstored")
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "dev1"), 0o755)
	busy := mogtest.StartMogstored(t, mogtest.MogstoredOptions{})
	for _, addr := range []string{"not-an-address", busy.MgmtAddr} {
		out, err := exec.Command(bin, "--skipconfig", "--docroot="+root, "--httplisten="+mogtest.FreeAddr(t, "127.0.0.1"),
			"--mgmtlisten="+mogtest.FreeAddr(t, "127.0.0.1"), "--metrics-listen="+addr).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "metricslisten:") {
			t.Errorf("--metrics-listen=%s: %v\n%s", addr, err, out)
		}
	}
}
