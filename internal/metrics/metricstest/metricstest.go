// Package metricstest scrapes a running daemon's /metrics over HTTP and
// reads samples out of it, for tests that check counters moved with the
// right labels. Only _test.go files import it.
package metricstest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the parsed metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Get fetches http://addr/metrics and parses the text format.
func Get(addr string) (Families, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET /metrics: %s: %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	return Families(fams), nil
}

// Scrape is Get that fails the test on error.
func Scrape(t testing.TB, addr string) Families {
	t.Helper()
	f, err := Get(addr)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Wait scrapes addr until cond holds, failing the test after timeout
// with the last scrape's matching lines.
func Wait(t testing.TB, addr string, timeout time.Duration, what string, cond func(Families) bool) Families {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := Get(addr)
		if err == nil && cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics at %s: %s not reached within %v (err %v)\n%s", addr, what, timeout, err, f)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// matches reports whether m carries every label pair of want
// ("k1", "v1", "k2", "v2", ...).
func matches(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == want[i] && lp.GetValue() == want[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(f *dto.MetricFamily, m *dto.Metric) float64 {
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	case dto.MetricType_SUMMARY:
		return float64(m.GetSummary().GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}

// Value returns the value of the one series of family name whose labels
// include want (for a histogram: its sample count); ok is false when no
// series matches.
func (fs Families) Value(name string, want ...string) (v float64, ok bool) {
	f := fs[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if matches(m, want) {
			return value(f, m), true
		}
	}
	return 0, false
}

// Sum adds up every series of family name whose labels include want.
func (fs Families) Sum(name string, want ...string) float64 {
	f := fs[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if matches(m, want) {
			sum += value(f, m)
		}
	}
	return sum
}

// HistogramSum returns the sum of observations of the histogram series
// of family name whose labels include want.
func (fs Families) HistogramSum(name string, want ...string) (float64, bool) {
	f := fs[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if matches(m, want) && m.GetHistogram() != nil {
			return m.GetHistogram().GetSampleSum(), true
		}
	}
	return 0, false
}

// String lists the families' samples of the project (mogilefs_*), one a
// line, for failure messages.
func (fs Families) String() string {
	var b strings.Builder
	for name, f := range fs {
		if !strings.HasPrefix(name, "mogilefs_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			fmt.Fprintf(&b, "%s{%s} %g\n", name, strings.Join(ls, ","), value(f, m))
		}
	}
	return b.String()
}
