package mogstored

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// copyBufs holds the buffers PUT bodies are copied through.
type copyBufs struct{ pool sync.Pool }

func (b *copyBufs) get() *[]byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return p
	}
	buf := make([]byte, 128<<10)
	return &buf
}

func (b *copyBufs) put(p *[]byte) { b.pool.Put(p) }

// put stores the body at the path. The body goes to a temporary file in
// the target directory ("<name>.<pid>.<rand>.tmp", as the original names
// it), is flushed to disk unless fsync is off, and is renamed over the
// final name only when all of it arrived and, with Content-MD5, matched.
// Any failure removes the temporary file before answering: a reader never
// sees a partial file and an existing file is never lost to a failed
// upload.
func (h *handler) put(w *httpd.ResponseWriter, r *httpd.Request) {
	np, ok := checkPutPath(w, r)
	if !ok {
		return
	}
	// Every file and directory of the device is closed before the answer
	// goes out, so that an operator may unmount a failing disk as soon as
	// its PUTs are answered.
	rep := h.store(r, np)
	if rep.closeConn {
		w.CloseAfter()
	}
	simple(w, rep.code, rep.msg)
}

// putReply is the answer to a PUT.
type putReply struct {
	code      int
	msg       string
	closeConn bool // the body was not read to its end
}

// store writes the body to the node path and says what to answer.
func (h *handler) store(r *httpd.Request, np nodePath) putReply {
	parent, name := path.Split(np.sub)
	dir, err := h.root.openPutDir(np.devid, parent)
	var derr *deviceError
	switch {
	case errors.As(err, &derr):
		code := h.status(derr.err, np.rel, 404)
		if code == 404 {
			return putReply{code: 404, msg: "Base directory does not exist", closeConn: !r.BodyDone()}
		}
		h.log.Warn("PUT: cannot open device", "path", r.Path, "device", np.devid, "err", derr.err)
		return putReply{code: code, closeConn: !r.BodyDone()}
	case err != nil:
		return h.putFailed(r, np, err, "create")
	}
	defer dir.Close()
	// A fast-path peer copy (docs/fastpath.md §4.5) is of a fid no one
	// reads before its commit: it goes to its final name at once, which
	// must not exist yet.
	direct := r.Header(peerCopyHeader) == "1"
	var up *upload
	if direct {
		up, err = createFinal(dir, name)
	} else {
		up, err = createTemp(dir, name, h.pid)
	}
	if err != nil {
		return h.putFailed(r, np, err, "create")
	}
	defer up.discard()
	if rep, ok := h.receive(r, np, up); !ok {
		return rep
	}
	status := 200
	if want := r.Header("Content-MD5"); want != "" {
		actual := strings.TrimRight(base64.StdEncoding.EncodeToString(up.md5.Sum(nil)), "=")
		expect := strings.TrimRight(strings.TrimSpace(want), "=")
		if actual != expect {
			return putReply{code: 400, msg: "Content-MD5 mismatch, expected: " + expect + " actual: " + actual}
		}
		status = 201
	}
	if !direct { // a peer copy is under its final name already
		if err := unix.Renameat(dir.fd, up.tmp, dir.fd, name); err != nil {
			return h.putFailed(r, np, &os.PathError{Op: "rename", Path: np.rel, Err: err}, "rename")
		}
	}
	up.kept = true
	if h.fsync {
		if err := unix.Fsync(dir.fd); err != nil {
			return h.putFailed(r, np, &os.PathError{Op: "fsync", Path: parent, Err: err}, "fsync directory")
		}
	}
	h.devs.noteWrite(np.devid)
	return putReply{code: status}
}

// peerCopyHeader marks a fast-path node's PUT of a peer copy: the file
// is created under its final name (O_EXCL), without a temporary name.
// Other nodes ignore it and take an ordinary PUT.
const peerCopyHeader = "X-MogileFS-Peer-Copy"

// createFinal creates name in dir for a peer copy; it fails when the
// name exists. discard removes it, as it removes a temporary file.
func createFinal(dir dirFD, name string) (*upload, error) {
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dir.fd, name, flags, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: name, Err: err}
	}
	return &upload{dir: dir, fd: fd, tmp: name}, nil
}

// checkPutPath answers the request itself (and returns false) when its
// path cannot take a PUT, with the original's codes and messages.
func checkPutPath(w *httpd.ResponseWriter, r *httpd.Request) (nodePath, bool) {
	np, err := parseNodePath(r.Path)
	switch {
	case errors.Is(err, errNotDevice):
		if strings.Count(strings.Trim(r.Path, "/"), "/") == 0 {
			simple(w, 400, "Does not meet minimum directory requirement")
		} else {
			simple(w, 404, "Base directory does not exist")
		}
		return np, false
	case err != nil || np.dir:
		simple(w, 400, "Invalid filename")
		return np, false
	case np.sub == "":
		simple(w, 400, "Does not meet minimum directory requirement")
		return np, false
	case r.Header("Content-Range") != "":
		// A partial PUT would be taken for the whole file and destroy
		// the rest of it; RFC 9110 14.5 says answer 400.
		simple(w, 400, "Content-Range is not supported")
		return np, false
	}
	return np, true
}

// upload is a PUT body on its way to disk: a temp file in the target
// directory, which stays open so that creating, renaming and removing the
// file and syncing the directory are single system calls on plain names,
// with no second walk down the path.
type upload struct {
	dir    dirFD
	fd     int    // the temp file, a bare descriptor: no *os.File, no fcntl, no finalizer
	tmp    string // the temp file's name in dir
	md5    hash.Hash
	closed bool
	kept   bool // renamed into place, or removed
}

// Write writes all of p to the temp file.
func (u *upload) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(u.fd, p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "write", Path: u.tmp, Err: err}
		}
		n += m
	}
	return n, nil
}

// close closes the temp file (once).
func (u *upload) close() error {
	if u.closed {
		return nil
	}
	u.closed = true
	if err := unix.Close(u.fd); err != nil {
		return &os.PathError{Op: "close", Path: u.tmp, Err: err}
	}
	return nil
}

// discard drops the temp file (once).
func (u *upload) discard() {
	u.close()
	if !u.kept {
		unix.Unlinkat(u.dir.fd, u.tmp, 0)
		u.kept = true
	}
}

// createTemp creates the temp file for name in dir; pid is the process
// id in decimal, for the temp file's name.
func createTemp(dir dirFD, name, pid string) (*upload, error) {
	tmp := tempName(name, pid)
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dir.fd, tmp, flags, 0o644)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	return &upload{dir: dir, fd: fd, tmp: tmp}, nil
}

// receive copies the body into the temp file and flushes it; on failure
// it returns the answer and false (the deferred discard removes the file).
func (h *handler) receive(r *httpd.Request, np nodePath, up *upload) (putReply, bool) {
	bp := h.bufs.get()
	defer h.bufs.put(bp)
	var dst io.Writer = up
	if r.Header("Content-MD5") != "" {
		up.md5 = md5.New()
		dst = io.MultiWriter(up, up.md5)
	}
	n, err := copyBody(dst, r.Body, *bp)
	var rerr *readError
	switch {
	case err == nil:
	case errors.As(err, &rerr) && httpd.IsTimeout(rerr.err):
		h.log.Warn("PUT body stalled; discarded", "path", r.Path, "device", np.devid, "received", n)
		return putReply{code: 408, closeConn: true}, false
	case errors.As(err, &rerr):
		h.log.Warn("PUT body incomplete; discarded", "path", r.Path, "device", np.devid, "received", n,
			"err", rerr.err)
		return putReply{code: 400, msg: "Incomplete request body", closeConn: true}, false
	default:
		return h.putFailed(r, np, err, "write"), false
	}
	if h.fsync {
		if err := unix.Fsync(up.fd); err != nil {
			return h.putFailed(r, np, &os.PathError{Op: "fsync", Path: up.tmp, Err: err}, "fsync"), false
		}
	}
	if err := up.close(); err != nil {
		return h.putFailed(r, np, err, "close"), false
	}
	return putReply{}, true
}

// putFailed logs a failed PUT and gives its answer.
func (h *handler) putFailed(r *httpd.Request, np nodePath, err error, op string) putReply {
	code := h.status(err, np.rel, 404)
	if errors.Is(err, syscall.ENOTDIR) {
		code = 409 // a path component is a file
	}
	switch code {
	case 404:
		// The device directory vanished while we worked.
		return putReply{code: 404, msg: "Base directory does not exist", closeConn: !r.BodyDone()}
	case 507:
		h.log.Warn("PUT failed: device full", "path", r.Path, "device", np.devid, "op", op, "err", err)
	case 500:
		h.log.Error("PUT failed", "path", r.Path, "device", np.devid, "op", op, "err", err)
	default:
		h.log.Warn("PUT refused", "path", r.Path, "device", np.devid, "op", op, "status", code, "err", err)
	}
	h.devs.noteError(np.devid, err)
	return putReply{code: code, closeConn: !r.BodyDone()}
}

// tempName is "<name>.<pid>.<random>.tmp", shortened so it fits in a
// file name.
func tempName(name, pid string) string {
	suffix := "." + pid + "." + strconv.FormatUint(uint64(rand.Uint32()), 10) + ".tmp"
	if len(name)+len(suffix) > 255 {
		name = name[:255-len(suffix)]
	}
	return name + suffix
}

// readError marks a failure to read the request body, as opposed to a
// failure to write the file.
type readError struct{ err error }

func (e *readError) Error() string { return "read request body: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// copyBody copies src to dst through buf, telling read errors from write
// errors. It fills buf before each write, so that a body smaller than buf
// is written with one system call however the network split it.
func copyBody(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, rerr := fill(src, buf)
		if m > 0 {
			if _, err := dst.Write(buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, &readError{rerr}
		}
	}
}

// fill reads from src until buf is full, src ends (io.EOF) or fails.
func fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
