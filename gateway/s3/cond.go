package s3

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// etagMatch reports whether an If-Match / If-None-Match list names etag
// ("*" names any).
func etagMatch(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

// checkConditions evaluates the conditional headers in RFC 9110's order:
// 0 to go on, 412 or 304.
func checkConditions(r *http.Request, etag string, mtime time.Time) int {
	mtime = mtime.Truncate(time.Second)
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagMatch(im, etag) {
			return http.StatusPreconditionFailed
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mtime.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatch(inm, etag) {
			return http.StatusNotModified
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !mtime.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// parseRange reads a Range header for an object of size bytes: the first
// byte, the count, and whether it is a partial answer. Several ranges, or
// a header that is not a byte range, give the whole object (as S3 does);
// an unsatisfiable range is InvalidRange.
func parseRange(h string, size int64) (off, n int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if h == "" || !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	if first == "" {
		k, e := strconv.ParseInt(last, 10, 64)
		if e != nil || k < 0 {
			return 0, size, false, nil
		}
		if k == 0 || size == 0 {
			return 0, 0, false, errInvalidRange
		}
		k = min(k, size)
		return size - k, k, true, nil
	}
	a, e := strconv.ParseInt(first, 10, 64)
	if e != nil || a < 0 {
		return 0, size, false, nil
	}
	if a >= size {
		return 0, 0, false, errInvalidRange
	}
	b := size - 1
	if last != "" {
		b, e = strconv.ParseInt(last, 10, 64)
		if e != nil || b < a {
			return 0, size, false, nil
		}
		b = min(b, size-1)
	}
	return a, b - a + 1, true, nil
}
