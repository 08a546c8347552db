package tracker

import (
	"strconv"
	"testing"
	"time"
)

// TestRecentLog: !recent lists the last 50 queries, oldest first, as
// "ip line total work" with the times in seconds.
func TestRecentLog(t *testing.T) {
	var r recentLog
	if got := r.list(); len(got) != 0 {
		t.Fatalf("empty log lists %q", got)
	}
	r.add("10.0.0.1", "noop", 1500*time.Millisecond, 250*time.Microsecond)
	if got := r.list(); len(got) != 1 || got[0] != "10.0.0.1 noop 1.5000 0.0003" {
		t.Fatalf("one query: %q", got)
	}
	for i := 1; i < 60; i++ {
		r.add("10.0.0.1", "q"+strconv.Itoa(i), time.Duration(i)*time.Millisecond, 0)
	}
	got := r.list()
	if len(got) != 50 {
		t.Fatalf("%d entries, want 50", len(got))
	}
	if got[0] != "10.0.0.1 q10 0.0100 0.0000" || got[49] != "10.0.0.1 q59 0.0590 0.0000" {
		t.Fatalf("first %q, last %q", got[0], got[49])
	}
}
