package mogfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestBasic writes, reads, lists and removes files and directories
// through a mount, and checks each change with the client.
func TestBasic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.put(t, "a/b/c.jpg", []byte("jpeg"))
	e.put(t, "top", []byte("top file"))
	mnt := e.mountFG(t, "--domain="+e.domain)

	got, err := os.ReadFile(filepath.Join(mnt, "a/b/c.jpg"))
	if err != nil || string(got) != "jpeg" {
		t.Fatalf("read a/b/c.jpg = %q, %v", got, err)
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
	if want := []string{"a", "top"}; !equal(names, want) {
		t.Fatalf("root lists %v, want %v", names, want)
	}

	data := bytes.Repeat([]byte("0123456789"), 100000)
	if err := os.WriteFile(filepath.Join(mnt, "new.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.get(t, "new.bin"), data) {
		t.Fatal("new.bin differs in the cluster")
	}
	st, err := os.Stat(filepath.Join(mnt, "new.bin"))
	if err != nil || st.Size() != int64(len(data)) || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat new.bin = %v, %v", st, err)
	}

	if err := os.MkdirAll(filepath.Join(mnt, "d1/d2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(mnt, "d1/d2")); err != nil || !st.IsDir() {
		t.Fatalf("stat d1/d2 = %v, %v", st, err)
	}
	if err := os.Remove(filepath.Join(mnt, "d1/d2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(mnt, "top")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.FileInfo(ctx(t), "top"); err == nil {
		t.Fatal("top still exists after unlink")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
