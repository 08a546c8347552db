package mogstored_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// A real mogstored removes, at start, the temp files an upload or usage
// refresh left when a process died (older than an hour), and nothing
// else: not a fresh temp file, not a stored file, not a file behind a
// symlink.
func TestStaleTempFilesRemovedAtStart(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	outside := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	plant := func(p string, mtime time.Time) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial upload"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dir := filepath.Join(root, "dev1", "0", "000", "000")
	staleUpload := plant(filepath.Join(dir, "0000000123.fid.4242.3141592.tmp"), old)
	staleUsage := plant(filepath.Join(root, "dev1", "usage.4242.tmp"), old)
	staleOther := plant(filepath.Join(root, "dev7", "0", "001", "002", "0000001002.fid.17.9.tmp"), old)
	fresh := plant(filepath.Join(dir, "0000000124.fid.4242.2718281.tmp"), time.Now())
	stored := plant(filepath.Join(dir, "0000000125.fid"), old)
	behindLink := plant(filepath.Join(outside, "0000000126.fid.1.2.tmp"), old)
	if err := os.Symlink(outside, filepath.Join(dir, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	linkTarget := plant(filepath.Join(root, "dev1", "target"), old)
	link := filepath.Join(dir, "0000000127.fid.1.2.tmp")
	if err := os.Symlink(linkTarget, link); err != nil {
		t.Fatal(err)
	}

	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{DocRoot: root, DevIDs: []int{1, 7}})
	m.WaitOutput(t, `msg="temp file sweep done" removed=3 devices=2`, 30*time.Second)
	for _, p := range []string{staleUpload, staleUsage, staleOther} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("stale temp file %s still there (%v)", p, err)
		}
	}
	for _, p := range []string{fresh, stored, behindLink, linkTarget, link} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s should stay: %v", p, err)
		}
	}
	// (The sweep logs each removal before its summary line.)
	if !strings.Contains(m.Output(), "removed stale temp file") || !strings.Contains(m.Output(), "/dev1/0/000/000/0000000123.fid.4242.3141592.tmp") {
		t.Errorf("no log line naming the removed file:\n%s", m.Output())
	}
}
