package gateway

import (
	"errors"
	"net/url"
	"testing"
)

func TestLayoutParse(t *testing.T) {
	def := Layout{Prefix: "/"}
	pre := Layout{Prefix: "/mog/"}
	fixed := Layout{Prefix: "/files/", Domain: "files"}
	last := Layout{Prefix: "/", KeyFrom: KeyFromLastSegment}
	fixedLast := Layout{Prefix: "/img/", Domain: "pics", KeyFrom: KeyFromLastSegment}
	tests := []struct {
		l           Layout
		path        string
		domain, key string
		err         error
	}{
		{def, "/files/passwd.html", "files", "passwd.html", nil},
		{def, "/files/a/b/c.jpg", "files", "a/b/c.jpg", nil},
		{def, "/files/a%2Fb", "files", "a/b", nil},
		{def, "/files/a%20b%3F%23%25.txt", "files", "a b?#%.txt", nil},
		{def, "/files/%FF%00x", "files", "\xff\x00x", nil},
		{def, "/files//double", "files", "/double", nil},
		{def, "/files/trailing/", "files", "trailing/", nil},
		{def, "/files/", "files", "", errNoKey},
		{def, "/files", "files", "", errNoKey},
		{def, "/", "", "", errNoDomain},
		{def, "//key", "", "", errNoDomain},
		{def, "/dom%2Fain/k", "dom/ain", "k", nil},
		{pre, "/mog/files/k", "files", "k", nil},
		{pre, "/mog", "", "", errNoDomain},
		{pre, "/other/files/k", "", "", errOutsidePrefix},
		{pre, "/mogx/files/k", "", "", errOutsidePrefix},
		{fixed, "/files/a/b.jpg", "files", "a/b.jpg", nil},
		{fixed, "/files/", "files", "", errNoKey},
		{last, "/files/x/y/z.jpg", "files", "z.jpg", nil},
		{last, "/files/z.jpg", "files", "z.jpg", nil},
		{last, "/files/x/a%2Fb", "files", "a/b", nil},
		{last, "/files/x/", "files", "", errNoKey},
		{fixedLast, "/img/2024/05/cat.png", "pics", "cat.png", nil},
		{fixedLast, "/img/cat.png", "pics", "cat.png", nil},
	}
	for _, tt := range tests {
		d, k, err := tt.l.Parse(tt.path)
		if !errors.Is(err, tt.err) {
			t.Errorf("%v.Parse(%q) error = %v, want %v", tt.l, tt.path, err, tt.err)
			continue
		}
		if err == nil && (d != tt.domain || k != tt.key) {
			t.Errorf("%v.Parse(%q) = %q, %q; want %q, %q", tt.l, tt.path, d, k, tt.domain, tt.key)
		}
	}
}

// Path and Parse are inverses, for keys with every kind of character,
// through the escaping a real HTTP client applies to the path.
func TestLayoutRoundTrip(t *testing.T) {
	keys := []string{
		"plain.txt", "a/b/c", "sp ace", "pct%41", "q?x#y", "semi;colon=1&a+b",
		"ünïcödé/日本.jpg", "\xff\xfe bytes", "..", "../x", "a//b", "/lead", "trail/",
		"tab\there", "nl\nx", "%2F", "~user", "*", "@:,$!'()",
	}
	layouts := []Layout{
		{Prefix: "/"}, {Prefix: "/mog/"}, {Prefix: "/f/", Domain: "d"},
		{Prefix: "/", KeyFrom: KeyFromLastSegment}, {Prefix: "/x/", Domain: "d", KeyFrom: KeyFromLastSegment},
	}
	for _, l := range layouts {
		for _, key := range keys {
			p := l.Path("dom ain", key)
			// What a server sees: the request line parsed by net/url.
			u, err := url.ParseRequestURI(p)
			if err != nil {
				t.Errorf("%v: Path(%q) = %q is not a valid request URI: %v", l, key, p, err)
				continue
			}
			d, k, err := l.Parse(u.EscapedPath())
			if err != nil {
				t.Errorf("%v: Parse(Path(%q) = %q): %v", l, key, p, err)
				continue
			}
			wantDomain := "dom ain"
			if l.Domain != "" {
				wantDomain = l.Domain
			}
			if k != key || d != wantDomain {
				t.Errorf("%v: key %q -> %q -> %q, %q", l, key, p, d, k)
			}
		}
	}
}

func TestNormalizePrefix(t *testing.T) {
	for in, want := range map[string]string{"": "/", "/": "/", "files": "/files/", "/a/b": "/a/b/", "/x/": "/x/"} {
		got, err := NormalizePrefix(in)
		if err != nil || got != want {
			t.Errorf("NormalizePrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"/a b/", "/%41/", "/a?b", "/ü/"} {
		if _, err := NormalizePrefix(bad); err == nil {
			t.Errorf("NormalizePrefix(%q): no error", bad)
		}
	}
}

func TestParseKeyFrom(t *testing.T) {
	for s, want := range map[string]KeyFrom{"path": KeyFromPath, "": KeyFromPath, "last-segment": KeyFromLastSegment} {
		if got, err := ParseKeyFrom(s); err != nil || got != want {
			t.Errorf("ParseKeyFrom(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseKeyFrom("segment"); err == nil {
		t.Error("ParseKeyFrom(segment): no error")
	}
}
