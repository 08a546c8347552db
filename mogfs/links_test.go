package mogfs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// TestHardLinks: link(2) gives a file names that share content,
// attributes, nlink and one inode number, on this mount and another;
// unlink takes one name; the last short name is the key again for
// original clients.
func TestHardLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain, "--ttl=0")
	b := e.mountFG(t, "--domain="+e.domain, "--ttl=0")
	if err := os.MkdirAll(filepath.Join(a, "d/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, "d/x"), []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(a, "d/x"), filepath.Join(a, "d/sub/y")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("l", 250)
	if err := os.Link(filepath.Join(a, "d/sub/y"), filepath.Join(a, "d/sub", long)); err != nil {
		t.Fatal(err)
	}
	for _, mnt := range []string{a, b} {
		x, y, z := lstat(t, filepath.Join(mnt, "d/x")), lstat(t, filepath.Join(mnt, "d/sub/y")), lstat(t, filepath.Join(mnt, "d/sub", long))
		if x.Ino != y.Ino || y.Ino != z.Ino || x.Nlink != 3 || y.Nlink != 3 || z.Nlink != 3 || y.Mode != syscall.S_IFREG|0o640 {
			t.Fatalf("on %s: ino %d %d %d nlink %d %d %d mode %o", mnt, x.Ino, y.Ino, z.Ino, x.Nlink, y.Nlink, z.Nlink, y.Mode)
		}
	}
	// A write through one name is read through the others.
	f, err := os.OpenFile(filepath.Join(b, "d/sub/y"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("+two")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(a, "d/x")); string(got) != "one+two" {
		t.Fatalf("d/x after a write through d/sub/y: %q", got)
	}
	// chmod through one name is seen through another.
	if err := os.Chmod(filepath.Join(a, "d/x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(b, "d/sub", long)); st.Mode != syscall.S_IFREG|0o600 {
		t.Fatalf("mode through the third name: %o", st.Mode)
	}
	// rename(2) onto another name of the same file does nothing.
	if err := os.Rename(filepath.Join(a, "d/x"), filepath.Join(a, "d/sub/y")); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, filepath.Join(b, "d/x")); st.Nlink != 3 {
		t.Fatalf("after a rename onto a link of the same file: nlink %d", st.Nlink)
	}
	// Unlink one name at a time; the last one is the key again.
	for i, p := range []string{"d/x", "d/sub/" + long} {
		if err := os.Remove(filepath.Join(a, p)); err != nil {
			t.Fatal(err)
		}
		if st := lstat(t, filepath.Join(b, "d/sub/y")); st.Nlink != uint64(2-i) {
			t.Fatalf("after unlinking %s: nlink %d", p, st.Nlink)
		}
	}
	if got := string(e.get(t, "d/sub/y")); got != "one+two" {
		t.Fatalf("the last name, read by the client library: %q", got)
	}
	if err := os.Link(filepath.Join(a, "d"), filepath.Join(a, "dirlink")); err == nil {
		t.Fatal("a hard link to a directory was made")
	}
}

// TestTreesWithHardLinks: cp -a, rsync -aH and tar keep the hard links of
// a tree, in and out of the mount, and git clone of a local repository
// (which hard-links its objects) works and passes git fsck.
func TestTreesWithHardLinks(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"rsync", "git", "tar", "diff", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (scripts/deps.sh installs it): %v", tool, err)
		}
	}
	e := newEnv(t, 1)
	mnt := e.mountFG(t, "--domain="+e.domain)
	src := t.TempDir()
	for _, p := range []string{"a/f", "b/g"} {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range [][2]string{{"a/f", "a/f2"}, {"a/f", "b/f3"}, {"b/g", "g2"}} {
		if err := os.Link(filepath.Join(src, l[0]), filepath.Join(src, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a/f", filepath.Join(src, "sym")); err != nil {
		t.Fatal(err)
	}
	want := linkGroups(t, src)
	run(t, "cp", "-a", src, filepath.Join(mnt, "cp"))
	run(t, "rsync", "-aH", src+"/", filepath.Join(mnt, "rsync")+"/")
	if err := os.Mkdir(filepath.Join(mnt, "tar"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "sh", "-c", "tar -C "+src+" -cf - . | tar -C "+filepath.Join(mnt, "tar")+" -xf -")
	for _, d := range []string{"cp", "rsync", "tar"} {
		if got := linkGroups(t, filepath.Join(mnt, d)); got != want {
			t.Fatalf("%s into the mount:\n%s\nwant\n%s", d, got, want)
		}
		run(t, "diff", "-r", "--no-dereference", src, filepath.Join(mnt, d))
	}
	back := filepath.Join(t.TempDir(), "back")
	run(t, "rsync", "-aH", filepath.Join(mnt, "rsync")+"/", back+"/")
	if got := linkGroups(t, back); got != want {
		t.Fatalf("rsync -aH out of the mount:\n%s\nwant\n%s", got, want)
	}

	// A repository on the mount, cloned on the mount: git hard-links the
	// objects.
	repo := filepath.Join(mnt, "repo")
	run(t, "git", "init", "-q", repo)
	for i := range 3 {
		p := filepath.Join(repo, "f"+string(rune('0'+i)))
		if err := os.WriteFile(p, []byte(strings.Repeat("x", i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "git", "-C", repo, "add", ".")
		run(t, "git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
	}
	clone := filepath.Join(mnt, "clone")
	run(t, "git", "clone", "-q", "--local", repo, clone)
	obj := linkGroups(t, filepath.Join(clone, ".git/objects"))
	if obj == "" {
		t.Fatal("git clone --local made no hard links")
	}
	run(t, "git", "-C", clone, "fsck", "--full")
	if out := run(t, "git", "-C", clone, "status", "--porcelain"); out != "" {
		t.Fatalf("git status of the clone: %q", out)
	}
}

// linkGroups lists a tree's files grouped by inode: each line the sorted
// names of one file with nlink > 1.
func linkGroups(t *testing.T, root string) string {
	t.Helper()
	groups := map[uint64][]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			rel, _ := filepath.Rel(root, p)
			groups[st.Ino] = append(groups[st.Ino], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, g := range groups {
		sort.Strings(g)
		lines = append(lines, strings.Join(g, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
