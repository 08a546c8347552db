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

// headerSource gives a request's header fields (*httpd.Request).
type headerSource interface {
	// Header returns the first field called name, or "".
	Header(name string) string
}

// makePlan applies the conditional headers and the Range header of a GET
// or HEAD (method) as net/http's ServeContent does.
func makePlan(method string, h headerSource, size int64, etag string) plan {
	if st := precondition(method, h, etag); st != 0 {
		return plan{status: st}
	}
	rh := h.Header("Range")
	if rh == "" || !rangeApplies(h, etag) {
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
func writeNonContent(rp *reply, p plan, size int64) {
	switch p.status {
	case http.StatusNotModified:
		// RFC 9110 15.4.5: keep ETag (and caching headers), drop the
		// representation headers.
		rp.ctype = ""
		rp.send(http.StatusNotModified, nil)
	case http.StatusRequestedRangeNotSatisfiable:
		if p.noOverlap {
			rp.contentRange = "bytes */" + strconv.FormatInt(size, 10)
		}
		textError(rp, p.status, "requested range not satisfiable")
	default:
		textError(rp, p.status, "")
	}
}
