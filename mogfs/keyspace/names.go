package keyspace

import (
	"errors"
	"fmt"
	"strings"
)

// Escape is the prefix that marks an escaped file name. See EncodeName.
const Escape = "%%"

// MaxName is the longest file name Linux accepts.
const MaxName = 255

// MaxShortKey is the longest key file.dkey holds. A longer key (a long
// key, docs/mogfs-names.md) lives under a surrogate key in HiddenDir, on
// a tracker that has mogfs_features.
const MaxShortKey = 255

// HiddenDir is the top-level directory of a domain that holds the
// surrogates of long keys; mogfs neither shows nor creates it.
const HiddenDir = ".mogfs"

// surrogatePrefix starts every surrogate key.
const surrogatePrefix = HiddenDir + "/long/"

// IsLong reports whether key is a long key.
func IsLong(key string) bool { return len(key) > MaxShortKey }

// ErrBadName reports a file name that maps to no key segment: a name that
// starts with "%%" but is not the canonical escape of a segment.
var ErrBadName = errors.New("name starting with %% is not a valid mogfs escape")

// Awkward reports whether a key segment (the bytes between two "/" of a
// key) cannot be used as a file name as it is: it is empty, "." or "..",
// contains a NUL byte, or starts with the escape prefix "%%".
func Awkward(seg string) bool {
	return seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, Escape) ||
		strings.IndexByte(seg, 0) >= 0
}

// EncodeName returns the file name of a key segment. A segment that is not
// Awkward is its own name. An awkward segment is written as "%%" followed by
// the segment with "%" as %25, NUL as %00 and, when the whole segment is "."
// or "..", each "." as %2E:
//
//	""      -> "%%"
//	"."     -> "%%%2E"
//	".."    -> "%%%2E%2E"
//	"%%x"   -> "%%%25%25x"
//
// fileOnly selects the form that names only the file of a segment that is
// both a file and a directory (key "a" next to keys "a/..."): the name gets
// the escape prefix whatever the segment, and one more "%" at the end. The
// directory keeps the plain name: "a" is the directory, "%%a%" the file.
func EncodeName(seg string, fileOnly bool) string {
	if !fileOnly && !Awkward(seg) {
		return seg
	}
	var b strings.Builder
	b.Grow(len(seg) + 8)
	b.WriteString(Escape)
	dots := seg == "." || seg == ".."
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '%':
			b.WriteString("%25")
		case c == 0:
			b.WriteString("%00")
		case c == '.' && dots:
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
	if fileOnly {
		b.WriteByte('%')
	}
	return b.String()
}

// DecodeName returns the key segment a file name stands for, and whether
// the name is the file-only form. A name that does not start with "%%" is
// the segment itself. A name that does must be the exact output of
// EncodeName for some segment, or ErrBadName is returned: so every name
// maps to at most one segment and every segment has exactly one name
// (of each form).
func DecodeName(name string) (seg string, fileOnly bool, err error) {
	if !strings.HasPrefix(name, Escape) {
		return name, false, nil
	}
	body := name[len(Escape):]
	// A "%" that ends the name cannot start a %XX triple: it is the
	// file-only mark.
	if strings.HasSuffix(body, "%") {
		fileOnly = true
		body = body[:len(body)-1]
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(body) {
			return "", false, fmt.Errorf("%w: %q", ErrBadName, name)
		}
		hi, ok1 := unhex(body[i+1])
		lo, ok2 := unhex(body[i+2])
		if !ok1 || !ok2 {
			return "", false, fmt.Errorf("%w: %q", ErrBadName, name)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	seg = b.String()
	if EncodeName(seg, fileOnly) != name {
		return "", false, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return seg, fileOnly, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DirPrefix returns the key prefix of the directory named by key: the
// keys inside directory "a/b" all start with "a/b/". The prefix itself,
// holding zero bytes, is the marker key that records an empty directory
// made with mkdir.
func DirPrefix(key string) string { return key + "/" }

// IsMarker reports whether a key of the given size is a directory marker.
func IsMarker(key string, size int64) bool {
	return size == 0 && strings.HasSuffix(key, "/")
}
