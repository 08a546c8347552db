package mogstored

import (
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// handler answers the storage node's HTTP requests. Status codes follow
// the original (Perlbal's web_server as mogstored configures it):
//
//	GET/HEAD  200, 206 for a single satisfiable byte range, 416 for an
//	          unsatisfiable one, 304 for If-Modified-Since, 404 when missing,
//	          200 "Directory listing disabled" for a directory and for "/"
//	          (the original mogadm check fetches "/" to see a node answer);
//	          repeated slashes in the path count as one, as in a file name;
//	PUT       200, or 201 when a Content-MD5 header was checked; 400 on an
//	          MD5 mismatch or a bad name; 404 when the device does not exist;
//	DELETE    204, 404 when missing;
//	MKCOL     400, as in the original: the tracker reads 400 as "this server
//	          needs no MKCOL" and stops sending them; PUT creates directories;
//	other     405 (the original said 400).
//
// Beyond the original: 507 when the disk is full, 403 when the device is
// read-only or a path tries to leave the docroot, 408 when a body stalls,
// 431 for oversized headers (from httpd).
type handler struct {
	root  *docRoot
	fsync bool
	log   *slog.Logger
	devs  *deviceStates
	bufs  copyBufs
	pid   string    // os.Getpid() in decimal, for temp file names
	fp    *fastPath // nil: the fast path is off
	// concatHosts and concatHTTP serve /_concat (concat.go).
	concatHosts *clusterHosts
	concatHTTP  *http.Client
}

const allowed = "GET, HEAD, PUT, DELETE, MKCOL"

// dirListingDisabled is the text of the answer to a GET of a directory.
const dirListingDisabled = "Directory listing disabled"

func (h *handler) ServeHTTP(w *httpd.ResponseWriter, r *httpd.Request) {
	if len(r.Path) > 2 && r.Path[1] == '_' {
		if r.Path == "/_concat" {
			h.concat(w, r)
			return
		}
		if h.fastPath(w, r) {
			return
		}
	}
	switch r.Method {
	case "GET", "HEAD":
		h.get(w, r)
	case "PUT":
		h.put(w, r)
	case "DELETE":
		h.delete(w, r)
	case "MKCOL":
		simple(w, 400, "")
	default:
		w.Header("Allow", allowed)
		simple(w, 405, "")
	}
}

// simple sends the original's short HTML answer: "<h1>404 - Not Found</h1>".
func simple(w *httpd.ResponseWriter, code int, msg string) {
	if code == 204 || code == 304 {
		w.Respond(code, nil)
		return
	}
	w.Header("Content-Type", "text/html")
	body := make([]byte, 0, 48+len(msg))
	body = append(body, "<h1>"...)
	body = strconv.AppendInt(body, int64(code), 10)
	body = append(body, " - "...)
	body = append(body, httpd.StatusText(code)...)
	body = append(body, "</h1>\n"...)
	body = append(body, msg...)
	w.Respond(code, body)
}

func (h *handler) get(w *httpd.ResponseWriter, r *httpd.Request) {
	// A read names a file as the original's does, by docroot + path, so
	// repeated slashes are one (the original mogadm check fetches
	// "http://node:7500//dev1/usage").
	p := r.Path
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if p == "/" {
		simple(w, 200, dirListingDisabled)
		return
	}
	np, err := parseNodePath(p)
	if errors.Is(err, errNotDevice) {
		simple(w, 404, "")
		return
	}
	if err != nil {
		simple(w, 400, "Invalid filename")
		return
	}
	f, err := h.root.openRead(np.rel)
	if err != nil {
		code := h.status(err, np.rel, 404)
		if code == 500 {
			h.log.Error("open failed", "path", r.Path, "device", np.devid, "err", err)
		}
		simple(w, code, "")
		return
	}
	defer f.Close()
	h.serveOpen(w, r, np, f)
}

// serveOpen answers a GET or HEAD of np with the open file f.
func (h *handler) serveOpen(w *httpd.ResponseWriter, r *httpd.Request, np nodePath, f roFile) {
	var st syscall.Stat_t
	if err := fstat(f.fd, &st); err != nil {
		h.log.Error("fstat failed", "path", r.Path, "device", np.devid, "err", err)
		simple(w, 500, "")
		return
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		simple(w, 200, dirListingDisabled)
		return
	default:
		simple(w, 404, "")
		return
	}
	size := st.Size
	mtime := time.Unix(st.Mtim.Unix())
	w.HeaderTime("Last-Modified", mtime)
	if notModified(r.Header("If-Modified-Since"), mtime) {
		w.Respond(304, nil)
		return
	}
	w.Header("Accept-Ranges", "bytes")
	start, end, status := parseRange(r.Header("Range"), size)
	switch status {
	case 416:
		w.Header("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		w.Respond(416, nil)
		return
	case 206:
		w.Header("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+
			strconv.FormatInt(size, 10))
	default:
		start, end = 0, size-1
	}
	w.Header("Content-Type", contentType(np.rel))
	if err := w.RespondFile(status, f.fd, start, end-start+1); err != nil && !isClientGone(err) {
		h.log.Warn("GET incomplete", "path", r.Path, "device", np.devid, "sent", w.Sent(), "err", err)
	}
}

// notModified implements If-Modified-Since at one-second resolution.
func notModified(ims string, mtime time.Time) bool {
	if ims == "" {
		return false
	}
	// Old IE appends "; length=N"; the original compared it too. Drop it.
	if i := strings.IndexByte(ims, ';'); i >= 0 {
		ims = ims[:i]
	}
	t, err := time.Parse(httpd.TimeFormat, strings.TrimSpace(ims))
	if err != nil {
		return false
	}
	return !mtime.Truncate(time.Second).After(t)
}

// parseRange reads a single "bytes=a-b" range for a file of size bytes and
// returns the inclusive range and 206, or 416 when it cannot be satisfied,
// or 200 (serve the whole file) when there is no usable Range header.
// "bytes=-n" is the last n bytes (RFC 9110; the original read it as
// 0-n). Several ranges are answered with the whole file, which RFC 9110
// allows.
func parseRange(h string, size int64) (int64, int64, int) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.IndexByte(spec, ',') >= 0 {
		return 0, 0, 200
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, 200
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	switch {
	case a == "" && b == "":
		return 0, 0, 200
	case a == "":
		n, ok := num(b)
		if !ok {
			return 0, 0, 200
		}
		if n == 0 || size == 0 {
			return 0, 0, 416
		}
		return max(size-n, 0), size - 1, 206
	}
	start, ok := num(a)
	if !ok {
		return 0, 0, 200
	}
	end := size - 1
	if b != "" {
		e, ok := num(b)
		if !ok {
			return 0, 0, 200
		}
		if e < start {
			return 0, 0, 416
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, 416
	}
	return start, end, 206
}

// contentType is the original's choice: by extension, text/plain when
// unknown (.fid files are text/plain).
func contentType(name string) string {
	switch strings.ToLower(strings.TrimPrefix(path.Ext(name), ".")) {
	case "html", "htm":
		return "text/html"
	case "css":
		return "text/css"
	case "js":
		return "application/x-javascript"
	case "xml":
		return "text/xml"
	case "gif":
		return "image/gif"
	case "jpg", "jpeg":
		return "image/jpeg"
	case "png":
		return "image/png"
	case "bmp":
		return "image/bmp"
	case "tif", "tiff":
		return "image/tiff"
	case "ico":
		return "image/x-icon"
	case "mp3":
		return "audio/mpeg"
	case "mp4":
		return "video/mp4"
	case "pdf":
		return "application/pdf"
	case "zip":
		return "application/zip"
	case "gz":
		return "application/x-gzip"
	}
	return "text/plain"
}

// status is errorStatus, also telling a path refused for leaving the
// docroot (403, logged) from an unexplained failure (500).
func (h *handler) status(err error, rel string, missing int) int {
	code := errorStatus(err, missing)
	if code == 500 && h.root.escapesAny(rel) {
		code = 403
	}
	if code == 403 && (isEscape(err) || h.root.escapesAny(rel)) {
		h.log.Warn("refused a path leaving the docroot", "path", "/"+rel, "err", err)
	}
	return code
}

// errorStatus maps a file-system error to a status code; missing is the
// code for "does not exist".
func errorStatus(err error, missing int) int {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENOTDIR):
		return missing
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return 507
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM),
		isEscape(err):
		return 403
	case errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.EEXIST), errors.Is(err, syscall.ENOTEMPTY):
		return 409
	case errors.Is(err, syscall.ENAMETOOLONG):
		return 400
	}
	return 500
}

func isClientGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || httpd.IsTimeout(err)
}

func (h *handler) delete(w *httpd.ResponseWriter, r *httpd.Request) {
	np, err := parseNodePath(r.Path)
	switch {
	case errors.Is(err, errNotDevice):
		simple(w, 404, "")
		return
	case err != nil || np.sub == "" || np.dir:
		simple(w, 400, "Invalid filename")
		return
	}
	dev, err := h.root.device(np.devid)
	if err != nil {
		simple(w, h.status(err, np.rel, 404), "")
		return
	}
	defer dev.Close()
	st, err := dev.Lstat(np.sub)
	if err == nil && st.IsDir() {
		simple(w, 400, "Is a directory")
		return
	}
	if err == nil {
		err = dev.Remove(np.sub)
	}
	if err != nil {
		code := h.status(err, np.rel, 404)
		if code != 404 {
			h.log.Warn("DELETE failed", "path", r.Path, "device", np.devid, "err", err)
			h.devs.noteError(np.devid, err)
		}
		simple(w, code, "")
		return
	}
	simple(w, 204, "")
}
