package mogfs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestMetrics mounts with -o metrics_listen=ADDR, writes, reads, looks up
// a missing name and fails a commit (the storage node is gone), and
// checks the scraped series.
func TestMetrics(t *testing.T) {
	e := newEnv(t, 1)
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	mnt, p := e.mountProc(t, "--domain="+e.domain, "--class=one", "-o", "metrics_listen="+maddr)
	p.WaitPort(t, maddr, 30*time.Second)

	written := bytes.Repeat([]byte("w"), 100000)
	if err := os.WriteFile(filepath.Join(mnt, "written"), written, 0o644); err != nil {
		t.Fatal(err)
	}
	direct := bytes.Repeat([]byte("d"), 50000)
	if _, err := e.c.StoreBytes(context.Background(), "direct", "one", direct); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "direct")); err != nil || !bytes.Equal(got, direct) {
		t.Fatalf("read direct: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat missing: %v", err)
	}
	var buf [64]byte
	if _, err := unix.Getxattr(filepath.Join(mnt, "written"), "user.no_such_attribute", buf[:]); !errors.Is(err, unix.ENODATA) {
		t.Fatalf("getxattr of a missing attribute: %v", err)
	}

	f := metricstest.Scrape(t, maddr)
	atLeast := func(name string, min float64, labels ...string) {
		t.Helper()
		if v, _ := f.Value(name, labels...); v < min {
			t.Errorf("%s%v = %v, want >= %v", name, labels, v, min)
		}
	}
	const ops = "mogilefs_mogfs_ops_total"
	atLeast(ops, 1, "op", "create", "result", "ok")
	atLeast(ops, 1, "op", "write", "result", "ok")
	atLeast(ops, 1, "op", "flush", "result", "ok")
	atLeast(ops, 1, "op", "read", "result", "ok")
	// go-fuse answers a missing name with a cached negative entry (ok).
	atLeast(ops, 2, "op", "lookup", "result", "ok")
	atLeast(ops, 1, "op", "getxattr", "result", "ENODATA")
	atLeast("mogilefs_mogfs_op_duration_seconds", 1, "op", "read")
	atLeast("mogilefs_mogfs_read_bytes_total", float64(len(direct)))
	if v, _ := f.Value("mogilefs_mogfs_written_bytes_total"); v != float64(len(written)) {
		t.Errorf("written bytes %v, want %d", v, len(written))
	}
	if v, _ := f.Value("mogilefs_mogfs_commits_total"); v != 1 {
		t.Errorf("commits %v, want 1", v)
	}
	if v, _ := f.Value("mogilefs_mogfs_commit_failures_total"); v != 0 {
		t.Errorf("commit failures %v, want 0", v)
	}
	if v, ok := f.Value("mogilefs_mogfs_spool_limit_bytes"); !ok || v != 10<<30 {
		t.Errorf("spool limit %v %v, want 10 GiB", v, ok)
	}
	if _, ok := f.Value("mogilefs_mogfs_spool_bytes"); !ok {
		t.Error("no spool_bytes")
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", f)
	}

	// With the only storage node gone the upload at close fails: EIO,
	// counted as a commit failure.
	e.cl.Nodes[0].Proc.Kill()
	err := os.WriteFile(filepath.Join(mnt, "doomed"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("write with the node gone: %v, want EIO", err)
	}
	f = metricstest.Scrape(t, maddr)
	if v, _ := f.Value("mogilefs_mogfs_commit_failures_total"); v != 1 {
		t.Errorf("commit failures %v, want 1\n%s", v, f)
	}
	if v, _ := f.Value("mogilefs_mogfs_commits_total"); v != 1 {
		t.Errorf("commits %v, want still 1", v)
	}
}
