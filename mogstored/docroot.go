package mogstored

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// docRoot is the docroot directory. Every file access goes through it and
// stays beneath it: reads with openat2(RESOLVE_BENEATH) on the docroot's
// descriptor (one system call), everything else through an os.Root. Both
// refuse "..", absolute symlinks and symlinks that lead out of the docroot,
// so a link planted in a device directory cannot expose or overwrite a
// file elsewhere. Links that stay inside the docroot are followed.
type docRoot struct {
	path    string
	root    *os.Root
	fd      int  // the docroot directory, for openat2
	openat2 bool // the kernel has openat2 (Linux 5.6+) and lets us use it
}

func openDocRoot(path string) (*docRoot, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("docroot: %w", err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("docroot: %w", err)
	}
	d := &docRoot{path: path, root: root, fd: fd}
	if probe, err := openBeneath(fd, ".", syscall.O_RDONLY|syscall.O_DIRECTORY); err == nil {
		syscall.Close(probe)
		d.openat2 = true
	}
	return d, nil
}

func (d *docRoot) Close() error {
	syscall.Close(d.fd)
	return d.root.Close()
}

// roFile is a file opened for reading: a bare descriptor when openat2 did
// the work, or an *os.File from the fallback that owns it.
type roFile struct {
	fd int
	f  *os.File
}

func (r roFile) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return syscall.Close(r.fd)
}

// openRead opens rel (a slash-separated path relative to the docroot) for
// reading without blocking on special files.
func (d *docRoot) openRead(rel string) (roFile, error) {
	if d.openat2 {
		fd, err := openBeneath(d.fd, rel, syscall.O_RDONLY|syscall.O_NONBLOCK)
		if err != nil {
			return roFile{fd: -1}, &os.PathError{Op: "open", Path: rel, Err: err}
		}
		return roFile{fd: fd}, nil
	}
	f, err := d.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return roFile{fd: -1}, err
	}
	return roFile{fd: int(f.Fd()), f: f}, nil
}

// device opens the device directory dev<N> as a root of its own; every
// write happens relative to it, so a device directory that vanishes is
// never recreated by a write.
func (d *docRoot) device(devid int) (*os.Root, error) {
	name := "dev" + strconv.Itoa(devid)
	r, err := d.root.OpenRoot(name)
	if err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTDIR) && d.escapes(name) {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EXDEV}
	}
	return r, err
}

// escapes reports whether resolving rel (docroot-relative) would leave
// the docroot through a symlink; it tells such refusals, which os.Root
// reports with an unexported error, from other failures. Without openat2
// any symlink on the way counts.
func (d *docRoot) escapes(rel string) bool {
	if d.openat2 {
		fd, err := openBeneath(d.fd, rel, oPath)
		if err == nil {
			syscall.Close(fd)
		}
		return isEscape(err)
	}
	p := ""
	for seg := range strings.SplitSeq(rel, "/") {
		p = path.Join(p, seg)
		if st, err := d.root.Lstat(p); err != nil {
			return false
		} else if st.Mode()&os.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// devices lists the dev<N> directories of the docroot, by devid.
func (d *docRoot) devices() ([]int, error) {
	f, err := d.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read docroot %s: %w", d.path, err)
	}
	var ids []int
	for _, n := range names {
		id, ok := parseDevName(n)
		if !ok {
			continue
		}
		if st, err := d.root.Stat(n); err != nil || !st.IsDir() {
			continue
		}
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids, nil
}

// parseDevName recognises "dev<digits>".
func parseDevName(s string) (int, bool) {
	digits, ok := strings.CutPrefix(s, "dev")
	if !ok || digits == "" || len(digits) > 9 {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.Atoi(digits)
	return id, err == nil
}

// isEscape reports the errors openat2 gives for a path that tried to
// leave the docroot (through a symlink) or loops.
func isEscape(err error) bool {
	return errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.ELOOP)
}
