package fence

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNewTimes(t *testing.T) {
	for _, c := range []struct {
		ttl                         time.Duration
		wantTTL, renew, margin, try time.Duration
	}{
		{30 * time.Second, 30 * time.Second, 10 * time.Second, 5 * time.Second, time.Second},
		{3 * time.Second, 3 * time.Second, time.Second, time.Second, 250 * time.Millisecond},
		{1500 * time.Millisecond, 3 * time.Second, time.Second, time.Second, 250 * time.Millisecond},
		{90*time.Second + 400*time.Millisecond, 90 * time.Second, 30 * time.Second, 15 * time.Second, 3 * time.Second},
	} {
		got := NewTimes(c.ttl)
		want := Times{TTL: c.wantTTL, Renew: c.renew, Margin: c.margin, Retry: c.try}
		if got != want {
			t.Errorf("NewTimes(%v) = %+v, want %+v", c.ttl, got, want)
		}
	}
	sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := NewTimes(30 * time.Second).Deadline(sent); !d.Equal(sent.Add(25 * time.Second)) {
		t.Errorf("deadline %v, want sent + 25 s", d)
	}
}

func TestFenceLapses(t *testing.T) {
	start := time.Now()
	f := New(context.Background(), start.Add(500*time.Millisecond))
	// Extended before it lapsed: it lives to the new deadline.
	if !f.Extend(start.Add(600 * time.Millisecond)) {
		t.Fatal("extend of a live fence failed")
	}
	<-f.Context().Done()
	if el := time.Since(start); el < 600*time.Millisecond {
		t.Errorf("ended %v after start, before its extended deadline", el)
	}
	if c := context.Cause(f.Context()); !errors.Is(c, ErrLapsed) {
		t.Errorf("cause %v, want ErrLapsed", c)
	}
	// Once ended it is never extended again.
	if f.Extend(time.Now().Add(time.Hour)) {
		t.Error("a lapsed fence was extended")
	}
	if f.Context().Err() == nil {
		t.Error("a lapsed fence came back")
	}
}

func TestFenceStop(t *testing.T) {
	f := New(context.Background(), time.Now().Add(time.Hour))
	if f.Context().Err() != nil {
		t.Fatal("a new fence has ended")
	}
	f.Stop(nil)
	if c := context.Cause(f.Context()); !errors.Is(c, ErrReleased) {
		t.Errorf("cause %v, want ErrReleased", c)
	}
	if f.Extend(time.Now().Add(time.Hour)) {
		t.Error("a stopped fence was extended")
	}
	lost := errors.New("lost")
	g := New(context.Background(), time.Now().Add(time.Hour))
	g.Stop(lost)
	if c := context.Cause(g.Context()); c != lost {
		t.Errorf("cause %v, want the one given to Stop", c)
	}
	// The parent's end ends it too.
	parent, cancel := context.WithCancel(context.Background())
	h := New(parent, time.Now().Add(time.Hour))
	cancel()
	<-h.Context().Done()
	if h.Extend(time.Now().Add(time.Hour)) {
		t.Error("a fence whose parent ended was extended")
	}
}
