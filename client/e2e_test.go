package client_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

func newClient(t testing.TB, domain string, trackers ...string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Domain: domain, Trackers: trackers, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// waitDevcount polls file_info until key has n copies.
func waitDevcount(t *testing.T, c *client.Client, key string, n int) *client.FileInfo {
	t.Helper()
	ctx := mogtest.Context(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		fi, err := c.FileInfo(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if fi.DevCount >= n {
			return fi
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: devcount %d after 60 s, want %d", key, fi.DevCount, n)
		}
		time.Sleep(50 * time.Millisecond) // polling the replication state
	}
}

func TestClientEndToEnd(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"one": 1, "two": 2}})
	ctx := mogtest.Context(t)
	c := newClient(t, "files", cl.Tracker.Addr)

	t.Run("StoreAndGet", func(t *testing.T) {
		data := randBytes(300 << 10)
		n, err := c.StoreBytes(ctx, "bytes", "one", data)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("StoreBytes = %d, %v", n, err)
		}
		got, err := c.GetBytes(ctx, "bytes")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetBytes: %d bytes, %v", len(got), err)
		}
		// Unknown size: sent chunked.
		chunked := randBytes(1<<20 + 17)
		if n, err := c.Store(ctx, "chunked", "", io.MultiReader(bytes.NewReader(chunked)), -1); err != nil || n != int64(len(chunked)) {
			t.Fatalf("Store chunked = %d, %v", n, err)
		}
		fi, err := c.FileInfo(ctx, "chunked")
		if err != nil || fi.Length != int64(len(chunked)) || fi.Class != "default" || fi.Key != "chunked" || fi.FID == 0 {
			t.Fatalf("FileInfo = %+v, %v", fi, err)
		}
		// StoreWith says where the content went: the key's fid, and a URL
		// that serves it.
		st, err := c.StoreWith(ctx, "to", "one", bytes.NewReader(data[:1000]), 1000, client.Commit{})
		if err != nil || st.Size != 1000 {
			t.Fatalf("StoreWith = %+v, %v", st, err)
		}
		if fi, err := c.FileInfo(ctx, "to"); err != nil || fi.FID != st.FID || st.DevID == 0 || !strings.Contains(st.Path, "/dev"+strconv.Itoa(st.DevID)+"/") {
			t.Fatalf("StoreWith = %+v, file_info %+v, %v", st, fi, err)
		}
		if got, err := c.FileFromPaths("to", []string{st.Path}, 1000).OpenRange(ctx, 0, 1000); err != nil {
			t.Fatalf("GET %s: %v", st.Path, err)
		} else if b, err := io.ReadAll(got); err != nil || !bytes.Equal(b, data[:1000]) {
			t.Fatalf("GET %s: %d bytes, %v", st.Path, len(b), err)
		}
		// Empty content, from a file.
		empty := filepath.Join(t.TempDir(), "empty")
		os.WriteFile(empty, nil, 0o644)
		if n, err := c.StoreFile(ctx, "empty", "", empty); err != nil || n != 0 {
			t.Fatalf("StoreFile empty = %d, %v", n, err)
		}
		if got, err := c.GetBytes(ctx, "empty"); err != nil || len(got) != 0 {
			t.Fatalf("empty: %q, %v", got, err)
		}
		// Overwrite keeps the key and replaces the content.
		if _, err := c.StoreBytes(ctx, "bytes", "one", []byte("new")); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.GetBytes(ctx, "bytes"); string(got) != "new" {
			t.Fatalf("after overwrite: %q", got)
		}
		// A source that fails: nothing is committed, the old content stays.
		_, err = c.Store(ctx, "bytes", "", io.MultiReader(strings.NewReader("partial"), errReader{}), -1)
		var se *client.StoreError
		if !errors.As(err, &se) || se.Op != client.OpRead {
			t.Fatalf("failing source: %v", err)
		}
		if got, _ := c.GetBytes(ctx, "bytes"); string(got) != "new" {
			t.Fatalf("failed upload changed the key: %q", got)
		}
		// A declared size the reader does not deliver is refused too.
		if _, err := c.Store(ctx, "bytes", "", strings.NewReader("abc"), 10); err == nil {
			t.Fatal("short body accepted")
		}
		if got, _ := c.GetBytes(ctx, "bytes"); string(got) != "new" {
			t.Fatalf("short upload changed the key: %q", got)
		}
		// So is a reader that has more than the declared size, small
		// (sent from memory) or not.
		for _, n := range []int{3, 64 << 10} {
			long := strings.NewReader(strings.Repeat("x", n+1))
			if _, err := c.Store(ctx, "bytes", "", long, int64(n)); err == nil {
				t.Fatalf("long body (%d bytes for %d) accepted", n+1, n)
			}
		}
		if got, _ := c.GetBytes(ctx, "bytes"); string(got) != "new" {
			t.Fatalf("long upload changed the key: %q", got)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		_, err := c.GetBytes(ctx, "no such key")
		if !client.IsUnknownKey(err) {
			t.Fatalf("unknown key: %v", err)
		}
		other := c.WithDomain("nodomain")
		if _, err := other.StoreBytes(ctx, "k", "", []byte("x")); !client.IsUnknownDomain(err) {
			t.Fatalf("unknown domain: %v", err)
		}
		if _, err := c.StoreBytes(ctx, "k", "noclass", []byte("x")); !errors.Is(err, client.ErrUnregClass) {
			t.Fatalf("unknown class: %v", err)
		}
		if err := c.Delete(ctx, "no such key"); !client.IsUnknownKey(err) {
			t.Fatalf("delete unknown: %v", err)
		}
		if err := c.UpdateClass(ctx, "no such key", "one"); !client.IsUnknownKey(err) {
			t.Fatalf("updateclass unknown: %v", err)
		}
	})

	t.Run("MetadataCalls", func(t *testing.T) {
		if _, err := c.StoreBytes(ctx, "meta/a", "one", []byte("aaa")); err != nil {
			t.Fatal(err)
		}
		if err := c.Rename(ctx, "meta/a", "meta/b"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FileInfo(ctx, "meta/a"); !client.IsUnknownKey(err) {
			t.Fatalf("old name still there: %v", err)
		}
		if _, err := c.StoreBytes(ctx, "meta/c", "", []byte("c")); err != nil {
			t.Fatal(err)
		}
		if err := c.Rename(ctx, "meta/b", "meta/c"); !errors.Is(err, client.ErrKeyExists) {
			t.Fatalf("rename onto existing: %v", err)
		}
		if err := c.UpdateClass(ctx, "meta/b", "two"); err != nil {
			t.Fatal(err)
		}
		fi, err := c.FileInfo(ctx, "meta/b")
		if err != nil || fi.Class != "two" || fi.Length != 3 || len(fi.DevIDs) == 0 {
			t.Fatalf("FileInfo = %+v, %v", fi, err)
		}
		dbg, err := c.FileDebug(ctx, "meta/b")
		if err != nil || dbg["fid_fid"] != strconv.FormatInt(fi.FID, 10) || dbg["fid_dkey"] != "meta/b" {
			t.Fatalf("FileDebug = %v, %v", dbg, err)
		}
		dbg2, err := c.FileDebugFID(ctx, fi.FID)
		if err != nil || dbg2["fid_dkey"] != "meta/b" {
			t.Fatalf("FileDebugFID = %v, %v", dbg2, err)
		}
		keys, next, err := c.ListKeys(ctx, "meta/", "", 1)
		if err != nil || len(keys) != 1 || keys[0] != "meta/b" || next != "meta/b" {
			t.Fatalf("ListKeys page 1 = %v %q %v", keys, next, err)
		}
		keys, _, err = c.ListKeys(ctx, "meta/", next, 10)
		if err != nil || fmt.Sprint(keys) != "[meta/c]" {
			t.Fatalf("ListKeys page 2 = %v %v", keys, err)
		}
		if _, _, err := c.ListKeys(ctx, "nothing/", "", 10); !client.IsNoneMatch(err) {
			t.Fatalf("empty ListKeys: %v", err)
		}
		fids, err := c.ListFids(ctx, fi.FID-1, 1)
		if err != nil || len(fids) != 1 || fids[0].FID != fi.FID || fids[0].Key != "meta/b" || fids[0].Domain != "files" {
			t.Fatalf("ListFids = %+v, %v", fids, err)
		}
		if err := c.Delete(ctx, "meta/b"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FileInfo(ctx, "meta/b"); !client.IsUnknownKey(err) {
			t.Fatalf("deleted key: %v", err)
		}
	})

	t.Run("KeysIterator", func(t *testing.T) {
		// 1003 keys: the iterator has to page past the tracker's limit
		// of 1000.
		const n = 1003
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, 8)
		for i := 0; i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := c.StoreBytes(ctx, fmt.Sprintf("many/%04d", i), "one", []byte{byte(i)}); err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var got []string
		for k, err := range c.Keys(ctx, "many/") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, k)
		}
		if len(got) != n || !sort.StringsAreSorted(got) || got[0] != "many/0000" || got[n-1] != fmt.Sprintf("many/%04d", n-1) {
			t.Fatalf("Keys gave %d keys (%v ... )", len(got), got[:min(3, len(got))])
		}
		for k, err := range c.Keys(ctx, "none-such/") {
			t.Fatalf("empty prefix yielded %q, %v", k, err)
		}
	})

	t.Run("RangesAndReadAt", func(t *testing.T) {
		data := randBytes(100_000)
		if _, err := c.StoreBytes(ctx, "ranged", "", data); err != nil {
			t.Fatal(err)
		}
		f, err := c.Open(ctx, "ranged")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := f.Size(ctx); err != nil || n != int64(len(data)) {
			t.Fatalf("Size = %d, %v", n, err)
		}
		buf := make([]byte, 1000)
		if n, err := f.ReadAt(buf, 5000); n != 1000 || err != nil || !bytes.Equal(buf, data[5000:6000]) {
			t.Fatalf("ReadAt middle = %d, %v", n, err)
		}
		if n, err := f.ReadAt(buf, int64(len(data))-10); n != 10 || err != io.EOF || !bytes.Equal(buf[:10], data[len(data)-10:]) {
			t.Fatalf("ReadAt tail = %d, %v", n, err)
		}
		if n, err := f.ReadAt(buf, int64(len(data))+5); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt past end = %d, %v", n, err)
		}
		r, err := c.OpenRange(ctx, "ranged", 99_000, -1)
		if err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(rest, data[99_000:]) {
			t.Fatalf("OpenRange to end: %d bytes, %v", len(rest), err)
		}
	})

	t.Run("AdminStats", func(t *testing.T) {
		stats, err := admin.New(c).Stats(ctx)
		if err != nil || len(stats) == 0 || stats[0].Name != "uptime" {
			t.Fatalf("Stats = %v, %v", stats, err)
		}
		if _, err := c.AdminCommand(ctx, "noop"); err == nil {
			t.Fatal("a query accepted as an admin command")
		}
	})

	t.Run("ChecksumClass", func(t *testing.T) {
		adm := admin.New(c)
		if err := adm.CreateClass(ctx, "files", "md5", admin.ClassArgs{MinDevCount: 1, HashType: "MD5"}); err != nil {
			t.Fatal(err)
		}
		data := randBytes(64 << 10)
		if _, err := c.StoreBytes(ctx, "summed", "md5", data); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		fi, err := c.FileInfo(ctx, "summed")
		if err != nil || fi.Checksum != "MD5:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("checksum = %q, %v; want MD5:%x", fi.Checksum, err, sum)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk read error") }

// TestTimeoutNeverReusesConnection: a request that timed out must never
// have its late reply read as the answer to the next request.
func TestTimeoutNeverReusesConnection(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "files"})
	ctx := mogtest.Context(t)
	setup := newClient(t, "files", cl.Tracker.Addr)
	if _, err := setup.StoreBytes(ctx, "k", "", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	want, err := setup.FileInfo(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}

	c, err := client.New(client.Config{Domain: "files", Trackers: []string{cl.Tracker.Addr}, Timeout: 300 * time.Millisecond, MaxIdlePerTracker: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Warm the pool so that a reusable idle connection exists.
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Do(ctx, "sleep", map[string]string{"duration": "2"})
	if !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("sleep 2 with a 300 ms timeout: %v", err)
	}
	if d := time.Since(start); d > 1600*time.Millisecond {
		t.Fatalf("timeout took %v", d)
	}
	check := func(when string) {
		fi, err := c.FileInfo(ctx, "k")
		if err != nil || fi.FID != want.FID || fi.Key != "k" || fi.Length != 5 {
			t.Fatalf("%s: FileInfo = %+v, %v; want fid %d", when, fi, err, want.FID)
		}
	}
	check("right after the timeout")
	// Let the tracker finish the first sleep (this call takes two
	// seconds on another client): its reply has been sent by now.
	if _, err := setup.Do(ctx, "sleep", map[string]string{"duration": "2"}); err != nil {
		t.Fatal(err)
	}
	check("after the late reply was sent")

	// The same for a cancelled context.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = c.Do(cctx, "sleep", map[string]string{"duration": "2"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("cancelled sleep: %v", err)
	}
	check("after a cancelled request")
	if _, err := setup.Do(ctx, "sleep", map[string]string{"duration": "2"}); err != nil {
		t.Fatal(err)
	}
	check("after the cancelled request's late reply")
}

// TestTrackerFailover: a tracker that is down (never started, or killed
// while the client holds pooled connections to it) is skipped.
func TestTrackerFailover(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "files"})
	ctx := mogtest.Context(t)
	second := mogtest.StartTracker(t, mogtest.TrackerOptions{DSN: cl.Tracker.DSN, User: cl.Tracker.User, Pass: cl.Tracker.Pass, StreamPort: cl.StreamPort})
	dead := mogtest.FreeAddr(t, "127.0.0.1")

	c := newClient(t, "files", dead, cl.Tracker.Addr, second.Addr)
	if _, err := c.StoreBytes(ctx, "k", "", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Many calls, spread over the trackers, with one never reachable.
	for i := 0; i < 30; i++ {
		if got, err := c.GetBytes(ctx, "k"); err != nil || string(got) != "hello" {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
	}
	// Kill the first tracker: the pooled connections to it are stale.
	cl.Tracker.Proc.Kill()
	for i := 0; i < 30; i++ {
		if got, err := c.GetBytes(ctx, "k"); err != nil || string(got) != "hello" {
			t.Fatalf("after kill, call %d: %q, %v", i, got, err)
		}
		if _, err := c.StoreBytes(ctx, "w"+strconv.Itoa(i), "", []byte("x")); err != nil {
			t.Fatalf("after kill, store %d: %v", i, err)
		}
	}
	// No tracker at all: a clear error.
	second.Proc.Kill()
	_, err := c.FileInfo(ctx, "k")
	if !errors.Is(err, client.ErrNoTracker) {
		t.Fatalf("all trackers down: %v", err)
	}
}

// TestStorageFailover: a storage node that is down is skipped by reads
// (also in the middle of a body) and by uploads.
func TestStorageFailover(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: "files", Classes: map[string]int{"two": 2}})
	ctx := mogtest.Context(t)
	c := newClient(t, "files", cl.Tracker.Addr)
	small := randBytes(10 << 10)
	big := randBytes(48 << 20)
	if _, err := c.StoreBytes(ctx, "small", "two", small); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StoreBytes(ctx, "big", "two", big); err != nil {
		t.Fatal(err)
	}
	waitDevcount(t, c, "small", 2)
	waitDevcount(t, c, "big", 2)

	victim := cl.Nodes[0]
	onVictim := func(paths []string) bool {
		return len(paths) >= 2 && strings.Contains(paths[0], "//"+victim.IP+":")
	}
	// bothPaths waits until get_paths names both copies (the monitor may
	// briefly see a busy node as unreachable) and puts the victim's copy
	// first, so that failover must happen.
	bothPaths := func(key string) []string {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			paths, err := c.Paths(ctx, key, client.PathsOptions{Count: 3})
			if err != nil {
				t.Fatal(err)
			}
			sort.SliceStable(paths, func(i, j int) bool {
				return strings.Contains(paths[i], "//"+victim.IP+":") && !strings.Contains(paths[j], "//"+victim.IP+":")
			})
			if onVictim(paths) {
				return paths
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: paths %v after 60 s: need a copy on %s and another", key, paths, victim.IP)
			}
			time.Sleep(100 * time.Millisecond) // polling the tracker's view
		}
	}
	bigPaths, smallPaths := bothPaths("big"), bothPaths("small")

	// Mid-body failover: start reading the big file from the victim,
	// kill it, and finish from the other copy.
	r, err := c.FileFromPaths("big", bigPaths, -1).OpenRange(ctx, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	victim.Proc.Kill()
	rest, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatalf("read after the node died: %v", err)
	}
	if !bytes.Equal(append(head, rest...), big) {
		t.Fatalf("content differs after failover (%d bytes)", len(head)+len(rest))
	}

	// Whole-file failover with the dead node first.
	r, err = c.FileFromPaths("small", smallPaths, -1).OpenRange(ctx, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("failover read: %d bytes, %v", len(got), err)
	}
	if f := r.Failed(); len(f) != 1 || f[0].Status != 0 {
		t.Fatalf("Failed() = %v", f)
	}

	// Uploads right after the node died: the tracker may still hand out
	// its device; the client moves on to the next destination.
	for i := 0; i < 10; i++ {
		key := "after/" + strconv.Itoa(i)
		if _, err := c.StoreBytes(ctx, key, "two", []byte(key)); err != nil {
			t.Fatalf("upload %d with a node down: %v", i, err)
		}
		if got, err := c.GetBytes(ctx, key); err != nil || string(got) != key {
			t.Fatalf("read back %d: %q, %v", i, got, err)
		}
	}

	// Every node down: reads fail with every path's error.
	cl.Nodes[1].Proc.Kill()
	_, err = c.GetBytes(ctx, "small")
	var fe *client.FetchError
	if !errors.As(err, &fe) || len(fe.Errs) == 0 {
		t.Fatalf("all nodes down: %v", err)
	}
	_, err = c.StoreBytes(ctx, "small", "two", []byte("lost?"))
	if err == nil {
		t.Fatal("upload with every node down succeeded")
	}
}
