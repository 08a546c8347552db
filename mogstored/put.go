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
	dev, err := h.root.device(np.devid)
	if err != nil {
		code := h.status(err, np.rel, 404)
		if code == 404 {
			simple(w, 404, "Base directory does not exist")
		} else {
			h.log.Warn("PUT: cannot open device", "path", r.Path, "device", np.devid, "err", err)
			simple(w, code, "")
		}
		return
	}
	defer dev.Close()
	up, err := h.createTemp(dev, np)
	if err != nil {
		h.putFailed(w, r, np, err, "create")
		return
	}
	defer up.discard()
	if !h.receive(w, r, np, up) {
		return
	}
	status := 200
	if want := r.Header("Content-MD5"); want != "" {
		actual := strings.TrimRight(base64.StdEncoding.EncodeToString(up.md5.Sum(nil)), "=")
		expect := strings.TrimRight(strings.TrimSpace(want), "=")
		if actual != expect {
			up.discard()
			simple(w, 400, "Content-MD5 mismatch, expected: "+expect+" actual: "+actual)
			return
		}
		status = 201
	}
	if err := dev.Rename(up.tmp, np.sub); err != nil {
		up.discard()
		h.putFailed(w, r, np, err, "rename")
		return
	}
	up.kept = true
	if h.fsync {
		if err := syncDir(dev, up.dir); err != nil {
			h.putFailed(w, r, np, err, "fsync directory")
			return
		}
	}
	h.devs.noteWrite(np.devid)
	simple(w, status, "")
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

// upload is a PUT body on its way to disk.
type upload struct {
	dev    *os.Root
	f      *os.File
	dir    string // device-relative directory
	tmp    string // device-relative temp file
	md5    hash.Hash
	closed bool
	kept   bool // renamed into place, or removed
}

// discard drops the temp file (once).
func (u *upload) discard() {
	if !u.closed {
		u.f.Close()
		u.closed = true
	}
	if !u.kept {
		u.dev.Remove(u.tmp)
		u.kept = true
	}
}

// createTemp creates the temp file, and the directories above it when
// they are missing (so MKCOL is never needed).
func (h *handler) createTemp(dev *os.Root, np nodePath) (*upload, error) {
	dir, name := path.Split(np.sub)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	tmp := path.Join(dir, tempName(name))
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL | syscall.O_NOFOLLOW
	f, err := dev.OpenFile(tmp, flags, 0o644)
	if errors.Is(err, syscall.ENOENT) {
		if err = dev.MkdirAll(dir, 0o755); err == nil {
			f, err = dev.OpenFile(tmp, flags, 0o644)
		}
	}
	if err != nil {
		return nil, err
	}
	return &upload{dev: dev, f: f, dir: dir, tmp: tmp, md5: md5.New()}, nil
}

// receive copies the body into the temp file and flushes it; on failure
// it answers the client (after discarding the file) and returns false.
func (h *handler) receive(w *httpd.ResponseWriter, r *httpd.Request, np nodePath, up *upload) bool {
	bp := h.bufs.get()
	defer h.bufs.put(bp)
	var dst io.Writer = up.f
	if r.Header("Content-MD5") != "" {
		dst = io.MultiWriter(up.f, up.md5)
	}
	n, err := copyBody(dst, r.Body, *bp)
	var rerr *readError
	switch {
	case err == nil:
	case errors.As(err, &rerr) && httpd.IsTimeout(rerr.err):
		up.discard()
		h.log.Warn("PUT body stalled; discarded", "path", r.Path, "device", np.devid, "received", n)
		w.CloseAfter()
		simple(w, 408, "")
		return false
	case errors.As(err, &rerr):
		up.discard()
		h.log.Warn("PUT body incomplete; discarded", "path", r.Path, "device", np.devid, "received", n,
			"err", rerr.err)
		w.CloseAfter()
		simple(w, 400, "Incomplete request body")
		return false
	default:
		up.discard()
		h.putFailed(w, r, np, err, "write")
		return false
	}
	if h.fsync {
		if err := up.f.Sync(); err != nil {
			up.discard()
			h.putFailed(w, r, np, err, "fsync")
			return false
		}
	}
	err = up.f.Close()
	up.closed = true
	if err != nil {
		up.discard()
		h.putFailed(w, r, np, err, "close")
		return false
	}
	return true
}

func (h *handler) putFailed(w *httpd.ResponseWriter, r *httpd.Request, np nodePath, err error, op string) {
	code := h.status(err, np.rel, 404)
	if errors.Is(err, syscall.ENOTDIR) {
		code = 409 // a path component is a file
	}
	switch code {
	case 404:
		// The device directory vanished while we worked.
		simple(w, 404, "Base directory does not exist")
		return
	case 507:
		h.log.Warn("PUT failed: device full", "path", r.Path, "device", np.devid, "op", op, "err", err)
	case 500:
		h.log.Error("PUT failed", "path", r.Path, "device", np.devid, "op", op, "err", err)
	default:
		h.log.Warn("PUT refused", "path", r.Path, "device", np.devid, "op", op, "status", code, "err", err)
	}
	h.devs.noteError(np.devid, err)
	if !r.BodyDone() {
		w.CloseAfter()
	}
	simple(w, code, "")
}

// tempName is "<name>.<pid>.<random>.tmp", shortened so it fits in a
// file name.
func tempName(name string) string {
	suffix := "." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(uint64(rand.Uint32()), 10) + ".tmp"
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
// errors.
func copyBody(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, rerr := src.Read(buf)
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

func syncDir(dev *os.Root, dir string) error {
	d, err := dev.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
