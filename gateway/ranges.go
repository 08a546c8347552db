package gateway

import (
	"errors"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// byteRange is one satisfiable range of a file: length bytes from start.
type byteRange struct {
	start, length int64
}

func (r byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.start+r.length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

var (
	errInvalidRange = errors.New("invalid range")
	// errNoOverlap: every range starts at or after the end of the file.
	errNoOverlap = errors.New("invalid range: failed to overlap")
)

// parseRange parses a Range header against a file of size bytes, with the
// rules of net/http's ServeContent (so the gateway answers as mogstored
// and any Go file server do): a header that is not "bytes=…" or has a
// malformed range is an error (416); ranges past the end are dropped and
// only if all are, errNoOverlap (416 with "Content-Range: bytes */size");
// a range running past the end is cut at the end; "-n" is the last n
// bytes. An empty header gives no ranges.
func parseRange(s string, size int64) ([]byteRange, error) {
	if s == "" {
		return nil, nil
	}
	spec, ok := strings.CutPrefix(s, "bytes=")
	if !ok {
		return nil, errInvalidRange
	}
	var out []byteRange
	noOverlap := false
	for _, ra := range strings.Split(spec, ",") {
		ra = textproto.TrimString(ra)
		if ra == "" {
			continue
		}
		first, last, ok := strings.Cut(ra, "-")
		if !ok {
			return nil, errInvalidRange
		}
		first, last = textproto.TrimString(first), textproto.TrimString(last)
		var r byteRange
		if first == "" {
			// Suffix range "-n": the last n bytes.
			if last == "" || last[0] == '-' {
				return nil, errInvalidRange
			}
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				return nil, errInvalidRange
			}
			if n > size {
				n = size
			}
			r.start = size - n
			r.length = size - r.start
		} else {
			i, err := strconv.ParseInt(first, 10, 64)
			if err != nil || i < 0 {
				return nil, errInvalidRange
			}
			if i >= size {
				// Starts past the end: skip it, but remember.
				noOverlap = true
				continue
			}
			r.start = i
			if last == "" {
				r.length = size - r.start
			} else {
				j, err := strconv.ParseInt(last, 10, 64)
				if err != nil || r.start > j {
					return nil, errInvalidRange
				}
				if j >= size {
					j = size - 1
				}
				r.length = j - r.start + 1
			}
		}
		out = append(out, r)
	}
	if noOverlap && len(out) == 0 {
		return nil, errNoOverlap
	}
	return out, nil
}

func sumRanges(rs []byteRange) int64 {
	var n int64
	for _, r := range rs {
		n += r.length
	}
	return n
}

// etagMatch compares two entity tags, strongly or weakly.
func etagMatch(a, b string, weak bool) bool {
	if weak {
		a, b = strings.TrimPrefix(a, "W/"), strings.TrimPrefix(b, "W/")
	} else if strings.HasPrefix(a, "W/") || strings.HasPrefix(b, "W/") {
		return false
	}
	return a == b && a != ""
}

// scanETag returns the first entity tag of a list header value and the
// rest, or "" if the value does not start with one.
func scanETag(s string) (etag, rest string) {
	s = textproto.TrimString(s)
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s[start:]) < 2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x21 || c >= 0x23 && c <= 0x7E || c >= 0x80:
		case c == '"':
			return s[:i+1], s[i+1:]
		default:
			return "", ""
		}
	}
	return "", ""
}

// listMatches reports whether the If-Match/If-None-Match value list
// contains etag ("*" matches any existing file).
func listMatches(list, etag string, weak bool) bool {
	for {
		list = textproto.TrimString(list)
		if list == "" {
			return false
		}
		if list[0] == ',' {
			list = list[1:]
			continue
		}
		if list[0] == '*' {
			return true
		}
		t, rest := scanETag(list)
		if t == "" {
			return false
		}
		if etagMatch(t, etag, weak) {
			return true
		}
		list = rest
	}
}

// precondition evaluates If-Match and If-None-Match (the gateway has no
// modification times, so the date conditions do not apply) and returns
// the status to answer instead of the file, or 0 to go on.
func precondition(method string, h headerSource, etag string) int {
	if im := h.Header("If-Match"); im != "" && !listMatches(im, etag, false) {
		return http.StatusPreconditionFailed
	}
	if inm := h.Header("If-None-Match"); inm != "" && listMatches(inm, etag, true) {
		if method == http.MethodGet || method == http.MethodHead {
			return http.StatusNotModified
		}
		return http.StatusPreconditionFailed
	}
	return 0
}

// rangeApplies reports whether the Range header is to be honoured: there
// is no If-Range, or it names the current entity tag (strong comparison).
// An If-Range date never matches, as the gateway has no dates.
func rangeApplies(h headerSource, etag string) bool {
	ir := h.Header("If-Range")
	if ir == "" {
		return true
	}
	t, _ := scanETag(ir)
	return t != "" && etagMatch(t, etag, false)
}
