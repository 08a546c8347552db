package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// KeyFrom says which part of the URL path is the key.
type KeyFrom int

const (
	// KeyFromPath takes the whole rest of the path after the domain
	// (without its leading slash): /files/a/b.jpg is key "a/b.jpg".
	KeyFromPath KeyFrom = iota
	// KeyFromLastSegment takes only the last path segment:
	// /files/a/b.jpg is key "b.jpg".
	KeyFromLastSegment
)

// ParseKeyFrom parses "path" or "last-segment".
func ParseKeyFrom(s string) (KeyFrom, error) {
	switch s {
	case "path", "":
		return KeyFromPath, nil
	case "last-segment":
		return KeyFromLastSegment, nil
	}
	return 0, fmt.Errorf("key-from %q: want path or last-segment", s)
}

func (k KeyFrom) String() string {
	if k == KeyFromLastSegment {
		return "last-segment"
	}
	return "path"
}

// Layout maps URL paths to (domain, key) and back.
type Layout struct {
	// Prefix is the location served, starting and ending with "/".
	Prefix string
	// Domain, when set, is the only domain served and the URL carries
	// no domain segment.
	Domain string
	// KeyFrom picks the key out of the rest of the path.
	KeyFrom KeyFrom
}

// Errors of Layout.Parse.
var (
	errOutsidePrefix = errors.New("path is outside the served location")
	errNoDomain      = errors.New("no domain in the path")
	errNoKey         = errors.New("no key in the path")
	errBadEscape     = errors.New("bad percent-encoding in the path")
)

// NormalizePrefix checks a location prefix and gives it a leading and a
// trailing slash. Only unreserved URL characters and "/" are allowed, so
// that the prefix reads the same escaped or not.
func NormalizePrefix(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c == '/' || c == '-' || c == '_' || c == '.' || c == '~' ||
			'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return "", fmt.Errorf("prefix %q: only letters, digits, '/', '-', '_', '.' and '~' are allowed", p)
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// Parse returns the domain and key named by an escaped URL path (as sent
// on the request line, before percent-decoding).
func (l Layout) Parse(escaped string) (domain, key string, err error) {
	rest, ok := strings.CutPrefix(escaped, l.Prefix)
	if !ok {
		// "/files" names the location "/files/" itself.
		if escaped+"/" == l.Prefix {
			rest, ok = "", true
		}
		if !ok {
			return "", "", errOutsidePrefix
		}
	}
	domain = l.Domain
	if domain == "" {
		seg, after, _ := strings.Cut(rest, "/")
		if domain, err = url.PathUnescape(seg); err != nil {
			return "", "", errBadEscape
		}
		if domain == "" {
			return "", "", errNoDomain
		}
		rest = after
	}
	if l.KeyFrom == KeyFromLastSegment {
		rest = rest[strings.LastIndexByte(rest, '/')+1:]
	}
	if key, err = url.PathUnescape(rest); err != nil {
		return "", "", errBadEscape
	}
	if key == "" {
		return domain, "", errNoKey
	}
	return domain, key, nil
}

// Path returns the escaped URL path of key in domain (domain is ignored
// when the layout fixes one). With KeyFromLastSegment any "/" in the key
// is escaped, so that the key stays one segment.
func (l Layout) Path(domain, key string) string {
	var b strings.Builder
	b.WriteString(l.Prefix)
	if l.Domain == "" {
		b.WriteString(url.PathEscape(domain))
		b.WriteByte('/')
	}
	if l.KeyFrom == KeyFromLastSegment {
		b.WriteString(url.PathEscape(key))
		return b.String()
	}
	for i, seg := range strings.Split(key, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// String describes the layout for logs and errors: "/<domain>/<key>".
func (l Layout) String() string {
	d := "<domain>/"
	if l.Domain != "" {
		d = ""
	}
	k := "<key>"
	if l.KeyFrom == KeyFromLastSegment {
		k = "…/<key>"
	}
	s := l.Prefix + d + k
	if l.Domain != "" {
		s += " (domain " + l.Domain + ")"
	}
	return s
}
