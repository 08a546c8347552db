package mogfs_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// trackerQueries is the tracker's count of queries served (!stats).
func trackerQueries(t *testing.T, c *client.Client) int {
	t.Helper()
	lines, err := c.AdminCommand(ctx(t), "!stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "queries "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("!stats: %q", l)
			}
			return n
		}
	}
	t.Fatalf("!stats has no queries line: %q", lines)
	return 0
}

// dropPageCache asks the kernel to forget the cached pages of the file
// at p, so that the next read goes to mogfs.
func dropPageCache(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatalf("fadvise %s: %v", p, err)
	}
}

// TestOwnWritesReadBack: files this mount wrote are read back with one
// tracker round trip each (the open's lookup; no get_paths: the mount
// knows the fid and where it sent it), from the page cache or from the
// copy it wrote, and with the right content.
func TestOwnWritesReadBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	mnt := e.mountFG(t, "--domain="+e.domain, "--class=one")
	sizes := []int{1, 4096, 5000, 8192, 100000, 3<<20 + 7}
	want := map[string][]byte{}
	for i, n := range sizes {
		b := make([]byte, n)
		newPRNG(byte(40 + i)).Read(b)
		name := fmt.Sprintf("own%d", i)
		if err := os.WriteFile(filepath.Join(mnt, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		want[name] = b
	}
	readAll := func(round string) {
		t.Helper()
		q0 := trackerQueries(t, e.c)
		for name, b := range want {
			if got, err := os.ReadFile(filepath.Join(mnt, name)); err != nil || !bytes.Equal(got, b) {
				t.Fatalf("%s: %s: read %d bytes, %v", round, name, len(got), err)
			}
		}
		// One lookup per open, plus the !stats itself: a get_paths per
		// file would double it.
		if q := trackerQueries(t, e.c) - q0; q > len(want)+1 {
			t.Errorf("%s: %d tracker queries to read %d files, want at most %d", round, q, len(want), len(want)+1)
		}
	}
	readAll("from the page cache")
	for name := range want {
		dropPageCache(t, filepath.Join(mnt, name))
	}
	readAll("from the copy written")

	// Another client's new version is read from where get_paths says.
	e.put(t, "own1", []byte("another version"))
	if got := mustRead(t, filepath.Join(mnt, "own1")); string(got) != "another version" {
		t.Fatalf("after an overwrite by another client: %q", got)
	}
}

// TestOwnWritesCopyGone: when the copy a mount wrote is gone from its
// storage node (the file was replicated, then that copy lost), reads of
// the file fall back to get_paths and the other copy.
func TestOwnWritesCopyGone(t *testing.T) {
	t.Parallel()
	mogtest.NeedFUSE(t)
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: "fsdom", Classes: map[string]int{"two": 2}})
	c, err := client.New(client.Config{Domain: "fsdom", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second, PathCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &env{cl: cl, domain: "fsdom", c: c}
	mnt := e.mountFG(t, "--domain="+e.domain, "--class=two")
	const n = 8 // written to either node: some to node 0, whose copies go
	want := map[string][]byte{}
	for i := 0; i < n; i++ {
		b := make([]byte, 20000+i)
		newPRNG(byte(60 + i)).Read(b)
		name := fmt.Sprintf("gone%d", i)
		if err := os.WriteFile(filepath.Join(mnt, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		want[name] = b
	}
	deadline := time.Now().Add(90 * time.Second)
	for name := range want {
		for {
			fi, err := c.FileInfo(ctx(t), name)
			if err == nil && fi.DevCount >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not replicated to 2 devices: %+v, %v", name, fi, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	removed := 0
	filepath.WalkDir(cl.Nodes[0].DocRoot, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".fid" && os.Remove(p) == nil {
			removed++
		}
		return nil
	})
	if removed != n {
		t.Fatalf("removed %d copies from %s, want %d", removed, cl.Nodes[0].DocRoot, n)
	}
	for name, b := range want {
		p := filepath.Join(mnt, name)
		dropPageCache(t, p)
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: read %d bytes, %v", name, len(got), err)
		}
	}
}

// TestListingRequests: ls -l of a directory costs a few FUSE requests
// in all (READDIRPLUS hands the attributes over; the security label and
// ACL that ls asks of every file are refused once, as unsupported), not
// some per file.
func TestListingRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	mnt, p := e.mountProc(t, "--domain="+e.domain, "--class=one", "--ttl=1m", "-o", "metrics_listen="+maddr)
	p.WaitPort(t, maddr, 30*time.Second)
	const n = 300
	for i := 0; i < n; i++ {
		e.put(t, fmt.Sprintf("many/f%03d", i), []byte("x"))
	}
	requests := func() float64 {
		var sum float64
		for _, op := range []string{"lookup", "getattr", "getxattr", "listxattr", "readdirplus", "readdir"} {
			sum += metricstest.Scrape(t, maddr).Sum("mogilefs_mogfs_ops_total", "op", op)
		}
		return sum
	}
	before := requests()
	out := run(t, "ls", "-l", filepath.Join(mnt, "many"))
	if got := strings.Count(out, "\n"); got != n+1 {
		t.Fatalf("ls -l printed %d lines, want %d:\n%s", got, n+1, out)
	}
	if r := requests() - before; r > 20 {
		t.Errorf("ls -l of %d files made %v FUSE requests (lookup, getattr, xattrs, readdir), want at most 20", n, r)
	}
}
