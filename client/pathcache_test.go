package client_test

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// newCacheClient is a client with the given path cache TTL and the fast
// path left to the cluster (this cluster's tracker may not offer it).
func newCacheClient(t testing.TB, domain, tracker string, ttl time.Duration) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Domain: domain, Trackers: []string{tracker}, Timeout: 30 * time.Second, PathCacheTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// trackerCalls returns how many requests of cmd c sent so far.
func trackerCalls(c *client.Client, cmd string) uint64 { return c.Stats().TrackerCommands[cmd] }

// diskFile maps a storage node URL of the cluster to its file.
func diskFile(t *testing.T, cl *mogtest.Cluster, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cl.Nodes {
		if pu.Hostname() == n.IP {
			return filepath.Join(n.DocRoot, filepath.FromSlash(strings.TrimPrefix(pu.Path, "/")))
		}
	}
	t.Fatalf("no node serves %s", u)
	return ""
}

func TestPathCache(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1}})
	ctx := mogtest.Context(t)
	c := newCacheClient(t, "files", cl.Tracker.Addr, 0)

	t.Run("GetAfterStoreAsksNothing", func(t *testing.T) {
		data := randBytes(5000)
		st, err := c.StoreWith(ctx, "k1", "one", bytes.NewReader(data), int64(len(data)), client.Commit{})
		if err != nil {
			t.Fatal(err)
		}
		before := c.Stats()
		got, err := c.GetBytes(ctx, "k1")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
		}
		f, err := c.Open(ctx, "k1")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.Size(ctx); err != nil || n != int64(len(data)) {
			t.Fatalf("Size = %d, %v", n, err)
		}
		rd, err := c.OpenRange(ctx, "k1", 100, 10)
		if err != nil {
			t.Fatal(err)
		}
		var part bytes.Buffer
		part.ReadFrom(rd)
		rd.Close()
		if !bytes.Equal(part.Bytes(), data[100:110]) {
			t.Fatalf("range: %x", part.Bytes())
		}
		after := c.Stats()
		if after.TrackerTotal() != before.TrackerTotal() {
			t.Fatalf("reads after Store asked the tracker: %v -> %v", before.TrackerCommands, after.TrackerCommands)
		}
		if after.PathCacheHits-before.PathCacheHits != 3 {
			t.Fatalf("cache hits %d -> %d, want 3 more", before.PathCacheHits, after.PathCacheHits)
		}
		// Paths wants every copy the tracker knows: the one copy the
		// upload wrote does not answer it, a get_paths answer does.
		for i := 0; i < 2; i++ {
			paths, err := c.Paths(ctx, "k1", client.PathsOptions{})
			if err != nil || len(paths) != 1 || paths[0] != st.Path {
				t.Fatalf("Paths = %v, %v; stored at %s", paths, err, st.Path)
			}
		}
		if n := trackerCalls(c, "get_paths") - before.TrackerCommands["get_paths"]; n != 1 {
			t.Fatalf("two Paths asked get_paths %d times, want once", n)
		}
	})

	t.Run("DeleteDrops", func(t *testing.T) {
		if _, err := c.StoreBytes(ctx, "k2", "one", []byte("doomed")); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "k2"); err != nil {
			t.Fatal(err)
		}
		n := trackerCalls(c, "get_paths")
		if _, err := c.GetBytes(ctx, "k2"); !client.IsUnknownKey(err) {
			t.Fatalf("Get after Delete: %v, want unknown_key", err)
		}
		if trackerCalls(c, "get_paths") != n+1 {
			t.Fatal("Get after Delete did not ask the tracker")
		}
	})

	t.Run("RenameDrops", func(t *testing.T) {
		if _, err := c.StoreBytes(ctx, "from", "one", []byte("moving")); err != nil {
			t.Fatal(err)
		}
		if err := c.Rename(ctx, "from", "to"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetBytes(ctx, "from"); !client.IsUnknownKey(err) {
			t.Fatalf("Get of the old name: %v, want unknown_key", err)
		}
		if got, err := c.GetBytes(ctx, "to"); err != nil || string(got) != "moving" {
			t.Fatalf("Get of the new name: %q, %v", got, err)
		}
	})

	t.Run("GonePathAsksAgain", func(t *testing.T) {
		st, err := c.StoreWith(ctx, "k3", "one", strings.NewReader("first"), 5, client.Commit{})
		if err != nil {
			t.Fatal(err)
		}
		// Another client replaces the content; the old fid's file goes
		// away (as the delete worker would remove it).
		other := newCacheClient(t, "files", cl.Tracker.Addr, -1)
		if _, err := other.StoreBytes(ctx, "k3", "one", []byte("second")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(diskFile(t, cl, st.Path)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n := trackerCalls(c, "get_paths")
		got, err := c.GetBytes(ctx, "k3")
		if err != nil || string(got) != "second" {
			t.Fatalf("Get after the cached path went away: %q, %v", got, err)
		}
		if trackerCalls(c, "get_paths") != n+1 {
			t.Fatalf("get_paths asked %d times, want once", trackerCalls(c, "get_paths")-n)
		}
		// The new answer is cached.
		if got, err := c.GetBytes(ctx, "k3"); err != nil || string(got) != "second" || trackerCalls(c, "get_paths") != n+1 {
			t.Fatalf("second Get: %q, %v", got, err)
		}
	})

	t.Run("TTLExpires", func(t *testing.T) {
		const ttl = 300 * time.Millisecond
		tc := newCacheClient(t, "files", cl.Tracker.Addr, ttl)
		if _, err := tc.StoreBytes(ctx, "k4", "one", []byte("short-lived")); err != nil {
			t.Fatal(err)
		}
		stored := time.Now()
		n := trackerCalls(tc, "get_paths")
		for trackerCalls(tc, "get_paths") == n {
			if got, err := tc.GetBytes(ctx, "k4"); err != nil || string(got) != "short-lived" {
				t.Fatalf("Get: %q, %v", got, err)
			}
			if time.Since(stored) > 30*time.Second {
				t.Fatal("the cache entry never expired")
			}
		}
		if d := time.Since(stored); d < ttl {
			t.Fatalf("asked the tracker %v after the Store, before the TTL of %v", d, ttl)
		}
	})

	t.Run("Off", func(t *testing.T) {
		off := newCacheClient(t, "files", cl.Tracker.Addr, -1)
		if _, err := off.StoreBytes(ctx, "k5", "one", []byte("uncached")); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if got, err := off.GetBytes(ctx, "k5"); err != nil || string(got) != "uncached" {
				t.Fatalf("Get: %q, %v", got, err)
			}
		}
		if n := trackerCalls(off, "get_paths"); n != 3 {
			t.Fatalf("get_paths asked %d times with the cache off, want 3", n)
		}
	})
}
