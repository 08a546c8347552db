package client

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

func TestAppendRequestEscapes(t *testing.T) {
	got := string(appendRequest(nil, "get_paths", []string{"domain", "my dom", "key", "a&b=c/d%e+f", "noverify", "1"}))
	want := "get_paths domain=my+dom&key=a%26b%3Dc/d%25e%2Bf&noverify=1\r\n"
	if got != want {
		t.Fatalf("appendRequest = %q, want %q", got, want)
	}
	// The tracker's decoder must give back exactly what was sent.
	req, err := wire.ParseRequest(strings.TrimSuffix(got, "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if req.Cmd != "get_paths" || req.Args["domain"] != "my dom" || req.Args["key"] != "a&b=c/d%e+f" || req.Args["noverify"] != "1" {
		t.Fatalf("round trip: %+v", req)
	}
	if got := string(appendRequest(nil, "noop", nil)); got != "noop \r\n" {
		t.Fatalf("no args: %q", got)
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("k", 10000)
	in := "OK a=1\r\nERR unknown_key unknown_key\n" + "OK key_1=" + long + "\r\n" + "partial"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	for _, want := range []string{"OK a=1", "ERR unknown_key unknown_key", "OK key_1=" + long} {
		got, _, err := readLine(br)
		if err != nil || got != want {
			t.Fatalf("readLine = %.40q, %v; want %.40q", got, err, want)
		}
	}
	if _, n, err := readLine(br); err == nil || n != len("partial") {
		t.Fatalf("unterminated line: n=%d err=%v", n, err)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in                 string
		first, last, total int64
		ok                 bool
	}{
		{"bytes 0-99/1000", 0, 99, 1000, true},
		{"bytes 100-199/*", 100, 199, -1, true},
		{"bytes */1000", -1, -1, 1000, true},
		{"bytes x-1/3", 0, 0, 3, false},
		{"items 0-1/2", 0, 0, -1, false},
		{"", 0, 0, -1, false},
	} {
		f, l, tot, ok := parseContentRange(tc.in)
		if ok != tc.ok || (ok && (f != tc.first || l != tc.last || tot != tc.total)) {
			t.Errorf("parseContentRange(%q) = %d %d %d %v", tc.in, f, l, tot, ok)
		}
	}
}

func TestNormalizeTracker(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":        "10.0.0.1:7001",
		" 10.0.0.1:7002 ": "10.0.0.1:7002",
		"tracker.example": "tracker.example:7001",
		"[::1]:7003":      "[::1]:7003",
	} {
		got, err := NormalizeTracker(in)
		if err != nil || got != want {
			t.Errorf("NormalizeTracker(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ":7001", "host:0", "host:http"} {
		if got, err := NormalizeTracker(bad); err == nil {
			t.Errorf("NormalizeTracker(%q) = %q, want error", bad, got)
		}
	}
}

func TestParseDests(t *testing.T) {
	multi := map[string]string{"fid": "7", "dev_count": "2", "devid_1": "3", "path_1": "http://a/dev3/x", "devid_2": "5", "path_2": "http://b/dev5/x"}
	d := parseDests(multi)
	if len(d) != 2 || d[0] != (dest{"3", "http://a/dev3/x"}) || d[1] != (dest{"5", "http://b/dev5/x"}) {
		t.Fatalf("multi_dest: %+v", d)
	}
	single := map[string]string{"fid": "7", "devid": "4", "path": "http://c/dev4/x"}
	if d := parseDests(single); len(d) != 1 || d[0] != (dest{"4", "http://c/dev4/x"}) {
		t.Fatalf("single: %+v", d)
	}
	if d := parseDests(map[string]string{"fid": "7"}); d != nil {
		t.Fatalf("none: %+v", d)
	}
}

func TestErrorsMatchByCode(t *testing.T) {
	_, err := wire.ParseReply("ERR unknown_key unknown_key")
	wrapped := &StoreError{Key: "k", Op: OpOpen, Err: err}
	if !IsUnknownKey(wrapped) || !errors.Is(wrapped, ErrUnknownKey) || Code(wrapped) != "unknown_key" {
		t.Fatalf("unknown_key not recognised through wrapping: %v", wrapped)
	}
	if IsNoneMatch(wrapped) || IsCode(wrapped, "none_match") {
		t.Fatal("unknown_key matched none_match")
	}
	te := &TrackerError{Addr: "127.0.0.1:1", Cmd: "noop", Err: ErrTimeout}
	if !errors.Is(te, ErrTimeout) || Code(te) != "" {
		t.Fatalf("TrackerError: %v", te)
	}
	if got := stripHTML("<h1>404 - Not Found</h1>\n"); got != "404 - Not Found" {
		t.Fatalf("stripHTML = %q", got)
	}
}

// A node that answered no_lease is skipped by uploads for a moment only,
// and never by reads.
func TestFastNodeBusyPause(t *testing.T) {
	n := &fastNode{base: "http://127.0.0.1:1", ready: true}
	s := &fastState{nodes: []*fastNode{n}}
	now := time.Now()
	if !n.writable(now, false) || len(s.writers(false)) != 1 {
		t.Fatal("a ready node is not writable")
	}
	n.busyUntil.Store(now.Add(fastBusyPause).UnixNano())
	if n.writable(now, false) || len(s.writers(false)) != 0 {
		t.Fatal("a node that had no lease is still given uploads")
	}
	if len(s.readers()) != 1 {
		t.Fatal("a node that had no lease is skipped by reads")
	}
	if !n.writable(now.Add(fastBusyPause), false) {
		t.Fatal("the pause does not end")
	}
}
