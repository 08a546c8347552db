package mogstored

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Each sweep takes the files that have become stale since the last one.
func TestTempSweepsOverTime(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "dev3", "0", "000", "000")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	plant := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := plant("0000000001.fid.10.20.tmp", start.Add(-90*time.Minute))
	b := plant("0000000002.fid.10.21.tmp", start.Add(-10*time.Minute))
	keep := plant("0000000003.fid", start.Add(-10*time.Hour))
	dr, err := openDocRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer dr.Close()
	now := start
	c := &tempCleaner{root: dr, log: slog.New(slog.DiscardHandler), maxAge: time.Hour, now: func() time.Time { return now }}
	ctx := context.Background()
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	if n := c.sweep(ctx); n != 1 || exists(a) || !exists(b) {
		t.Fatalf("first sweep removed %d; a there %v, b there %v", n, exists(a), exists(b))
	}
	if n := c.sweep(ctx); n != 0 || !exists(b) {
		t.Fatalf("second sweep at the same time removed %d", n)
	}
	now = start.Add(time.Hour)
	if n := c.sweep(ctx); n != 1 || exists(b) || !exists(keep) {
		t.Fatalf("an hour later: removed %d; b there %v, stored file there %v", n, exists(b), exists(keep))
	}
	// A cancelled sweep removes nothing.
	c2 := plant("0000000004.fid.10.22.tmp", start.Add(-5*time.Hour))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if n := c.sweep(cctx); n != 0 || !exists(c2) {
		t.Fatalf("cancelled sweep removed %d", n)
	}
}
