package client_test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// countingTransport counts the HTTP requests a client sends to the
// storage nodes (over a real transport).
type countingTransport struct {
	rt http.RoundTripper
	n  atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

func newFastClient(t testing.TB, domain, tracker string, mode client.FastPathMode) (*client.Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{rt: http.DefaultTransport.(*http.Transport).Clone()}
	c, err := client.New(client.Config{Domain: domain, Trackers: []string{tracker}, Timeout: 30 * time.Second,
		FastPath: mode, KeyReads: true, HTTPClient: &http.Client{Transport: ct}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ct
}

// nodePuts sums mogstored's fastpath_puts_total{outcome="ok"} over the
// cluster's nodes.
func nodePuts(t *testing.T, cl *mogtest.Cluster) int {
	t.Helper()
	total := 0
	for _, n := range cl.Nodes {
		resp, err := http.Get("http://" + n.MetricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), `mogilefs_mogstored_fastpath_puts_total{outcome="ok"} `); ok {
				f, _ := strconv.ParseFloat(v, 64)
				total += int(f)
			}
		}
		resp.Body.Close()
	}
	return total
}

func TestFastPath(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1},
		FastPath: true, NodeMetrics: true, NodeArgs: []string{"--nofsync"}})
	ctx := mogtest.Context(t)
	tc := cl.Tracker.Conn(t)
	tc.MustDo(t, "create_class", wire.Args{"domain": "files", "class": "sum", "mindevcount": "1", "hashtype": "MD5"})
	cl.WaitFastPath(t)
	c, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)

	t.Run("StoreUsesTheNode", func(t *testing.T) {
		puts := nodePuts(t, cl)
		data := randBytes(4100)
		st, err := c.StoreWith(ctx, "k1", "one", bytes.NewReader(data), int64(len(data)), client.Commit{})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Stats()
		if s.FastPathPuts != 1 || s.ThreeStepPuts != 0 || s.TrackerCommands["create_open"] != 0 {
			t.Fatalf("stats after a small Store: %+v", s)
		}
		fi, err := c.FileInfo(ctx, "k1")
		if err != nil || fi.FID != st.FID || fi.Length != int64(len(data)) || len(fi.DevIDs) != 1 || fi.DevIDs[0] != st.DevID {
			t.Fatalf("file_info %+v, %v; stored %+v", fi, err, st)
		}
		if !strings.Contains(st.Path, "/dev"+strconv.Itoa(st.DevID)+"/") || st.Size != int64(len(data)) {
			t.Fatalf("stored %+v", st)
		}
		if got := nodePuts(t, cl) - puts; got != 1 {
			t.Fatalf("nodes counted %d fast-path puts, want 1", got)
		}
		before := c.Stats().TrackerTotal()
		if got, err := c.GetBytes(ctx, "k1"); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
		}
		if c.Stats().TrackerTotal() != before {
			t.Fatal("a Get after the Store asked the tracker")
		}
	})

	t.Run("ChecksumClass", func(t *testing.T) {
		data := randBytes(3000)
		if _, err := c.StoreBytes(ctx, "summed", "sum", data); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		fi, err := c.FileInfo(ctx, "summed")
		if err != nil || fi.Checksum != "MD5:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("file_info %+v, %v", fi, err)
		}
		if s := c.Stats(); s.ThreeStepPuts != 0 {
			t.Fatalf("an MD5 class went three-step: %+v", s)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		before := c.Stats()
		if n, err := c.StoreBytes(ctx, "empty", "one", nil); err != nil || n != 0 {
			t.Fatalf("StoreBytes empty = %d, %v", n, err)
		}
		if s := c.Stats(); s.FastPathPuts != before.FastPathPuts+1 {
			t.Fatalf("stats %+v -> %+v", before, s)
		}
		fresh, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
		if got, err := fresh.GetBytes(ctx, "empty"); err != nil || len(got) != 0 {
			t.Fatalf("GetBytes: %q, %v", got, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Uploads, reads and deletes from many goroutines share the
		// capability state and the path cache.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					k := fmt.Sprintf("conc/%d/%d", w, i%5)
					data := []byte(fmt.Sprintf("%d-%d-%s", w, i, strings.Repeat("x", i*10)))
					if _, err := c.StoreBytes(ctx, k, "one", data); err != nil {
						errs <- err
						return
					}
					if got, err := c.GetBytes(ctx, k); err != nil || !bytes.Equal(got, data) {
						errs <- fmt.Errorf("%s: %q, %v", k, got, err)
						return
					}
					if i%7 == 6 {
						if err := c.Delete(ctx, k); err != nil {
							errs <- err
							return
						}
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("LargeGoesThreeStep", func(t *testing.T) {
		data := randBytes(client.DefaultFastPathMax + 1)
		before := c.Stats()
		if _, err := c.StoreBytes(ctx, "big", "one", data); err != nil {
			t.Fatal(err)
		}
		after := c.Stats()
		if after.ThreeStepPuts != before.ThreeStepPuts+1 || after.FastPathPuts != before.FastPathPuts {
			t.Fatalf("stats %+v -> %+v", before, after)
		}
		if got, err := c.GetBytes(ctx, "big"); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
		}
	})

	t.Run("RefusalIsTheTrackerError", func(t *testing.T) {
		before := c.Stats()
		_, err := c.StoreBytes(ctx, "k2", "nosuchclass", []byte("x"))
		if !client.IsCode(err, "unreg_class") {
			t.Fatalf("unknown class: %v", err)
		}
		var se *client.StoreError
		if !errors.As(err, &se) || se.Op != client.OpOpen {
			t.Fatalf("unknown class: %#v", err)
		}
		other, _ := newFastClient(t, "nosuchdomain", cl.Tracker.Addr, client.FastPathAuto)
		if _, err := other.StoreBytes(ctx, "k2", "", []byte("x")); !client.IsUnknownDomain(err) {
			t.Fatalf("unknown domain: %v", err)
		}
		after := c.Stats()
		if after.FastPathFallbacks != before.FastPathFallbacks || after.ThreeStepPuts != before.ThreeStepPuts ||
			after.TrackerCommands["create_open"] != before.TrackerCommands["create_open"] {
			t.Fatalf("a refusal fell back: %+v -> %+v", before, after)
		}
		if other.Stats().TrackerCommands["create_open"] != 0 {
			t.Fatalf("a refusal fell back: %+v", other.Stats())
		}
	})

	t.Run("ReadThroughKey", func(t *testing.T) {
		want := map[string][]byte{}
		for i := 0; i < 6; i++ {
			k := "shared" + strconv.Itoa(i)
			want[k] = randBytes(1000 + i)
			if _, err := c.StoreBytes(ctx, k, "one", want[k]); err != nil {
				t.Fatal(err)
			}
		}
		// Another client: it finds the fast path first (with an unknown
		// key, which /_key answers too).
		r, rt := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
		if _, err := r.GetBytes(ctx, "nosuchkey"); !client.IsUnknownKey(err) {
			t.Fatalf("unknown key: %v", err)
		}
		tracker := r.Stats().TrackerTotal()
		for k, data := range want {
			n := rt.n.Load()
			rd, err := r.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			_, err = got.ReadFrom(rd)
			rd.Close()
			if err != nil || !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("%s: %d bytes, %v", k, got.Len(), err)
			}
			// One request when the asked node holds the copy, else its
			// redirect and the GET of the copy.
			reqs := rt.n.Load() - n
			if served := strings.Contains(rd.URL(), "/_key?"); served && reqs != 1 || !served && reqs != 2 {
				t.Fatalf("%s read from %s in %d requests", k, rd.URL(), reqs)
			}
		}
		s := r.Stats()
		if s.TrackerTotal() != tracker || s.KeyReads != uint64(len(want))+1 || s.KeyReadFallbacks != 0 {
			t.Fatalf("stats %+v (tracker requests before the reads: %d)", s, tracker)
		}
		// The answers are cached: reading again asks no node for paths.
		for k := range want {
			if _, err := r.GetBytes(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if s2 := r.Stats(); s2.KeyReads != s.KeyReads || s2.PathCacheHits != s.PathCacheHits+uint64(len(want)) {
			t.Fatalf("second reads: %+v", s2)
		}
		// Without KeyReads, an auto client reads through get_paths.
		plain, err := client.New(client.Config{Domain: "files", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		for k, data := range want {
			if got, err := plain.GetBytes(ctx, k); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s without KeyReads: %d bytes, %v", k, len(got), err)
			}
		}
		if ps := plain.Stats(); ps.KeyReads != 0 || ps.TrackerCommands["get_paths"] != uint64(len(want)) {
			t.Fatalf("an auto client without KeyReads: %+v", ps)
		}
		// Open (ranged reads) finds paths with one HEAD /_key.
		f, err := newFastClientOpen(t, cl, "shared3")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if n, err := f.ReadAt(buf, 5); err != nil || n != 10 || !bytes.Equal(buf, want["shared3"][5:15]) {
			t.Fatalf("ReadAt: %d, %v", n, err)
		}
	})

	t.Run("TrackerSettingOff", func(t *testing.T) {
		tc.MustDo(t, "set_server_setting", wire.Args{"key": "fastpath", "value": "off"})
		defer tc.MustDo(t, "set_server_setting", wire.Args{"key": "fastpath", "value": "on"})
		auto, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
		if _, err := auto.StoreBytes(ctx, "k3", "one", []byte("three-step")); err != nil {
			t.Fatal(err)
		}
		if s := auto.Stats(); s.ThreeStepPuts != 1 || s.FastPathPuts != 0 || s.TrackerCommands["fastpath_info"] != 1 {
			t.Fatalf("stats with the fast path off: %+v", s)
		}
		only, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathOnly)
		_, err := only.StoreBytes(ctx, "k4", "one", []byte("refused"))
		if !errors.Is(err, client.ErrNoFastPath) || !strings.Contains(err.Error(), "turned off") {
			t.Fatalf("only, with the fast path off: %v", err)
		}
		if s := only.Stats(); s.TrackerCommands["create_open"] != 0 {
			t.Fatalf("only fell back: %+v", s)
		}
	})

	t.Run("Off", func(t *testing.T) {
		off, rt := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathOff)
		if _, err := off.StoreBytes(ctx, "k5", "one", []byte("three-step")); err != nil {
			t.Fatal(err)
		}
		if got, err := off.GetBytes(ctx, "k1"); err != nil || len(got) != 4100 {
			t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
		}
		s := off.Stats()
		if s.ThreeStepPuts != 1 || s.KeyReads != 0 || s.TrackerCommands["fastpath_info"] != 0 || s.TrackerCommands["get_paths"] != 1 || rt.n.Load() != 2 {
			t.Fatalf("stats with FastPath off: %+v, %d HTTP requests", s, rt.n.Load())
		}
	})
}

// newFastClientOpen opens key with a fresh client, checking that Open
// cost one HEAD /_key and no tracker request besides fastpath_info.
func newFastClientOpen(t *testing.T, cl *mogtest.Cluster, key string) (*client.File, error) {
	t.Helper()
	c, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
	f, err := c.Open(mogtest.Context(t), key)
	if err != nil {
		return nil, err
	}
	if s := c.Stats(); s.KeyReads != 1 || s.TrackerTotal() != s.TrackerCommands["fastpath_info"] {
		t.Fatalf("Open: %+v", s)
	}
	return f, nil
}

// TestFastPathWithoutNodeSupport: a tracker with the fast path and nodes
// started without --trackers (whose /_fastpath is 404, as on an original
// node): uploads and reads go the three-step way; "only" fails clearly.
func TestFastPathWithoutNodeSupport(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}})
	ctx := mogtest.Context(t)
	c, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
	if _, err := c.StoreBytes(ctx, "k", "one", []byte("content")); err != nil {
		t.Fatal(err)
	}
	r, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathAuto)
	if got, err := r.GetBytes(ctx, "k"); err != nil || string(got) != "content" {
		t.Fatalf("GetBytes: %q, %v", got, err)
	}
	s, rs := c.Stats(), r.Stats()
	if s.ThreeStepPuts != 1 || s.FastPathPuts != 0 || s.TrackerCommands["fastpath_info"] != 1 {
		t.Fatalf("writer stats: %+v", s)
	}
	if rs.KeyReads != 0 || rs.PathLookups != 1 {
		t.Fatalf("reader stats: %+v", rs)
	}
	only, _ := newFastClient(t, "files", cl.Tracker.Addr, client.FastPathOnly)
	_, err := only.StoreBytes(ctx, "k2", "one", []byte("refused"))
	if !errors.Is(err, client.ErrNoFastPath) || !strings.Contains(err.Error(), "ready") {
		t.Fatalf("only: %v", err)
	}
	if _, err := only.GetBytes(ctx, "k"); !errors.Is(err, client.ErrNoFastPath) {
		t.Fatalf("only, read: %v", err)
	}
}

// TestFastPathFallbackWhenNodeCannotCommit: the node's only tracker is
// gone, so it cannot commit an upload (it answers 503, or 500 if it does
// not know): the client, talking to another tracker on the same database,
// stores the key the three-step way.
func TestFastPathFallbackWhenNodeCannotCommit(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "files", Classes: map[string]int{"one": 1},
		FastPath: true, NodeArgs: []string{"--nofsync"}})
	cl.WaitFastPath(t)
	ctx := mogtest.Context(t)
	second := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: cl.Tracker.DSN, User: cl.Tracker.User, Pass: cl.Tracker.Pass, StreamPort: cl.StreamPort})
	c, _ := newFastClient(t, "files", second.Addr, client.FastPathAuto)
	if _, err := c.StoreBytes(ctx, "before", "one", []byte("through the node")); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.FastPathPuts != 1 {
		t.Fatalf("stats: %+v", s)
	}
	cl.Tracker.Proc.Kill()
	data := randBytes(2000)
	t0 := time.Now()
	if _, err := c.StoreBytes(ctx, "after", "one", data); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored in %v with the node's tracker gone", time.Since(t0))
	if s := c.Stats(); s.FastPathFallbacks != 1 || s.ThreeStepPuts != 1 || s.FastPathPuts != 1 {
		t.Fatalf("stats: %+v", s)
	}
	fresh, _ := newFastClient(t, "files", second.Addr, client.FastPathOff)
	if got, err := fresh.GetBytes(ctx, "after"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
	}
}
