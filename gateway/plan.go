package gateway

import (
	"net/http"
	"strconv"
)

// plan is what a GET or HEAD of a file of known size and entity tag is to
// answer, decided before any storage node is contacted.
type plan struct {
	status int         // 200, 206, 304, 412 or 416
	ranges []byteRange // the parts of a 206 (one, or several for multipart)
	// noOverlap is set on a 416 caused by ranges that all start past
	// the end: the answer then carries "Content-Range: bytes */size".
	noOverlap bool
}

// makePlan applies the conditional headers and the Range header as
// net/http's ServeContent does.
func makePlan(r *http.Request, size int64, etag string) plan {
	if st := precondition(r, etag); st != 0 {
		return plan{status: st}
	}
	rh := r.Header.Get("Range")
	if rh == "" || !rangeApplies(r, etag) {
		return plan{status: http.StatusOK}
	}
	ranges, err := parseRange(rh, size)
	if err == errNoOverlap && size == 0 {
		// An empty file ignores the Range header, as ServeContent
		// does: some clients send one with every request.
		return plan{status: http.StatusOK}
	}
	if err != nil {
		return plan{status: http.StatusRequestedRangeNotSatisfiable, noOverlap: err == errNoOverlap}
	}
	if len(ranges) == 0 || sumRanges(ranges) > size {
		// Asking for more than the whole file (overlapping ranges):
		// send the whole file, as ServeContent does.
		return plan{status: http.StatusOK}
	}
	return plan{status: http.StatusPartialContent, ranges: ranges}
}

// writeNonContent answers the plan's statuses that carry no file content
// (304, 412, 416).
func writeNonContent(w http.ResponseWriter, p plan, size int64) {
	h := w.Header()
	switch p.status {
	case http.StatusNotModified:
		// RFC 9110 15.4.5: keep ETag (and caching headers), drop the
		// representation headers.
		h.Del("Content-Type")
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
	case http.StatusRequestedRangeNotSatisfiable:
		if p.noOverlap {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		}
		textError(w, p.status, "requested range not satisfiable")
	default:
		textError(w, p.status, "")
	}
}

// textError writes a short plain-text error body: the status line and,
// if given, a reason.
func textError(w http.ResponseWriter, status int, reason string) {
	h := w.Header()
	h.Del("ETag")
	h.Del("Accept-Ranges")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	msg := strconv.Itoa(status) + " " + http.StatusText(status)
	if reason != "" {
		msg += ": " + reason
	}
	msg += "\n"
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	w.Write([]byte(msg))
}
