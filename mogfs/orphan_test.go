package mogfs_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
)

// openFDs are the descriptors openFD opened and closeFD has not closed.
// Its cleanup closes only those: closing a number twice closes whatever
// another test (running in parallel) opened under it since — a pipe of a
// command, whose writer then dies of SIGPIPE, or the pidfd a Wait blocks
// on (a CI run showed both).
var openFDs = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// openFD opens p with flags, closed at cleanup if the test did not
// (closeFD).
func openFD(t *testing.T, p string, flags int) int {
	t.Helper()
	fd, err := syscall.Open(p, flags|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	openFDs.Lock()
	openFDs.m[fd] = true
	openFDs.Unlock()
	t.Cleanup(func() { closeFD(fd) })
	return fd
}

// closeFD closes a descriptor of openFD, once.
func closeFD(fd int) error {
	openFDs.Lock()
	open := openFDs.m[fd]
	delete(openFDs.m, fd)
	openFDs.Unlock()
	if !open {
		return nil
	}
	return syscall.Close(fd)
}

func pread(t *testing.T, fd int, n int, off int64) []byte {
	t.Helper()
	b := make([]byte, n)
	m, err := syscall.Pread(fd, b, off)
	if err != nil {
		t.Fatalf("pread: %v", err)
	}
	return b[:m]
}

func fstat(t *testing.T, fd int) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat: %v", err)
	}
	return st
}

// gone checks that key is gone for the client library and for an open
// through mount b.
func (e *env) gone(t *testing.T, b, key string) {
	t.Helper()
	if _, err := e.c.FileInfo(ctx(t), key); !errors.Is(err, client.ErrUnknownKey) {
		t.Fatalf("key %q for the client: %v", key, err)
	}
	if _, err := os.ReadFile(filepath.Join(b, key)); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("open of %q on the other mount: %v", key, err)
	}
}

// TestOpenUnlinked: a file unlinked (or replaced by a rename) while open
// stays readable and writable through its descriptors on that mount, is
// never committed, and is gone at once for the other mount and the client
// library.
func TestOpenUnlinked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)
	b := e.mountFG(t, "--domain="+e.domain)

	big := make([]byte, 3<<20+17) // staged in a spool file, not in memory
	rand.Read(big)
	e.put(t, "big", big)
	if err := os.WriteFile(filepath.Join(a, "f"), []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	rw := openFD(t, filepath.Join(a, "f"), syscall.O_RDWR)
	ro := openFD(t, filepath.Join(a, "f"), syscall.O_RDONLY)
	bigFD := openFD(t, filepath.Join(a, "big"), syscall.O_RDONLY)
	for _, k := range []string{"f", "big"} {
		if err := os.Remove(filepath.Join(a, k)); err != nil {
			t.Fatal(err)
		}
		e.gone(t, b, k)
		if _, err := os.Lstat(filepath.Join(a, k)); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("lstat of %s on the unlinking mount: %v", k, err)
		}
	}
	if st := fstat(t, ro); st.Size != 11 || st.Nlink != 0 {
		t.Fatalf("fstat after unlink: size %d nlink %d", st.Size, st.Nlink)
	}
	if got := pread(t, ro, 100, 0); string(got) != "hello world" {
		t.Fatalf("read after unlink: %q", got)
	}
	if got := pread(t, bigFD, len(big)+10, 0); !bytes.Equal(got, big) {
		t.Fatalf("read of the big file after unlink: %d bytes, equal %v", len(got), bytes.Equal(got, big))
	}
	if _, err := syscall.Pwrite(rw, []byte("there!"), 6); err != nil {
		t.Fatal(err)
	}
	if got := pread(t, ro, 100, 0); string(got) != "hello there!" {
		t.Fatalf("read after a write to the unlinked file: %q", got)
	}
	if err := syscall.Ftruncate(rw, 5); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Fsync(rw); err != nil {
		t.Fatalf("fsync of the unlinked file: %v", err)
	}
	if st := fstat(t, rw); st.Size != 5 {
		t.Fatalf("fstat after ftruncate: size %d", st.Size)
	}
	if got := pread(t, ro, 100, 0); string(got) != "hello" {
		t.Fatalf("read after ftruncate: %q", got)
	}
	for _, fd := range []int{rw, ro, bigFD} {
		if err := closeFD(fd); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
	// Nothing was committed at close.
	e.gone(t, b, "f")
	e.gone(t, b, "big")
	// The name is free for a new file.
	if err := os.WriteFile(filepath.Join(a, "f"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := string(e.get(t, "f")); got != "new" {
		t.Fatalf("new f: %q", got)
	}

	// A rename replaces a file open for reading: the descriptor keeps
	// the old content, every open by name gets the new one.
	if err := os.WriteFile(filepath.Join(a, "g"), []byte("old content"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := openFD(t, filepath.Join(a, "g"), syscall.O_RDONLY)
	if err := os.WriteFile(filepath.Join(a, "g.tmp"), []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(a, "g.tmp"), filepath.Join(a, "g")); err != nil {
		t.Fatal(err)
	}
	if got := pread(t, old, 100, 0); string(got) != "old content" {
		t.Fatalf("replaced file through its descriptor: %q", got)
	}
	for _, mnt := range []string{a, b} {
		if got := mustRead(t, filepath.Join(mnt, "g")); string(got) != "new content" {
			t.Fatalf("g on %s after the rename: %q", mnt, got)
		}
	}
	if got := string(e.get(t, "g")); got != "new content" {
		t.Fatalf("g for the client: %q", got)
	}
	closeFD(old)

	// A file created and unlinked before its first commit: the unlink
	// succeeds, writes go on, and close commits nothing.
	c := openFD(t, filepath.Join(a, "c"), syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC)
	if _, err := syscall.Write(c, []byte("scratch")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(a, "c")); err != nil {
		t.Fatalf("unlink of a file not committed yet: %v", err)
	}
	if _, err := syscall.Write(c, []byte(" more")); err != nil {
		t.Fatal(err)
	}
	if err := closeFD(c); err != nil {
		t.Fatalf("close of an unlinked new file: %v", err)
	}
	e.gone(t, b, "c")
	ents, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	if len(names) != 2 || names[0] != "f" || names[1] != "g" {
		t.Fatalf("after the orphans closed: %v", names)
	}
}

// TestOpenUnlinkedTooBig: a file the spool cannot hold is still unlinked
// (gone for everyone), and its open descriptor then fails reads with EIO
// while fstat still answers.
func TestOpenUnlinkedTooBig(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain, "--cache-size=1MiB")
	b := e.mountFG(t, "--domain="+e.domain)
	big := make([]byte, 2<<20)
	rand.Read(big)
	e.put(t, "big", big)
	fd := openFD(t, filepath.Join(a, "big"), syscall.O_RDONLY)
	if err := os.Remove(filepath.Join(a, "big")); err != nil {
		t.Fatal(err)
	}
	e.gone(t, b, "big")
	if st := fstat(t, fd); st.Size != int64(len(big)) {
		t.Fatalf("fstat: size %d", st.Size)
	}
	if _, err := syscall.Pread(fd, make([]byte, 4096), 0); !errors.Is(err, syscall.EIO) {
		t.Fatalf("read of an unlinked file that could not be staged: %v, want EIO", err)
	}
}

// TestEmptyThenRenameOrUnlink: an empty file is committed by the release
// that follows close; a chmod, rename or unlink right after the close
// must neither be undone by that commit nor lose to it (rsync's empty
// temporary files, git's lock files).
func TestEmptyThenRenameOrUnlink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)
	const n = 30
	for i := range n {
		tmp := filepath.Join(a, ".tmp")
		if err := os.WriteFile(tmp, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(tmp, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(a, "f"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		lock := filepath.Join(a, "x.lock")
		fd, err := syscall.Open(lock, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			t.Fatalf("round %d: create the lock file: %v", i, err)
		}
		syscall.Close(fd)
		if err := os.Remove(lock); err != nil {
			t.Fatal(err)
		}
	}
	// Another mount sees exactly the renamed files, each with its mode.
	b := e.mountFG(t, "--domain="+e.domain)
	ents, err := os.ReadDir(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		var names []string
		for _, d := range ents {
			names = append(names, d.Name())
		}
		t.Fatalf("%d entries, want %d: %v", len(ents), n, names)
	}
	for _, d := range ents {
		if st := lstat(t, filepath.Join(b, d.Name())); st.Mode != syscall.S_IFREG|0o640 || st.Size != 0 {
			t.Fatalf("%s: mode %o size %d", d.Name(), st.Mode, st.Size)
		}
	}
}
