package mogfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
)

// TestAwkwardKeys: keys that cannot map to paths as they are stay
// reachable under their documented escaped names, and are listed.
func TestAwkwardKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	keys := map[string]string{ // key -> path
		"x//y":         "x/%%/y",
		"/lead":        "%%/lead",
		"a/./b":        "a/%%%2E/b",
		"a/../b":       "a/%%%2E%2E/b",
		"%%pct":        "%%%25%25pct",
		"dup":          "%%dup%",
		"dup/inner":    "dup/inner",
		"trail/":       "trail/%%",
		"trail/t":      "trail/t",
		"plain%20name": "plain%20name",
	}
	for k := range keys {
		e.put(t, k, []byte("content of "+k))
	}
	mnt := e.mountFG(t, "--domain="+e.domain)

	for k, p := range keys {
		got, err := os.ReadFile(filepath.Join(mnt, p))
		if err != nil || string(got) != "content of "+k {
			t.Errorf("key %q at %q: read %q, %v", k, p, got, err)
		}
	}
	ents, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	sort.Strings(names)
	want := []string{"%%", "%%%25%25pct", "%%dup%", "a", "dup", "plain%20name", "trail", "x"}
	if !equal(names, want) {
		t.Errorf("root lists %q, want %q", names, want)
	}
	if st, err := os.Stat(filepath.Join(mnt, "dup")); err != nil || !st.IsDir() {
		t.Errorf("dup should be the directory: %v, %v", st, err)
	}
	sub, err := os.ReadDir(filepath.Join(mnt, "trail"))
	if err != nil || len(sub) != 2 {
		t.Errorf("trail lists %v, %v; want %%%% and t", sub, err)
	}

	// A name with the escape prefix that is no escape is refused.
	err = os.WriteFile(filepath.Join(mnt, "%%bad%z"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EINVAL) {
		t.Errorf("creating %%%%bad%%z: %v, want EINVAL", err)
	}
	// Writing through an escaped name lands on the key it stands for.
	if err := os.WriteFile(filepath.Join(mnt, "x/%%%2E%2E"), []byte("dots"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := string(e.get(t, "x/..")); got != "dots" {
		t.Errorf("key x/.. holds %q", got)
	}
	// An empty directory made with mkdir is listed, and survives a
	// remount (its marker key).
	if err := os.Mkdir(filepath.Join(mnt, "emptydir"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.FileInfo(ctx(t), "emptydir/"); err != nil {
		t.Errorf("marker emptydir/: %v", err)
	}
	mnt2 := e.mountFG(t, "--domain="+e.domain)
	if st, err := os.Stat(filepath.Join(mnt2, "emptydir")); err != nil || !st.IsDir() {
		t.Errorf("emptydir on a second mount: %v, %v", st, err)
	}
	if sub, err := os.ReadDir(filepath.Join(mnt2, "emptydir")); err != nil || len(sub) != 0 {
		t.Errorf("emptydir lists %v, %v", sub, err)
	}
}
