package mogfs_test

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// makeRealTree builds a tree of regular files (empty, small, past the
// in-memory staging size, with modes 0600 and 0755), empty directories,
// symbolic links (relative, absolute, dangling, to a directory) and a
// FIFO, every entry with its own past mtime with nanoseconds.
func makeRealTree(t *testing.T, root string) {
	t.Helper()
	big := make([]byte, 700<<10)
	rand.Read(big)
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"a.txt", []byte("alpha\n"), 0o644},
		{"sp ace", []byte("a name with a space\n"), 0o644},
		{"ünï", []byte("unicode\n"), 0o644},
		{"exec.sh", []byte("#!/bin/sh\necho hi\n"), 0o755},
		{"secret", []byte("s3cr3t\n"), 0o600},
		{"empty", nil, 0o644},
		{"big.bin", big, 0o644},
		{"d/e/f/deep.txt", []byte("deep\n"), 0o640},
	}
	for _, d := range []string{"d/e/f", "d/emptysub", "emptydir"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "emptydir"), 0o750); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"rel": "a.txt", "d/up": "../a.txt", "abs": "/etc/hostname", "dang": "nowhere", "d/dirlink": "e",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Times: entries before the directories holding them, deepest first.
	var paths []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return err
	})
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	base := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for i, p := range paths {
		ts := base.Add(time.Duration(i)*time.Hour + time.Duration(i)*1234567*time.Nanosecond)
		tv := []unix.Timespec{unix.NsecToTimespec(ts.UnixNano()), unix.NsecToTimespec(ts.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, tv, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatalf("utimensat %s: %v", p, err)
		}
	}
}

// listing is `find DIR -printf '%P %y %m %l %s %T@\n'`, sorted, with the
// size of directories left out (st_size of a directory means nothing
// across filesystems).
func listing(t *testing.T, dir string) string {
	t.Helper()
	out := run(t, "find", dir, "-printf", `%P\t%y\t%m\t%l\t%s\t%T@\n`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) == 6 && f[1] == "d" {
			f[4] = "-"
		}
		lines[i] = strings.Join(f, " ")
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sameTree fails unless a and b list alike, and diff -r (which cannot
// compare FIFOs: they are left to the listing) finds them equal.
func sameTree(t *testing.T, what, want, got string) {
	t.Helper()
	if lw, lg := listing(t, want), listing(t, got); lw != lg {
		t.Fatalf("%s: listings differ\nwant (%s):\n%s\ngot (%s):\n%s", what, want, lw, got, lg)
	}
	if out, err := exec.Command("diff", "-r", "--no-dereference", "-x", "fifo", want, got).CombinedOutput(); err != nil {
		t.Fatalf("%s: diff -r %s %s: %v\n%s", what, want, got, err, out)
	}
}

// quiet runs a command that must succeed and print nothing (cp -a
// reports attributes it could not keep on stderr, yet may exit 0).
func quiet(t *testing.T, name string, args ...string) {
	t.Helper()
	if out := run(t, name, args...); out != "" {
		t.Fatalf("%s %s printed:\n%s", name, strings.Join(args, " "), out)
	}
}

// TestRealTrees: a tree with every kind of entry goes into the mount and
// back out with cp -a, rsync -a and tar, and comes out as it went in (or
// as the same tool leaves it on a local filesystem); a second rsync
// transfers nothing; a git clone onto the mount is sound and clean.
func TestRealTrees(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"rsync", "tar", "git", "diff", "find"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (scripts/deps.sh installs it): %v", tool, err)
		}
	}
	e := newEnv(t, 1)
	m := e.mountFG(t, "--domain="+e.domain)
	local := t.TempDir()
	src := filepath.Join(local, "src")
	makeRealTree(t, src)

	t.Run("cp", func(t *testing.T) {
		quiet(t, "cp", "-a", src, filepath.Join(m, "cp"))
		sameTree(t, "cp -a into the mount", src, filepath.Join(m, "cp"))
		quiet(t, "cp", "-a", filepath.Join(m, "cp"), filepath.Join(local, "cp-back"))
		sameTree(t, "cp -a out of the mount", src, filepath.Join(local, "cp-back"))
	})

	t.Run("rsync", func(t *testing.T) {
		// rsync keeps the nanoseconds of regular files' mtimes only: the
		// reference is the same rsync into a local directory.
		ref := filepath.Join(local, "rsync-ref")
		run(t, "rsync", "-a", src+"/", ref+"/")
		into := filepath.Join(m, "rsync")
		quiet(t, "rsync", "-a", src+"/", into+"/")
		sameTree(t, "rsync -a into the mount", ref, into)
		if out := run(t, "rsync", "-ai", src+"/", into+"/"); out != "" {
			t.Fatalf("a second rsync -ai changed things:\n%s", out)
		}
		back := filepath.Join(local, "rsync-back")
		quiet(t, "rsync", "-a", into+"/", back+"/")
		sameTree(t, "rsync -a out of the mount", ref, back)
		if out := run(t, "rsync", "-ai", into+"/", back+"/"); out != "" {
			t.Fatalf("a second rsync -ai out of the mount changed things:\n%s", out)
		}
	})

	t.Run("tar", func(t *testing.T) {
		// The POSIX (pax) format keeps nanoseconds.
		ref := filepath.Join(local, "tar-ref")
		into := filepath.Join(m, "tar")
		back := filepath.Join(local, "tar-back")
		for _, d := range []string{ref, into, back} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		pipe := func(from, to string) {
			t.Helper()
			quiet(t, "sh", "-c", `tar -C "$1" --format=posix -cf - . | tar -C "$2" -xf -`, "sh", from, to)
		}
		pipe(src, ref)
		pipe(src, into)
		sameTree(t, "tar into the mount", ref, into)
		pipe(into, back)
		sameTree(t, "tar out of the mount", ref, back)
	})

	t.Run("git", func(t *testing.T) {
		repo := filepath.Join(local, "repo")
		git := func(dir string, args ...string) string {
			t.Helper()
			return run(t, "git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		}
		run(t, "git", "init", "-q", repo)
		for i, f := range []string{"a.txt", "d/e/f/deep.txt", "exec.sh", "big.bin", "rel"} {
			data, err := os.Readlink(filepath.Join(src, f))
			if err == nil {
				if err := os.Symlink(data, filepath.Join(repo, f)); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, f)), 0o755); err != nil {
					t.Fatal(err)
				}
				run(t, "cp", "-p", filepath.Join(src, f), filepath.Join(repo, f))
			}
			git(repo, "add", "-A")
			git(repo, "commit", "-q", "-m", "commit "+string(rune('A'+i)))
		}
		clone := filepath.Join(m, "clone")
		run(t, "git", "clone", "-q", "--no-hardlinks", repo, clone)
		git(clone, "fsck", "--full", "--strict")
		if out := git(clone, "status", "--porcelain"); out != "" {
			t.Fatalf("git status of the clone:\n%s", out)
		}
		// Work in the clone: a change, a commit, a repack.
		if err := os.WriteFile(filepath.Join(clone, "a.txt"), []byte("changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git(clone, "commit", "-q", "-am", "change")
		git(clone, "gc", "-q")
		git(clone, "fsck", "--full", "--strict")
		if out := git(clone, "status", "--porcelain"); out != "" {
			t.Fatalf("git status after commit and gc:\n%s", out)
		}
		if n := strings.TrimSpace(git(clone, "rev-list", "--count", "HEAD")); n != "6" {
			t.Fatalf("commits in the clone: %s", n)
		}
	})
}
