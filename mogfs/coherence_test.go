package mogfs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestCloseToOpenAcrossMounts: an open that starts after another mount's
// close (or unlink) returned sees it, whatever the kernel caches. Two
// mounts of one domain with the default --ttl.
func TestCloseToOpenAcrossMounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)
	b := e.mountFG(t, "--domain="+e.domain)
	for i := range 5 {
		// A name looked up (and not found) on B, then created on A: B's
		// next open finds it (no negative entry outlives the create).
		x := fmt.Sprintf("x%d", i)
		if _, err := os.ReadFile(filepath.Join(b, x)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s before it exists: %v", x, err)
		}
		if err := os.WriteFile(filepath.Join(a, x), []byte("new"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(b, x)); err != nil || string(got) != "new" {
			t.Fatalf("%s on B after A's close: %q, %v", x, got, err)
		}
		// A file read and listed on B, then removed on A: B's next open
		// fails, though B's kernel still holds the name.
		y := fmt.Sprintf("y%d", i)
		if err := os.WriteFile(filepath.Join(a, y), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(b, y)); err != nil || string(got) != "old" {
			t.Fatalf("%s on B: %q, %v", y, got, err)
		}
		if _, err := os.ReadDir(b); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(a, y)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadDir(b); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(b, y)); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("%s on B after A removed it: %q, %v", y, got, err)
		}
	}
}

// TestShellRedirectCommitsOnce: `echo x > f` (open, dup, close the first
// descriptor, write, close) commits one version, not an empty one first;
// `: > f` and touch still commit their empty file.
func TestShellRedirectCommitsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	a, p := e.mountProc(t, "--domain="+e.domain, "-o", "metrics_listen="+maddr)
	p.WaitPort(t, maddr, 30*time.Second)
	commits := func() float64 { return metricstest.Scrape(t, maddr).Sum("mogilefs_mogfs_commits_total") }
	run(t, "sh", "-c", "echo x > "+filepath.Join(a, "f"))
	if n := commits(); n != 1 {
		t.Fatalf("echo x > f committed %v times", n)
	}
	if got := string(e.get(t, "f")); got != "x\n" {
		t.Fatalf("f = %q", got)
	}
	// Empty files are still committed, by the release that follows the
	// close (asynchronously): wait for the commits.
	run(t, "sh", "-c", ": > "+filepath.Join(a, "f")+" && touch "+filepath.Join(a, "g"))
	deadline := time.Now().Add(30 * time.Second)
	for commits() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("empty files not committed: %v commits", commits())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, k := range []string{"f", "g"} {
		if got := e.get(t, k); len(got) != 0 {
			t.Fatalf("%s = %q, want empty", k, got)
		}
	}
}
