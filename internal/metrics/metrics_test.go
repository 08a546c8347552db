package metrics_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mogilefs-go/mogilefs/internal/metrics"
	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
)

func TestServeMetricsAndPprof(t *testing.T) {
	reg := metrics.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mogilefs_test_things_total", Help: "things"}, []string{"kind"})
	reg.MustRegister(c)
	c.WithLabelValues("a").Add(3)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := metrics.Listen("127.0.0.1:0", reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	addr := s.Addr().String()

	f := metricstest.Scrape(t, addr)
	if v, ok := f.Value("mogilefs_test_things_total", "kind", "a"); !ok || v != 3 {
		t.Fatalf("things{kind=a} = %v %v, want 3\n%s", v, ok, f)
	}
	if _, ok := f.Value("go_goroutines"); !ok {
		t.Fatal("no go_goroutines: the runtime collector is missing")
	}
	if _, ok := f.Value("process_open_fds"); !ok {
		t.Fatal("no process_open_fds: the process collector is missing")
	}
	c.WithLabelValues("a").Inc()
	if v, _ := metricstest.Scrape(t, addr).Value("mogilefs_test_things_total", "kind", "a"); v != 4 {
		t.Fatalf("after Inc: %v, want 4", v)
	}

	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("pprof index: %s\n%s", resp.Status, body)
	}
	resp, err = http.Get("http://" + addr + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/nope: %s, want 404", resp.Status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := metricstest.Get(addr); err == nil {
		t.Fatal("still answering after shutdown")
	}
}

func TestListenErrors(t *testing.T) {
	reg := metrics.NewRegistry()
	for _, bad := range []string{"", "nonsense", "127.0.0.1:99999", "example.com:80", "70000"} {
		if _, err := metrics.Listen(bad, reg, nil); err == nil {
			t.Errorf("Listen(%q) succeeded", bad)
		} else if !strings.Contains(err.Error(), "metrics:") {
			t.Errorf("Listen(%q): %v does not say what failed", bad, err)
		}
	}
	s, err := metrics.Listen("127.0.0.1:0", reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Serve(canceled())
	if _, err := metrics.Listen(s.Addr().String(), reg, nil); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("second Listen on a bound port: %v", err)
	}
	if a, err := metrics.NormalizeAddr("9100"); err != nil || a != ":9100" {
		t.Fatalf("NormalizeAddr(9100) = %q %v", a, err)
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]string{100: "1xx", 200: "2xx", 206: "2xx", 304: "3xx", 404: "4xx", 507: "5xx", 599: "5xx", 0: "other", 600: "other", 99: "other"} {
		if got := metrics.StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", code, got, want)
		}
	}
}
