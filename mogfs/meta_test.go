package mogfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMetadata: chmod, utimes, chown, xattrs, statfs and renames.
func TestMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.put(t, "f.txt", []byte("hello"))
	e.put(t, "g.txt", []byte("other"))
	mnt := e.mountFG(t, "--domain="+e.domain)
	f := filepath.Join(mnt, "f.txt")

	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	if err := os.Chtimes(f, mt, mt); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(f)
	if err != nil || st.Mode().Perm() != 0o600 || !st.ModTime().Equal(mt) || st.Size() != 5 {
		t.Fatalf("after chmod/utimes: %v %v %v, %v", st.Mode(), st.ModTime(), st.Size(), err)
	}
	if err := os.Chown(f, os.Getuid(), os.Getgid()); err != nil {
		t.Errorf("chown to the owner: %v", err)
	}
	// Another owner: root may give the file away (the kernel checks the
	// caller's right, mogfs records it); anyone else gets EPERM.
	if os.Geteuid() == 0 {
		if err := os.Chown(f, 12345, 54321); err != nil {
			t.Errorf("chown to another user: %v", err)
		} else if st, err := os.Stat(f); err != nil || st.Sys().(*syscall.Stat_t).Uid != 12345 || st.Sys().(*syscall.Stat_t).Gid != 54321 {
			t.Errorf("owner after chown: %+v, %v", st.Sys(), err)
		}
		if err := os.Chown(f, os.Getuid(), os.Getgid()); err != nil {
			t.Errorf("chown back: %v", err)
		}
	} else if err := os.Chown(f, 12345, -1); !errors.Is(err, syscall.EPERM) {
		t.Errorf("chown to another user: %v, want EPERM", err)
	}

	// Extended attributes.
	fi, err := e.c.FileInfo(ctx(t), "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := getxattr(t, f, "user.mogilefs.fid"); got != strconv.FormatInt(fi.FID, 10) {
		t.Errorf("fid xattr %q, file_info %d", got, fi.FID)
	}
	if got := getxattr(t, f, "user.mogilefs.class"); got != "default" {
		t.Errorf("class xattr %q", got)
	}
	if got := getxattr(t, f, "user.mogilefs.devcount"); got != strconv.Itoa(fi.DevCount) {
		t.Errorf("devcount xattr %q, file_info %d", got, fi.DevCount)
	}
	if got := getxattr(t, f, "user.mogilefs.paths"); !strings.HasPrefix(got, "http://") {
		t.Errorf("paths xattr %q", got)
	}
	if err := unix.Setxattr(f, "user.mogilefs.class", []byte("one"), 0); err != nil {
		t.Fatalf("set class: %v", err)
	}
	if fi, err := e.c.FileInfo(ctx(t), "f.txt"); err != nil || fi.Class != "one" {
		t.Errorf("class after setxattr: %+v, %v", fi, err)
	}
	if err := unix.Setxattr(f, "user.mogilefs.class", []byte("nosuchclass"), 0); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("set an unknown class: %v, want EINVAL", err)
	}
	if err := unix.Setxattr(f, "user.mogilefs.fid", []byte("1"), 0); !errors.Is(err, syscall.EPERM) {
		t.Errorf("set fid: %v, want EPERM", err)
	}
	// Names that are not ours: ENODATA, but EOPNOTSUPP for the
	// namespaces mogfs does not support (labels, capabilities, ACLs), of
	// files and directories alike.
	for _, p := range []string{f, mnt} {
		for name, want := range map[string]error{
			"user.other":               unix.ENODATA,
			"security.selinux":         unix.EOPNOTSUPP,
			"security.capability":      unix.EOPNOTSUPP,
			"system.posix_acl_access":  unix.EOPNOTSUPP,
			"system.posix_acl_default": unix.EOPNOTSUPP,
		} {
			if _, err := unix.Getxattr(p, name, make([]byte, 64)); !errors.Is(err, want) {
				t.Errorf("getxattr %s %s: %v, want %v", p, name, err, want)
			}
		}
	}
	buf := make([]byte, 1024)
	n, err := unix.Listxattr(f, buf)
	if err != nil || !strings.Contains(string(buf[:n]), "user.mogilefs.checksum") {
		t.Errorf("listxattr: %q, %v", buf[:n], err)
	}

	var sfs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &sfs); err != nil || sfs.Blocks == 0 || sfs.Bfree == 0 {
		t.Errorf("statfs: %+v, %v", sfs, err)
	}

	// A rename over an existing file replaces it; with RENAME_NOREPLACE
	// it fails.
	g := filepath.Join(mnt, "g.txt")
	if err := unix.Renameat2(unix.AT_FDCWD, f, unix.AT_FDCWD, g, unix.RENAME_NOREPLACE); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("rename noreplace onto g.txt: %v, want EEXIST", err)
	}
	if err := os.Rename(f, g); err != nil {
		t.Fatal(err)
	}
	if got := string(e.get(t, "g.txt")); got != "hello" {
		t.Errorf("g.txt after rename holds %q", got)
	}
	if _, err := e.c.FileInfo(ctx(t), "f.txt"); err == nil {
		t.Error("f.txt still exists")
	}
	// Mode and mtime follow the file.
	if st, err := os.Stat(g); err != nil || st.Mode().Perm() != 0o600 || !st.ModTime().Equal(mt) {
		t.Errorf("after rename: %v %v, %v", st.Mode(), st.ModTime(), err)
	}
	// A rename of a directory onto a non-empty one fails.
	os.MkdirAll(filepath.Join(mnt, "d1"), 0o755)
	os.WriteFile(filepath.Join(mnt, "d1/x"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(mnt, "d2"), 0o755)
	os.WriteFile(filepath.Join(mnt, "d2/y"), []byte("y"), 0o644)
	// (syscall.Rename: os.Rename refuses any existing directory target.)
	if err := syscall.Rename(filepath.Join(mnt, "d1"), filepath.Join(mnt, "d2")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rename onto a non-empty directory: %v, want ENOTEMPTY", err)
	}
	// Onto an empty one it works.
	os.Mkdir(filepath.Join(mnt, "d3"), 0o755)
	if err := syscall.Rename(filepath.Join(mnt, "d1"), filepath.Join(mnt, "d3")); err != nil {
		t.Fatalf("rename onto an empty directory: %v", err)
	}
	if got := string(e.get(t, "d3/x")); got != "x" {
		t.Errorf("d3/x holds %q", got)
	}
}

func getxattr(t *testing.T, path, name string) string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(path, name, buf)
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", path, name, err)
	}
	return string(buf[:n])
}

// TestAllDomains mounts without --domain: the root lists the domains;
// mkdir and rmdir create and delete them.
func TestAllDomains(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "in/domain.txt", []byte("here"))
	mnt := e.mountFG(t)
	if got, err := os.ReadFile(filepath.Join(mnt, e.domain, "in/domain.txt")); err != nil || string(got) != "here" {
		t.Fatalf("read through the domain directory: %q, %v", got, err)
	}
	// A domain is a directory anyone may enter: 0755, not a file's 0644.
	if fi, err := os.Stat(filepath.Join(mnt, e.domain)); err != nil || fi.Mode() != os.ModeDir|0o755 {
		t.Fatalf("domain directory mode: %v, %v; want drwxr-xr-x", fi.Mode(), err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "newdom"), 0o755); err != nil {
		t.Fatal(err)
	}
	ds, err := e.c.Domains(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range ds {
		found = found || d.Name == "newdom"
	}
	if !found {
		t.Fatalf("mkdir did not create the domain: %v", ds)
	}
	ents, err := os.ReadDir(mnt)
	if err != nil || len(ents) != 2 {
		t.Fatalf("root lists %v, %v", ents, err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "newdom/x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(mnt, "newdom")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a domain with files: %v, want ENOTEMPTY", err)
	}
	os.Remove(filepath.Join(mnt, "newdom/x"))
	if err := os.Remove(filepath.Join(mnt, "newdom")); err != nil {
		t.Errorf("rmdir of an empty domain: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "rootfile"), []byte("x"), 0o644); !errors.Is(err, syscall.EPERM) {
		t.Errorf("creating a file among the domains: %v, want EPERM", err)
	}
}

// TestReadOnly: -o ro refuses every change with EROFS and still reads.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "r.txt", []byte("read me"))
	mnt := e.mountFG(t, "-o", "domain="+e.domain+",ro")
	if got, err := os.ReadFile(filepath.Join(mnt, "r.txt")); err != nil || string(got) != "read me" {
		t.Fatalf("read: %q, %v", got, err)
	}
	for name, err := range map[string]error{
		"create": os.WriteFile(filepath.Join(mnt, "w.txt"), []byte("x"), 0o644),
		"mkdir":  os.Mkdir(filepath.Join(mnt, "d"), 0o755),
		"unlink": os.Remove(filepath.Join(mnt, "r.txt")),
		"chmod":  os.Chmod(filepath.Join(mnt, "r.txt"), 0o600),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s on a read-only mount: %v, want EROFS", name, err)
		}
	}
}
