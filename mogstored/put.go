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
	buf := make([]byte, 256<<10)
	return &buf
}

func (b *copyBufs) put(p *[]byte) { b.pool.Put(p) }

// put stores the body at the path. The body goes to a temporary file in
// the target directory ("<name>.<pid>.<rand>.tmp", as the original names
// it), is flushed to disk unless fsync is off, and is renamed over the
// final name only when all of it arrived and, with Content-MD5, matched.
// Any failure removes the temporary file: a reader never sees a partial
// file and an existing file is never lost to a failed upload.
func (h *handler) put(w *httpd.ResponseWriter, r *httpd.Request) {
	np, err := parseNodePath(r.Path)
	switch {
	case errors.Is(err, errNotDevice):
		if strings.Count(strings.Trim(r.Path, "/"), "/") == 0 {
			simple(w, 400, "Does not meet minimum directory requirement")
		} else {
			simple(w, 404, "Base directory does not exist")
		}
		return
	case err != nil || np.dir:
		simple(w, 400, "Invalid filename")
		return
	case np.sub == "":
		simple(w, 400, "Does not meet minimum directory requirement")
		return
	}
	if r.Header("Content-Range") != "" {
		// A partial PUT would be taken for the whole file and destroy
		// the rest of it; RFC 9110 14.5 says answer 400.
		simple(w, 400, "Content-Range is not supported")
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

	dir, name := path.Split(np.sub)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	tmp := tempName(name)
	tmpPath := path.Join(dir, tmp)
	f, err := dev.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, syscall.ENOENT) {
		if err = dev.MkdirAll(dir, 0o755); err == nil {
			f, err = dev.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
		}
	}
	if err != nil {
		h.putFailed(w, r, np, err, "create")
		return
	}
	// discard drops the temp file; every failure does it before
	// answering, so a client that sees an error sees no leftovers.
	closed, kept := false, false
	discard := func() {
		if !closed {
			f.Close()
			closed = true
		}
		if !kept {
			dev.Remove(tmpPath)
			kept = true
		}
	}
	defer discard()

	var md5h hash.Hash
	want := r.Header("Content-MD5")
	if want != "" {
		md5h = md5.New()
	}
	bp := h.bufs.get()
	defer h.bufs.put(bp)
	var dst io.Writer = f
	if md5h != nil {
		dst = io.MultiWriter(f, md5h)
	}
	n, err := copyBody(dst, r.Body, *bp)
	if err != nil {
		discard()
		var rerr *readError
		switch {
		case errors.As(err, &rerr) && httpd.IsTimeout(rerr.err):
			h.log.Warn("PUT body stalled; discarded", "path", r.Path, "device", np.devid, "received", n)
			w.CloseAfter()
			simple(w, 408, "")
		case errors.As(err, &rerr):
			h.log.Warn("PUT body incomplete; discarded", "path", r.Path, "device", np.devid, "received", n,
				"err", rerr.err)
			w.CloseAfter()
			simple(w, 400, "Incomplete request body")
		default:
			h.putFailed(w, r, np, err, "write")
		}
		return
	}
	if h.fsync {
		if err := f.Sync(); err != nil {
			discard()
			h.putFailed(w, r, np, err, "fsync")
			return
		}
	}
	err = f.Close()
	closed = true
	if err != nil {
		discard()
		h.putFailed(w, r, np, err, "close")
		return
	}
	status := 200
	if md5h != nil {
		actual := base64.StdEncoding.EncodeToString(md5h.Sum(nil))
		actual = strings.TrimRight(actual, "=")
		expect := strings.TrimRight(strings.TrimSpace(want), "=")
		if actual != expect {
			discard()
			simple(w, 400, "Content-MD5 mismatch, expected: "+expect+" actual: "+actual)
			return
		}
		status = 201
	}
	if err := dev.Rename(tmpPath, np.sub); err != nil {
		discard()
		h.putFailed(w, r, np, err, "rename")
		return
	}
	kept = true
	if h.fsync {
		if err := syncDir(dev, dir); err != nil {
			h.putFailed(w, r, np, err, "fsync directory")
			return
		}
	}
	h.devs.noteWrite(np.devid)
	simple(w, status, "")
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
