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

	"golang.org/x/sys/unix"
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

// dirFD is an open directory, the one a PUT writes into.
type dirFD struct{ fd int }

func (d dirFD) Close() error { return unix.Close(d.fd) }

// deviceError is the failure to open a PUT's device directory itself
// (missing, unreadable, or leading out of the docroot), as opposed to a
// failure below it.
type deviceError struct{ err error }

func (e *deviceError) Error() string { return e.err.Error() }
func (e *deviceError) Unwrap() error { return e.err }

// openPutDir opens the directory dir (device-relative, "" for the device
// itself) of device devid for a PUT, creating the directories that are
// missing below the device, never the device directory itself. With
// openat2 the common case, an existing directory reached through no
// symlink, takes one system call and no walk component by component.
func (d *docRoot) openPutDir(devid int, dir string) (dirFD, error) {
	dev := "dev" + strconv.Itoa(devid)
	dir = strings.Trim(dir, "/")
	if dir == "" {
		dir = "."
	}
	if d.openat2 {
		// With no symlink followed (and RESOLVE_BENEATH refusing ".."),
		// "devN/dir" can only lead into device N.
		if fd, err := openBeneathNoLinks(d.fd, dev+"/"+dir, unix.O_RDONLY|unix.O_DIRECTORY); err == nil {
			return dirFD{fd}, nil
		}
		// A symlink on the way, a missing directory or a refusal: the
		// two steps below tell them apart.
		// Beneath the device, not just the docroot: a link in one
		// device must not lead a write into another.
		if devfd, err := openBeneath(d.fd, dev, oPath|unix.O_DIRECTORY); err == nil {
			fd, err := openBeneath(devfd, dir, unix.O_RDONLY|unix.O_DIRECTORY)
			unix.Close(devfd)
			if err == nil {
				return dirFD{fd}, nil
			}
		}
		// Missing directories, and every refusal, are handled (and
		// told apart) the os.Root way below.
	}
	root, err := d.device(devid)
	if err != nil {
		return dirFD{-1}, &deviceError{err}
	}
	defer root.Close()
	f, err := root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if errors.Is(err, syscall.ENOENT) {
		if err = root.MkdirAll(dir, 0o755); err == nil {
			f, err = root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
		}
	}
	if err != nil {
		return dirFD{-1}, err
	}
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return dirFD{-1}, &os.PathError{Op: "dup", Path: dir, Err: err}
	}
	return dirFD{fd}, nil
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
