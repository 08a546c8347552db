package mogfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
)

// TestLongPaths: names of 255 bytes at any depth and paths of 4 000
// bytes (keys longer than file.dkey holds, docs/mogfs-names.md): written,
// read back on another mount, listed, renamed across the 255-byte
// boundary, removed without a trace.
func TestLongPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)
	b := e.mountFG(t, "--domain="+e.domain)

	name := strings.Repeat("n", 255)
	deep := filepath.Join(a, "d1", "d2", "d3")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deep, name), []byte("255"), 0o600); err != nil {
		t.Fatalf("a 255-byte name at depth 3: %v", err)
	}
	if got := mustRead(t, filepath.Join(b, "d1/d2/d3", name)); string(got) != "255" {
		t.Fatalf("read on the other mount: %q", got)
	}
	if st := lstat(t, filepath.Join(b, "d1/d2/d3", name)); st.Mode != syscall.S_IFREG|0o600 || st.Size != 3 {
		t.Fatalf("stat: mode %o size %d", st.Mode, st.Size)
	}
	if err := os.WriteFile(filepath.Join(deep, name+"x"), nil, 0o644); !errors.Is(err, syscall.ENAMETOOLONG) {
		t.Fatalf("a 256-byte name: %v, want ENAMETOOLONG", err)
	}

	// A path of 4 000 bytes from the root of the mount.
	seg := strings.Repeat("p", 200)
	p := a
	var rel []string
	for len(p)+1+len(seg)+1+10 < 4000 {
		p = filepath.Join(p, seg)
		rel = append(rel, seg)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatalf("mkdir -p of %d bytes: %v", len(p), err)
	}
	leaf := filepath.Join(p, strings.Repeat("f", 4000-len(p)-1))
	if len(leaf) != 4000 {
		t.Fatalf("test path is %d bytes", len(leaf))
	}
	if err := os.WriteFile(leaf, []byte("deep"), 0o644); err != nil {
		t.Fatalf("write a 4000-byte path: %v", err)
	}
	other := filepath.Join(append([]string{b}, rel...)...)
	if got := mustRead(t, filepath.Join(other, filepath.Base(leaf))); string(got) != "deep" {
		t.Fatalf("read it on the other mount: %q", got)
	}
	out := run(t, "find", filepath.Join(b, seg), "-type", "f")
	if strings.TrimSpace(out) != filepath.Join(other, filepath.Base(leaf)) {
		t.Fatalf("find lists %q", out)
	}
	// A rename of the top directory moves every long key; a rename to a
	// short name makes the deepest file's key short.
	if err := os.Rename(filepath.Join(a, seg), filepath.Join(a, "top")); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(append([]string{b, "top"}, rel[1:]...)...)
	if got := mustRead(t, filepath.Join(moved, filepath.Base(leaf))); string(got) != "deep" {
		t.Fatalf("after renaming the top directory: %q", got)
	}
	movedA := filepath.Join(append([]string{a, "top"}, rel[1:]...)...)
	if err := os.Rename(filepath.Join(movedA, filepath.Base(leaf)), filepath.Join(a, "short")); err != nil {
		t.Fatal(err)
	}
	if got := string(e.get(t, "short")); got != "deep" {
		t.Fatalf("a long key renamed short, read by the client library: %q", got)
	}
	if err := os.Rename(filepath.Join(a, "short"), filepath.Join(deep, strings.Repeat("r", 250))); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(b, "d1/d2/d3", strings.Repeat("r", 250))); string(got) != "deep" {
		t.Fatalf("a short key renamed long: %q", got)
	}
	// The hidden directory of surrogates is neither shown nor made.
	ents, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		if de.Name() == ".mogfs" {
			t.Fatal(".mogfs listed at the top of the domain")
		}
	}
	if err := os.Mkdir(filepath.Join(a, ".mogfs"), 0o755); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("mkdir .mogfs: %v, want EPERM", err)
	}
	// rm -r leaves nothing, surrogates included.
	for _, d := range []string{"top", "d1"} {
		if err := os.RemoveAll(filepath.Join(a, d)); err != nil {
			t.Fatal(err)
		}
	}
	keys, _, err := e.c.ListKeys(ctx(t), "", "", 1000)
	if err != nil && !client.IsNoneMatch(err) {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys left after rm -r: %q", keys)
	}
}
