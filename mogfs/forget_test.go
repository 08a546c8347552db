package mogfs_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
)

// fileNodes scrapes the mount's count of live file nodes.
func fileNodes(t *testing.T, maddr string) float64 {
	t.Helper()
	v, ok := metricstest.Scrape(t, maddr).Value("mogilefs_mogfs_nodes", "type", "file")
	if !ok {
		t.Fatal("no mogilefs_mogfs_nodes{type=file} series")
	}
	return v
}

// waitNodes polls the live file nodes until cond holds.
func waitNodes(t *testing.T, maddr, what string, cond func(float64) bool) float64 {
	t.Helper()
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for {
		v := fileNodes(t, maddr)
		if cond(v) {
			t.Logf("file nodes %v after %v", v, time.Since(start))
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("file nodes %v after 30 s, want %s\n%s", v, what, metricstest.Scrape(t, maddr))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lstatAll looks up n keys made by makeKeys(prefix, n, 1).
func lstatAll(t *testing.T, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := os.Lstat(filepath.Join(dir, fmt.Sprintf("f%06d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// openKept opens p for the rest of the test.
func openKept(t *testing.T, p string, flags int) *os.File {
	t.Helper()
	f, err := os.OpenFile(p, flags, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// busyFiles opens what only memory holds while the kernel drops the
// mount's other nodes: a key open for reading, a new file with written
// but uncommitted content, and an orphan (unlinked while open, its
// content staged); it also makes a file with two names. check, called
// after, reads the three back through their descriptors and closes the
// new file, whose content must then be the key's, and checks that the
// two names are one file.
func busyFiles(t *testing.T, e *env, mnt string) (check func()) {
	t.Helper()
	kept := bytes.Repeat([]byte("k"), 3000)
	e.put(t, "kept", kept)
	e.put(t, "orphan", []byte("orphaned content"))
	rd := openKept(t, filepath.Join(mnt, "kept"), os.O_RDONLY)
	orphan := openKept(t, filepath.Join(mnt, "orphan"), os.O_RDWR)
	if err := os.Remove(filepath.Join(mnt, "orphan")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "linked"), []byte("two names"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(mnt, "linked"), filepath.Join(mnt, "linked2")); err != nil {
		t.Fatal(err)
	}
	w := openKept(t, filepath.Join(mnt, "dirty"), os.O_RDWR|os.O_CREATE)
	if _, err := w.Write([]byte("not committed yet")); err != nil {
		t.Fatal(err)
	}
	readAll := func(f *os.File, want []byte) {
		t.Helper()
		got := make([]byte, len(want)+10)
		n, err := f.ReadAt(got, 0)
		if n != len(want) || !bytes.Equal(got[:n], want) {
			t.Errorf("%s after the kernel dropped nodes: %q, %v; want %q", f.Name(), got[:n], err, want)
		}
	}
	return func() {
		t.Helper()
		readAll(rd, kept)
		readAll(orphan, []byte("orphaned content"))
		readAll(w, []byte("not committed yet"))
		// Both names of a hard-linked file are one file again.
		a, errA := os.Stat(filepath.Join(mnt, "linked"))
		b, errB := os.Stat(filepath.Join(mnt, "linked2"))
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			t.Errorf("hard links after the kernel dropped nodes: %v, %v, same file %v", errA, errB, errA == nil && errB == nil && os.SameFile(a, b))
		}
		if got, err := os.ReadFile(filepath.Join(mnt, "linked2")); err != nil || string(got) != "two names" {
			t.Errorf("linked2: %q, %v", got, err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("close of the written file: %v", err)
		}
		if got := e.get(t, "dirty"); string(got) != "not committed yet" {
			t.Errorf("key dirty holds %q", got)
		}
	}
}

// TestNodeCap mounts with --max-nodes=100 and walks 400 files in 8
// directories: the mount asks the kernel to forget the oldest nodes, the
// kernel does, and the live nodes come back under the cap. Open, written
// and orphaned files keep working throughout, and a process's working
// directory in the mount stays its working directory.
func TestNodeCap(t *testing.T) {
	e := newEnv(t, 1)
	const n, max = 400, 100
	makeKeys(t, e, "many/", n, 8)
	mnt, maddr := e.meteredMount(t, "--max-nodes=100")
	check := busyFiles(t, e, mnt)
	cwd := filepath.Join(mnt, "many", "d0")
	sleeper := exec.Command("sleep", "600")
	sleeper.Dir = cwd
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })

	walk := func() {
		t.Helper()
		files := 0
		err := filepath.WalkDir(filepath.Join(mnt, "many"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
				_, err = os.Lstat(p)
			}
			return err
		})
		if err != nil || files != n {
			t.Fatalf("walk: %d files, %v; want %d", files, err, n)
		}
	}
	walk()
	nodes := func() float64 {
		f := metricstest.Scrape(t, maddr)
		files, _ := f.Value("mogilefs_mogfs_nodes", "type", "file")
		dirs, _ := f.Value("mogilefs_mogfs_nodes", "type", "dir")
		return files + dirs
	}
	deadline := time.Now().Add(30 * time.Second)
	for nodes() > max {
		if time.Now().After(deadline) {
			t.Fatalf("nodes %v after 30 s, want <= %d\n%s", nodes(), max, metricstest.Scrape(t, maddr))
		}
		time.Sleep(20 * time.Millisecond)
	}
	f := metricstest.Scrape(t, maddr)
	if v, _ := f.Value("mogilefs_mogfs_node_evictions_total"); v < n-max {
		t.Errorf("evictions %v, want >= %d", v, n-max)
	}
	if v, _ := f.Value("mogilefs_mogfs_node_limit"); v != max {
		t.Errorf("node limit %v, want %d", v, max)
	}
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", sleeper.Process.Pid)); err != nil || got != cwd {
		t.Errorf("working directory of a process in the mount: %q, %v; want %q", got, err, cwd)
	}
	// Every name is still there: what was forgotten is looked up again.
	walk()
	check()
}

// TestNodesForgotten looks up files, has the kernel drop its dentries and
// inodes (drop_caches, as root), and checks that the mount's file nodes
// went back down to those still open, which keep working.
func TestNodesForgotten(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("TestNodesForgotten needs root (to write /proc/sys/vm/drop_caches)")
		}
		t.Skip("SKIP: needs root to write /proc/sys/vm/drop_caches")
	}
	e := newEnv(t, 1)
	const n = 300
	makeKeys(t, e, "many/", n, 1)
	mnt, maddr := e.meteredMount(t)
	check := busyFiles(t, e, mnt)

	lstatAll(t, filepath.Join(mnt, "many", "d0"), n)
	if v := fileNodes(t, maddr); v < n {
		t.Fatalf("file nodes %v after looking up %d files", v, n)
	}
	// Another process's tree walk may hold a few nodes of its own: the
	// count must fall to the three busy files, give or take.
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
		t.Fatal(err)
	}
	got := waitNodes(t, maddr, "< 10", func(v float64) bool { return v < 10 })
	if got < 3 {
		t.Errorf("file nodes %v after drop_caches: the three open files must stay", got)
	}
	check()
}
