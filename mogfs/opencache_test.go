package mogfs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestOpenCache: with --open-cache a file read again within the window
// costs the tracker nothing and the nodes nothing (docs/mogfs.md §3); the
// mount's own changes show at once; another client's show once the
// window has passed.
func TestOpenCache(t *testing.T) {
	e, data := smallFilesEnv(t, 20)
	mnt, maddr := e.meteredMount(t, "--open-cache=1h")
	readAll := func(what string) (map[string]float64, float64) { return readCounted(t, e, mnt, maddr, data, what) }
	readAll("cold")
	// (The tracker's monitor GETs each device's usage file now and then.)
	if req, gets := readAll("warm"); len(req) != 0 || gets > 2 {
		t.Fatalf("warm reads within --open-cache: tracker %v, node GETs %v; want none", req, gets)
	}

	// What this mount writes, it reads back at once, and without asking.
	own := filepath.Join(mnt, "r/f0")
	data["r/f0"] = []byte("rewritten here")
	if err := os.WriteFile(own, data["r/f0"], 0o644); err != nil {
		t.Fatal(err)
	}
	before := trackerRequests(t, maddr)
	if got, err := os.ReadFile(own); err != nil || !bytes.Equal(got, data["r/f0"]) {
		t.Fatalf("own rewrite read back: %q, %v", got, err)
	}
	if req := diff(before, trackerRequests(t, maddr)); len(req) != 0 {
		t.Fatalf("reading back its own write asked the tracker: %v", req)
	}
	if err := os.Remove(own); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(own); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("own unlink: read gives %v", err)
	}

	// Another client's change is seen once the window has passed.
	short := e.mountFG(t, "--domain="+e.domain, "--open-cache=300ms")
	k := "r/f1"
	if got := mustRead(t, filepath.Join(short, k)); !bytes.Equal(got, data[k]) {
		t.Fatalf("%s: %q", k, got)
	}
	replaced := []byte("replaced by another client")
	e.put(t, k, replaced)
	waitRead(t, filepath.Join(short, k), func(got []byte, err error) bool { return err == nil && bytes.Equal(got, replaced) })
	if err := e.c.Delete(ctx(t), k); err != nil {
		t.Fatal(err)
	}
	waitRead(t, filepath.Join(short, k), func(_ []byte, err error) bool { return errors.Is(err, syscall.ENOENT) })
}

// TestOpenCacheNewDirectory: with --open-cache, a directory the mount
// made itself knows it holds no other names, so the creates in it cost no
// lookup of the new name; once the kernel has forgotten nodes (here the
// node cap makes it) every name is asked again, and another client's
// file in it shows once the window has passed.
func TestOpenCacheNewDirectory(t *testing.T) {
	e := newFastEnv(t, true)
	mnt, maddr := e.meteredMount(t, "--open-cache=1h", "--max-nodes=40")
	dir := filepath.Join(mnt, "new")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const few = 10
	before := trackerRequests(t, maddr)
	for i := range few {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if req := diff(before, trackerRequests(t, maddr)); req["mogfs_lookup"] != 0 {
		t.Fatalf("creates in a directory made here asked %v lookups: %v", req["mogfs_lookup"], req)
	}
	// Past the node cap the kernel forgets nodes: no name may then be
	// taken as absent without asking.
	const many = 200
	for i := few; i < many; i++ {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before = trackerRequests(t, maddr)
	for i := range many {
		k := "new/f" + strconv.Itoa(i)
		if _, err := os.Stat(filepath.Join(mnt, k)); err != nil {
			t.Fatalf("%s after the kernel forgot nodes: %v", k, err)
		}
		if err := os.WriteFile(filepath.Join(mnt, k), []byte("y"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("stat and rewrite of %d files past the node cap: tracker %v", many, diff(before, trackerRequests(t, maddr)))
	for i := range many {
		if got := string(e.get(t, "new/f"+strconv.Itoa(i))); got != "y" {
			t.Fatalf("new/f%d = %q", i, got)
		}
	}

	short := e.mountFG(t, "--domain="+e.domain, "--open-cache=300ms")
	if err := os.Mkdir(filepath.Join(short, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.put(t, "d/x", []byte("from another client"))
	waitRead(t, filepath.Join(short, "d/x"), func(got []byte, err error) bool { return err == nil && string(got) == "from another client" })
}

// waitRead reads p until ok says what it read is what is wanted, or fails
// the test after 10 s.
func waitRead(t *testing.T, p string, ok func([]byte, error) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := os.ReadFile(p)
		if ok(got, err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still reads %q, %v after 10 s", p, got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
