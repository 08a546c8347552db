package client_test

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestFastPathAttrs: an upload whose Commit carries only mogfs attributes
// goes through /_put and its attributes are committed with it; what the
// fast path does not take goes three-step with mogfs_create_close, the
// attributes intact (docs/fastpath.md §10.3a).
func TestFastPathAttrs(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1},
		FastPath: true, NodeMetrics: true, NodeArgs: []string{"--nofsync"}})
	ctx := mogtest.Context(t)
	cl.WaitFastPath(t)
	c, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
	lookup := func(t *testing.T, key string) map[string]string {
		t.Helper()
		r, err := c.Do(ctx, "mogfs_lookup", map[string]string{"domain": "files", "key": key})
		if err != nil {
			t.Fatalf("mogfs_lookup %q: %v", key, err)
		}
		return r
	}
	attrs := []string{"mode", "33261", "uid", "1001", "gid", "1002", "mtime", "1700000001", "mtime_nsec", "3"}
	want := map[string]string{"mode": "33261", "uid": "1001", "gid": "1002", "mtime": "1700000001", "mtime_nsec": "3"}
	check := func(t *testing.T, key string, st client.Stored) {
		t.Helper()
		l := lookup(t, key)
		if l["fid"] != itoa64(st.FID) {
			t.Fatalf("mogfs_lookup %q: fid %s, stored %d", key, l["fid"], st.FID)
		}
		for k, v := range want {
			if l[k] != v {
				t.Fatalf("mogfs_lookup %q: %s=%q, want %q: %v", key, k, l[k], v, l)
			}
		}
	}

	t.Run("Fast", func(t *testing.T) {
		before, puts := c.Stats(), nodePuts(t, cl)
		data := randBytes(4000)
		st, err := c.StoreWith(ctx, "a/small", "one", bytes.NewReader(data), int64(len(data)), client.Commit{Attrs: attrs})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		if s.FastPathAttrPuts != before.FastPathAttrPuts+1 || s.FastPathPuts != before.FastPathPuts+1 ||
			s.ThreeStepPuts != before.ThreeStepPuts || s.TrackerCommands["mogfs_create_close"] != 0 {
			t.Fatalf("stats %+v -> %+v", before, s)
		}
		if got := nodePuts(t, cl) - puts; got != 1 {
			t.Fatalf("nodes counted %d fast-path puts, want 1", got)
		}
		check(t, "a/small", st)
		if got, err := c.GetBytes(ctx, "a/small"); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
		}
	})

	t.Run("Big", func(t *testing.T) {
		before := c.Stats()
		data := randBytes(client.DefaultFastPathMax + 1)
		st, err := c.StoreWith(ctx, "a/big", "one", bytes.NewReader(data), int64(len(data)), client.Commit{Attrs: attrs})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		if s.ThreeStepPuts != before.ThreeStepPuts+1 || s.TrackerCommands["mogfs_create_close"] != before.TrackerCommands["mogfs_create_close"]+1 {
			t.Fatalf("stats %+v -> %+v", before, s)
		}
		check(t, "a/big", st)
	})

	t.Run("Refusals", func(t *testing.T) {
		before := c.Stats()
		_, err := c.StoreWith(ctx, "a/x", "one", bytes.NewReader([]byte("x")), 1, client.Commit{Attrs: []string{"color", "red"}})
		if !errors.Is(err, client.ErrBadAttr) {
			t.Fatalf("unknown attribute: %v", err)
		}
		if c.Stats().TrackerTotal() != before.TrackerTotal() || c.Stats().FastPathPuts != before.FastPathPuts {
			t.Fatal("an upload with an unknown attribute was sent")
		}
		// A bad value is the tracker's refusal, as from mogfs_create_close.
		_, err = c.StoreWith(ctx, "a/x", "one", bytes.NewReader([]byte("x")), 1, client.Commit{Attrs: []string{"mode", "abc"}})
		if client.Code(err) != "bad_params" {
			t.Fatalf("bad mode through the fast path: %v", err)
		}
		big := randBytes(client.DefaultFastPathMax + 1)
		_, err = c.StoreWith(ctx, "a/x", "one", bytes.NewReader(big), int64(len(big)), client.Commit{Attrs: []string{"mode", "abc"}})
		if client.Code(err) != "bad_params" {
			t.Fatalf("bad mode three-step: %v", err)
		}
		if _, err := c.FileInfo(ctx, "a/x"); !client.IsUnknownKey(err) {
			t.Fatalf("refused key: %v", err)
		}
	})

	t.Run("HardLink", func(t *testing.T) {
		// A name of a hard-linked file: the node refuses it (linked_key)
		// and the three-step mogfs_create_close gives the file new
		// content under both names.
		if _, err := c.Do(ctx, "mogfs_link", map[string]string{"domain": "files", "from_key": "a/small", "to_key": "a/link"}); err != nil {
			t.Fatal(err)
		}
		before := c.Stats()
		data := []byte("new content of a linked file")
		st, err := c.StoreWith(ctx, "a/link", "one", bytes.NewReader(data), int64(len(data)), client.Commit{Attrs: attrs})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		if s.FastPathFallbacks != before.FastPathFallbacks+1 || s.ThreeStepPuts != before.ThreeStepPuts+1 {
			t.Fatalf("stats %+v -> %+v", before, s)
		}
		for _, key := range []string{"a/link", "a/small"} {
			l := lookup(t, key)
			if l["fid"] != itoa64(st.FID) || l["size"] != itoa64(int64(len(data))) || l["mode"] != "33261" {
				t.Fatalf("%s after writing a/link: %v (stored %+v)", key, l, st)
			}
		}
		// The node is still used for the next upload.
		if _, err := c.StoreWith(ctx, "a/after", "one", bytes.NewReader(data), int64(len(data)), client.Commit{Attrs: attrs}); err != nil {
			t.Fatal(err)
		}
		if got := c.Stats().FastPathAttrPuts; got != s.FastPathAttrPuts+1 {
			t.Fatalf("FastPathAttrPuts %d after the link, want %d", got, s.FastPathAttrPuts+1)
		}
	})
}

// TestFastPathAttrsWithoutNodeSupport: nodes without the fast path (no
// --trackers): attributes go with mogfs_create_close.
func TestFastPathAttrsWithoutNodeSupport(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}})
	ctx := mogtest.Context(t)
	c, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
	st, err := c.StoreWith(ctx, "k", "one", bytes.NewReader([]byte("content")), 7, client.Commit{Attrs: []string{"mode", "384", "uid", "9"}})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	if s.ThreeStepPuts != 1 || s.FastPathPuts != 0 || s.TrackerCommands["mogfs_create_close"] != 1 {
		t.Fatalf("stats: %+v", s)
	}
	l := cl.Tracker.Conn(t).MustDo(t, "mogfs_lookup", wire.Args{"domain": "files", "key": "k"})
	if l["fid"] != itoa64(st.FID) || l["mode"] != "384" || l["uid"] != "9" {
		t.Fatalf("mogfs_lookup: %v", l)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
