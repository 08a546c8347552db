package mogfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestReadOwnWrites: small files written on a mount and read back through
// it cost no GET (the mount keeps the content it committed, by fid); a
// file past the bound is read from the node; a file replaced by another
// client since is read in its new version (the open's lookup decides).
func TestReadOwnWrites(t *testing.T) {
	e := newFastEnv(t, true)
	mnt, _ := e.meteredMount(t)
	dir := filepath.Join(mnt, "own")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 20
	data := map[string][]byte{}
	for i := range n {
		name := "f" + strconv.Itoa(i)
		data[name] = bytes.Repeat([]byte{byte('a' + i)}, 4096+i)
		// os.WriteFile opens write-only: its pages never reach the
		// kernel's page cache.
		if err := os.WriteFile(filepath.Join(dir, name), data[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	readBack := func(what string, names []string) float64 {
		t.Helper()
		gets := nodeGets(t, e)
		for _, name := range names {
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(got, data[name]) {
				t.Fatalf("%s: read of %s: %d bytes, %v; want %d bytes written", what, name, len(got), err, len(data[name]))
			}
		}
		g := nodeGets(t, e) - gets
		t.Logf("%s: %d files read, %v node GETs", what, len(names), g)
		return g
	}
	var names []string
	for i := range n {
		names = append(names, "f"+strconv.Itoa(i))
	}
	// (The tracker's monitor GETs each device's usage file now and then.)
	if g := readBack("own small writes", names); g > 2 {
		t.Fatalf("reading back %d small files this mount wrote took %v GETs; want none", n, g)
	}

	// Past the bound the content is not kept: read from the node.
	data["big"] = bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80 000 bytes
	if err := os.WriteFile(filepath.Join(dir, "big"), data["big"], 0o644); err != nil {
		t.Fatal(err)
	}
	if g := readBack("own write past the bound", []string{"big"}); g < 1 {
		t.Fatalf("a file of %d bytes was read without a GET; want it read from the node", len(data["big"]))
	}

	// Replaced by another client: the open's lookup names the new fid,
	// whose content the mount has not kept.
	data["f3"] = []byte("replaced elsewhere")
	e.put(t, "own/f3", data["f3"])
	if g := readBack("replaced by another client", []string{"f3"}); g < 1 {
		t.Fatal("the replaced file was read without a GET")
	}
}
