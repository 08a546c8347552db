package mogfs_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makeTree writes n files spread over nested directories under root, of
// sizes from 0 to a few hundred KiB, and an empty directory.
func makeTree(t *testing.T, root string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("d%d", i%7), fmt.Sprintf("e%d", i%13))
		if i%5 == 0 {
			dir = filepath.Join(root, fmt.Sprintf("d%d", i%7))
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		size := r.IntN(4096)
		switch i % 50 {
		case 0:
			size = 0
		case 1:
			size = 300 << 10
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.dat", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "empty", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestTreeCopy copies a 1000-file tree in and back out with cp -r, lists
// it with ls -lR, moves files and directories, and removes it with rm -r.
func TestTreeCopy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	mnt := e.mountFG(t, "--domain="+e.domain)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 1000)

	run(t, "cp", "-r", src, filepath.Join(mnt, "tree"))
	out := filepath.Join(t.TempDir(), "out")
	run(t, "cp", "-r", filepath.Join(mnt, "tree"), out)
	run(t, "diff", "-r", src, out)

	// The empty directories persist in the cluster as markers.
	if _, err := e.c.FileInfo(ctx(t), "tree/empty/deeper/"); err != nil {
		t.Errorf("marker of tree/empty/deeper: %v", err)
	}

	ls := run(t, "ls", "-lR", filepath.Join(mnt, "tree"))
	if n := strings.Count(ls, ".dat\n"); n != 1000 {
		t.Errorf("ls -lR lists %d files, want 1000", n)
	}
	// Sizes in the long listing match the source.
	st, err := os.Stat(filepath.Join(src, "d1/e1/f0001.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ls, fmt.Sprintf(" %d ", st.Size())) {
		t.Errorf("ls -lR does not show the size %d of d1/e1/f0001.dat", st.Size())
	}

	// mv of a file within and across directories, and of a directory.
	run(t, "mv", filepath.Join(mnt, "tree/d1/e1/f0001.dat"), filepath.Join(mnt, "tree/d2/moved.dat"))
	run(t, "mv", filepath.Join(mnt, "tree/d3"), filepath.Join(mnt, "tree/d3-renamed"))
	run(t, "mv", filepath.Join(mnt, "tree/empty"), filepath.Join(mnt, "tree/d2/empty2"))
	run(t, "mv", filepath.Join(src, "d1/e1/f0001.dat"), filepath.Join(src, "d2/moved.dat"))
	run(t, "mv", filepath.Join(src, "d3"), filepath.Join(src, "d3-renamed"))
	run(t, "mv", filepath.Join(src, "empty"), filepath.Join(src, "d2/empty2"))
	for _, d := range []string{"d1", "d2", "d3-renamed"} {
		run(t, "diff", "-r", filepath.Join(src, d), filepath.Join(mnt, "tree", d))
	}
	if ents, err := os.ReadDir(filepath.Join(mnt, "tree")); err != nil || len(ents) != 7 {
		t.Errorf("tree lists %d entries (%v), want d0..d6 with d3 renamed d3-renamed", len(ents), err)
	}
	if _, err := e.c.FileInfo(ctx(t), "tree/d3/e3/f0003.dat"); err == nil {
		t.Error("tree/d3/e3/f0003.dat still exists after the directory moved")
	}
	if _, err := e.c.FileInfo(ctx(t), "tree/d3-renamed/e3/f0003.dat"); err != nil {
		t.Errorf("tree/d3-renamed/e3/f0003.dat: %v", err)
	}

	run(t, "rm", "-r", filepath.Join(mnt, "tree"))
	if _, err := os.Stat(filepath.Join(mnt, "tree")); !os.IsNotExist(err) {
		t.Errorf("tree still there after rm -r: %v", err)
	}
	keys, _, err := e.c.ListKeys(ctx(t), "tree", "", 10)
	if err == nil && len(keys) > 0 {
		t.Errorf("keys left after rm -r: %v", keys)
	}
}

// TestModes: directories and files show their modes, whether made here
// (mkdir, create) or by another client.
func TestModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "implicit/file", []byte("x"))
	mnt := e.mountFG(t, "--domain="+e.domain)
	for p, want := range map[string]os.FileMode{"implicit": os.ModeDir | 0o755, "implicit/file": 0o644} {
		st, err := os.Stat(filepath.Join(mnt, p))
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, st.Mode(), err, want)
		}
	}
	if err := os.Mkdir(filepath.Join(mnt, "made"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "made/f"), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	// ls -l of the parent lists them with their modes (readdirplus).
	out := run(t, "ls", "-l", mnt)
	if !strings.Contains(out, "drwx------") || !strings.Contains(out, "drwxr-xr-x") {
		t.Errorf("ls -l shows:\n%s", out)
	}
	out = run(t, "ls", "-l", filepath.Join(mnt, "made"))
	if !strings.Contains(out, "-rw-r-----") {
		t.Errorf("ls -l made shows:\n%s", out)
	}
}

// TestTools: rsync -a and tar in and out keep contents, modes and mtimes.
func TestTools(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	mnt := e.mountFG(t, "--domain="+e.domain)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 60)
	os.Chmod(filepath.Join(src, "d0/f0000.dat"), 0o600)

	run(t, "rsync", "-a", src+"/", filepath.Join(mnt, "rs")+"/")
	run(t, "diff", "-r", src, filepath.Join(mnt, "rs"))
	// A second rsync finds nothing to do: sizes and mtimes were kept.
	if out := run(t, "rsync", "-a", "-i", src+"/", filepath.Join(mnt, "rs")+"/"); strings.Contains(out, ">f") {
		t.Errorf("second rsync copied again:\n%s", out)
	}
	a, _ := os.Stat(filepath.Join(src, "d0/f0000.dat"))
	b, err := os.Stat(filepath.Join(mnt, "rs/d0/f0000.dat"))
	if err != nil || b.Mode() != a.Mode() || !b.ModTime().Equal(a.ModTime()) {
		t.Errorf("rsync kept mode %v mtime %v, source %v %v (%v)", b.Mode(), b.ModTime(), a.Mode(), a.ModTime(), err)
	}

	tarball := filepath.Join(t.TempDir(), "t.tar")
	run(t, "tar", "-C", src, "-cf", tarball, ".")
	if err := os.Mkdir(filepath.Join(mnt, "tar"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "tar", "-C", filepath.Join(mnt, "tar"), "-xf", tarball)
	out := filepath.Join(t.TempDir(), "out")
	os.Mkdir(out, 0o755)
	run(t, "sh", "-c", "tar -C "+filepath.Join(mnt, "tar")+" -cf - . | tar -C "+out+" -xf -")
	run(t, "diff", "-r", src, out)
}
