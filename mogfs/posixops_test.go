package mogfs_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFallocateCopyRangeTmpfile: fallocate mode 0 extends a file (and is
// committed), other modes give EOPNOTSUPP; copy_file_range works (the
// kernel copies); O_TMPFILE gives EOPNOTSUPP; cp and cp --reflink=auto
// copy files on the mount.
func TestFallocateCopyRangeTmpfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)

	// fallocate of an existing file opened for reading and writing.
	if err := os.WriteFile(filepath.Join(a, "x"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd := openFD(t, filepath.Join(a, "x"), syscall.O_RDWR)
	if err := unix.Fallocate(fd, 0, 0, 10000); err != nil {
		t.Fatalf("fallocate mode 0: %v", err)
	}
	if st := fstat(t, fd); st.Size != 10000 {
		t.Fatalf("size after fallocate: %d", st.Size)
	}
	want := append([]byte("abc"), make([]byte, 10000-3)...)
	if got := pread(t, fd, 20000, 0); !bytes.Equal(got, want) {
		t.Fatalf("content after fallocate: %d bytes, %q...", len(got), got[:min(len(got), 8)])
	}
	if err := unix.Fallocate(fd, 0, 0, 100); err != nil { // within the file: nothing to do
		t.Fatalf("fallocate inside the file: %v", err)
	}
	for _, mode := range []uint32{unix.FALLOC_FL_KEEP_SIZE, unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE, unix.FALLOC_FL_ZERO_RANGE} {
		if err := unix.Fallocate(fd, mode, 0, 20000); !errors.Is(err, syscall.EOPNOTSUPP) {
			t.Fatalf("fallocate mode %#x: %v, want EOPNOTSUPP", mode, err)
		}
	}
	if err := closeFD(fd); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, "x"); !bytes.Equal(got, want) {
		t.Fatalf("committed after fallocate: %d bytes", len(got))
	}
	// fallocate of a new file before writing it (what download tools
	// do), on a write-only descriptor.
	fd = openFD(t, filepath.Join(a, "pre"), syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC)
	if err := unix.Fallocate(fd, 0, 0, 1<<20); err != nil {
		t.Fatalf("fallocate of a new file: %v", err)
	}
	if _, err := syscall.Pwrite(fd, []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if err := closeFD(fd); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, "pre"); len(got) != 1<<20 || string(got[:5]) != "hello" {
		t.Fatalf("preallocated file: %d bytes, %q", len(got), got[:min(len(got), 5)])
	}

	// copy_file_range between two files of the mount.
	src := make([]byte, 3<<20+5)
	rand.Read(src)
	if err := os.WriteFile(filepath.Join(a, "src"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	in := openFD(t, filepath.Join(a, "src"), syscall.O_RDONLY)
	out := openFD(t, filepath.Join(a, "dst"), syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC)
	for left := len(src); left > 0; {
		n, err := unix.CopyFileRange(in, nil, out, nil, left, 0)
		if err != nil {
			t.Fatalf("copy_file_range: %v", err)
		}
		if n == 0 {
			t.Fatalf("copy_file_range stopped with %d bytes left", left)
		}
		left -= n
	}
	closeFD(in)
	if err := closeFD(out); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, "dst"); !bytes.Equal(got, src) {
		t.Fatalf("copy_file_range result: %d bytes", len(got))
	}

	// O_TMPFILE: not supported, every time.
	for range 2 {
		if fd, err := unix.Open(a, unix.O_TMPFILE|unix.O_RDWR, 0o600); !errors.Is(err, syscall.EOPNOTSUPP) {
			if err == nil {
				unix.Close(fd)
			}
			t.Fatalf("O_TMPFILE: %v, want EOPNOTSUPP", err)
		}
	}

	// cp, with and without --reflink=auto.
	run(t, "cp", "--reflink=auto", filepath.Join(a, "src"), filepath.Join(a, "cp1"))
	run(t, "cp", filepath.Join(a, "src"), filepath.Join(a, "cp2"))
	for _, k := range []string{"cp1", "cp2"} {
		if got := e.get(t, k); !bytes.Equal(got, src) {
			t.Fatalf("%s: %d bytes", k, len(got))
		}
	}
}
