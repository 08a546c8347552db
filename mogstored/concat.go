package mogstored

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// POST /_concat (docs/s3.md §6.1): the node writes a new fid's file from
// other fids' files, the parts of an S3 multipart upload, read from its
// own devices or fetched from the cluster's other storage nodes, and
// answers its size (and MD5 when asked). Not in the original.

// Limits of a concatenation request.
const (
	concatMaxBody  = 4 << 20
	concatMaxParts = 10000
	concatMaxCopy  = 4 // copies named per part
)

// Answer headers of a concatenation.
const (
	hdrConcat     = "X-Mogile-Concat"
	hdrConcatSize = "X-Mogile-Concat-Size"
	hdrConcatMD5  = "X-Mogile-Concat-MD5"
)

// concatReq is a parsed concatenation request.
type concatReq struct {
	dest  nodePath
	md5   bool
	parts []concatPart
}

// concatPart is one part: its size and its copies, local node paths or
// URLs of other nodes.
type concatPart struct {
	size   int64
	copies []concatSource
}

// concatSource is one copy of a part.
type concatSource struct {
	local nodePath // a path of this node, when url is ""
	url   string   // http://host:port/<fid path> of another node
}

// concatError is a refusal or failure with its status.
type concatError struct {
	code int
	msg  string
}

func (e *concatError) Error() string { return strconv.Itoa(e.code) + " " + e.msg }

func concatErrorf(code int, format string, a ...any) *concatError {
	return &concatError{code: code, msg: fmt.Sprintf(format, a...)}
}

// parseFIDPath accepts only the path of a fid's file as the original
// lays it out ("/dev<N>/0/000/000/0000000123.fid", nodeproto.FIDPath).
func parseFIDPath(p string) (nodePath, error) {
	np, err := parseNodePath(p)
	if err != nil || np.dir {
		return nodePath{}, fmt.Errorf("%q is not a fid path", p)
	}
	base := path.Base(p)
	digits, ok := strings.CutSuffix(base, ".fid")
	if !ok || len(digits) < 10 || len(digits) > 19 || digits[0] == '-' || digits[0] == '+' {
		return nodePath{}, fmt.Errorf("%q is not a fid path", p)
	}
	fid, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || nodeproto.FIDPath(np.devid, fid) != p {
		return nodePath{}, fmt.Errorf("%q is not a fid path", p)
	}
	return np, nil
}

// parseConcat reads the request body: "dest PATH", optionally "md5", then
// "part SIZE COPY..." lines. URLs are checked against the cluster's hosts
// by the caller.
func parseConcat(body []byte) (*concatReq, error) {
	req := &concatReq{}
	haveDest := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), concatMaxBody)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "dest" && len(f) == 2 && !haveDest:
			np, err := parseFIDPath(f[1])
			if err != nil {
				return nil, concatErrorf(403, "dest: %v", err)
			}
			req.dest, haveDest = np, true
		case f[0] == "md5" && len(f) == 1:
			req.md5 = true
		case f[0] == "part" && len(f) >= 3 && len(f) <= 2+concatMaxCopy:
			p, err := parsePart(f[1:])
			if err != nil {
				return nil, concatErrorf(403, "line %d: %v", line, err)
			}
			if req.parts = append(req.parts, p); len(req.parts) > concatMaxParts {
				return nil, concatErrorf(400, "more than %d parts", concatMaxParts)
			}
		default:
			return nil, concatErrorf(400, "line %d: not dest PATH, md5 or part SIZE COPY...", line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, concatErrorf(400, "read request: %v", err)
	}
	if !haveDest || len(req.parts) == 0 {
		return nil, concatErrorf(400, "a dest and at least one part are needed")
	}
	return req, nil
}

// parsePart reads "SIZE COPY...".
func parsePart(f []string) (concatPart, error) {
	size, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || size < 0 {
		return concatPart{}, fmt.Errorf("bad size %q", f[0])
	}
	p := concatPart{size: size}
	for _, s := range f[1:] {
		if strings.HasPrefix(s, "/") {
			np, err := parseFIDPath(s)
			if err != nil {
				return concatPart{}, err
			}
			p.copies = append(p.copies, concatSource{local: np})
			continue
		}
		if _, err := parseSourceURL(s); err != nil {
			return concatPart{}, err
		}
		p.copies = append(p.copies, concatSource{url: s})
	}
	return p, nil
}

// concat answers POST /_concat. Every answer carries X-Mogile-Concat, so
// that a caller tells a refusal of this node from a server that does not
// know the request (an original node, nginx: 400, 404 or 405).
func (h *handler) concat(w *httpd.ResponseWriter, r *httpd.Request) {
	w.Header(hdrConcat, "1")
	if r.Method != "POST" {
		if !r.BodyDone() {
			w.CloseAfter()
		}
		w.Header("Allow", "POST")
		simple(w, 405, "")
		return
	}
	size, sum, err := h.runConcat(r)
	if err != nil {
		var ce *concatError
		if !errors.As(err, &ce) {
			ce = &concatError{code: 500, msg: err.Error()}
		}
		if !r.BodyDone() {
			w.CloseAfter()
		}
		h.log.Warn("concat refused or failed", "status", ce.code, "err", ce.msg)
		simple(w, ce.code, ce.msg)
		return
	}
	w.HeaderInt(hdrConcatSize, size)
	if sum != "" {
		w.Header(hdrConcatMD5, sum)
	}
	simple(w, 200, "")
}

// runConcat reads and checks the request, then writes the file; it
// returns its size and, when asked, its MD5 in hex.
func (h *handler) runConcat(r *httpd.Request) (int64, string, error) {
	if r.ContentLength > concatMaxBody {
		return 0, "", concatErrorf(413, "request over %d bytes", concatMaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, concatMaxBody+1))
	if err != nil {
		return 0, "", concatErrorf(400, "read request: %v", err)
	}
	if len(body) > concatMaxBody {
		return 0, "", concatErrorf(413, "request over %d bytes", concatMaxBody)
	}
	req, err := parseConcat(body)
	if err != nil {
		return 0, "", err
	}
	for _, p := range req.parts {
		for _, c := range p.copies {
			if c.url == "" {
				continue
			}
			if err := h.concatHosts.check(c.url); err != nil {
				return 0, "", concatErrorf(403, "%v", err)
			}
		}
	}
	return h.writeConcat(req)
}

// writeConcat writes the parts into a temp file beside the destination
// and renames it into place once complete.
func (h *handler) writeConcat(req *concatReq) (int64, string, error) {
	np := req.dest
	parent, name := path.Split(np.sub)
	dir, err := h.root.openPutDir(np.devid, parent)
	if err != nil {
		return 0, "", h.concatFSError(np, err, "open directory")
	}
	defer dir.Close()
	up, err := createTemp(dir, name, h.pid)
	if err != nil {
		return 0, "", h.concatFSError(np, err, "create")
	}
	defer up.discard()
	if req.md5 {
		up.md5 = md5.New()
	}
	bp := h.bufs.get()
	defer h.bufs.put(bp)
	cw := &concatWriter{h: h, up: up, buf: *bp}
	for i, p := range req.parts {
		if err := cw.part(p); err != nil {
			var fe *fsError
			if errors.As(err, &fe) {
				return 0, "", h.concatFSError(np, fe.err, "write")
			}
			return 0, "", concatErrorf(409, "part %d: %v", i+1, err)
		}
	}
	if h.fsync {
		if err := unix.Fsync(up.fd); err != nil {
			return 0, "", h.concatFSError(np, &os.PathError{Op: "fsync", Path: up.tmp, Err: err}, "fsync")
		}
	}
	if err := up.close(); err != nil {
		return 0, "", h.concatFSError(np, err, "close")
	}
	if err := unix.Renameat(dir.fd, up.tmp, dir.fd, name); err != nil {
		return 0, "", h.concatFSError(np, &os.PathError{Op: "rename", Path: np.rel, Err: err}, "rename")
	}
	up.kept = true
	if h.fsync {
		if err := unix.Fsync(dir.fd); err != nil {
			return 0, "", h.concatFSError(np, &os.PathError{Op: "fsync", Path: parent, Err: err}, "fsync directory")
		}
	}
	h.devs.noteWrite(np.devid)
	sum := ""
	if up.md5 != nil {
		sum = hex.EncodeToString(up.md5.Sum(nil))
	}
	return cw.off, sum, nil
}

// concatFSError turns a failure of the destination's file system into
// the answer a PUT would get.
func (h *handler) concatFSError(np nodePath, err error, op string) error {
	code := h.status(err, np.rel, 404)
	if errors.Is(err, syscall.ENOTDIR) {
		code = 409
	}
	if code >= 500 {
		h.devs.noteError(np.devid, err)
	}
	return concatErrorf(code, "%s %s: %v", op, np.rel, err)
}

// fsError marks a failure to write the destination, as opposed to a
// failure to read a part.
type fsError struct{ err error }

func (e *fsError) Error() string { return e.err.Error() }
func (e *fsError) Unwrap() error { return e.err }

// concatWriter appends parts to the temp file.
type concatWriter struct {
	h   *handler
	up  *upload
	buf []byte
	off int64 // bytes written so far
}

// part appends one part from the first of its copies that gives all of
// it; a copy that fails half-way is cut off again before the next is
// tried, and the MD5 is rewound with it.
func (cw *concatWriter) part(p concatPart) error {
	var saved []byte
	if cw.up.md5 != nil {
		saved, _ = cw.up.md5.(encoding.BinaryMarshaler).MarshalBinary()
	}
	start := cw.off
	var errs []error
	for _, c := range p.copies {
		var err error
		if c.url == "" {
			err = cw.local(c.local, p.size)
		} else {
			err = cw.remote(c.url, p.size)
		}
		if err == nil {
			return nil
		}
		var fe *fsError
		if errors.As(err, &fe) {
			return err
		}
		errs = append(errs, err)
		if cw.off != start {
			if err := cw.rewind(start, saved); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("no copy gave its %d bytes: %w", p.size, errors.Join(errs...))
}

// rewind cuts the temp file back to off and restores the MD5's state.
func (cw *concatWriter) rewind(off int64, saved []byte) error {
	if err := unix.Ftruncate(cw.up.fd, off); err != nil {
		return &fsError{&os.PathError{Op: "truncate", Path: cw.up.tmp, Err: err}}
	}
	if _, err := unix.Seek(cw.up.fd, off, io.SeekStart); err != nil {
		return &fsError{&os.PathError{Op: "seek", Path: cw.up.tmp, Err: err}}
	}
	cw.off = off
	if saved != nil {
		cw.up.md5 = md5.New()
		if err := cw.up.md5.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); err != nil {
			return &fsError{fmt.Errorf("restore md5 state: %w", err)}
		}
	}
	return nil
}

// local appends the fid file np of this node, which must be size bytes.
func (cw *concatWriter) local(np nodePath, size int64) error {
	f, err := cw.h.root.openRead(np.rel)
	if err != nil {
		return err
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := fstat(f.fd, &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size != size {
		return fmt.Errorf("%s: not a file of %d bytes", np.rel, size)
	}
	if cw.up.md5 == nil {
		done, err := cw.copyRange(f.fd, size)
		if err != nil || done {
			return err
		}
	}
	return cw.stream(&fdReader{fd: f.fd}, np.rel, size)
}

// copyRange appends size bytes of fd with copy_file_range; done is false
// (and nothing written) when the kernel cannot do it for these files.
func (cw *concatWriter) copyRange(fd int, size int64) (done bool, err error) {
	var off int64
	for off < size {
		n, err := unix.CopyFileRange(fd, &off, cw.up.fd, nil, int(min(size-off, 1<<30)), 0)
		switch {
		case err == unix.EINTR:
			continue
		case off == 0 && (err == unix.EXDEV || err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP):
			return false, nil
		case err != nil:
			return true, &fsError{&os.PathError{Op: "copy_file_range", Path: cw.up.tmp, Err: err}}
		case n == 0:
			return true, fmt.Errorf("source ended after %d bytes of %d", off, size)
		}
		cw.off += int64(n)
	}
	return true, nil
}

// stream appends exactly size bytes of src (what names it is for errors),
// hashing them when the MD5 is asked for.
func (cw *concatWriter) stream(src io.Reader, what string, size int64) error {
	var got int64
	for got < size {
		want := int(min(int64(len(cw.buf)), size-got))
		n, rerr := io.ReadFull(src, cw.buf[:want])
		if n > 0 {
			if _, err := cw.up.Write(cw.buf[:n]); err != nil {
				return &fsError{err}
			}
			if cw.up.md5 != nil {
				cw.up.md5.Write(cw.buf[:n])
			}
			got += int64(n)
			cw.off += int64(n)
		}
		if rerr != nil {
			return fmt.Errorf("%s: ended after %d bytes of %d: %w", what, got, size, rerr)
		}
	}
	var one [1]byte
	if n, _ := src.Read(one[:]); n > 0 {
		return fmt.Errorf("%s: longer than %d bytes", what, size)
	}
	return nil
}

// fdReader reads a bare descriptor.
type fdReader struct{ fd int }

func (r *fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(r.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}
