package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzEscape: Escape output uses only the original's safe bytes and '+'
// and '%XX', and Unescape gives back the input; Unescape of anything
// either fails with ErrBadEscape or returns a string.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "a b+c%d", "/dev1/0/000/000/0000000001.fid", "\x00\xff\r\n", "%zz", "%4", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for i := 0; i < len(e); i++ {
			c := e[i]
			if c == ' ' || !unreserved(c) && c != '+' && c != '%' {
				t.Fatalf("Escape(%q) = %q holds byte %q", s, e, c)
			}
			if c == '%' && (i+2 >= len(e) || strings.IndexByte(upperhex, e[i+1]) < 0 || strings.IndexByte(upperhex, e[i+2]) < 0) {
				t.Fatalf("Escape(%q) = %q has a bad escape at %d", s, e, i)
			}
		}
		back, err := Unescape(e)
		if err != nil || back != s {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, back, err)
		}
		if u, err := Unescape(s); err != nil {
			if !errors.Is(err, ErrBadEscape) {
				t.Fatalf("Unescape(%q): unexpected error %v", s, err)
			}
		} else if !strings.ContainsAny(s, "%+") && u != s {
			t.Fatalf("Unescape(%q) = %q changed a string without escapes", s, u)
		}
	})
}

// FuzzDecodeArgs: decoding never panics, and what decodes re-encodes to
// an argument string that decodes to the same arguments.
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{"", "a=b&c=d", "a=b=c", "k=1&k=2", "&&=&", "key=%00%ff+x", "x=%", "%41=%42"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := DecodeArgs(s)
		if err != nil {
			if !errors.Is(err, ErrBadEscape) {
				t.Fatalf("DecodeArgs(%q): unexpected error %v", s, err)
			}
			return
		}
		enc := EncodeArgs(a)
		if strings.ContainsAny(enc, " \r\n\t") {
			t.Fatalf("EncodeArgs(%v) = %q holds white space", a, enc)
		}
		b, err := DecodeArgs(enc)
		if err != nil {
			t.Fatalf("DecodeArgs(EncodeArgs(%v)) = %v", a, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip of %q: %v became %v", s, a, b)
		}
	})
}

// FuzzParseReply: ParseReply never panics on any line; replies formatted
// by FormatOK and FormatErr parse back to what was formatted.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"OK ", "OK", "OK 12 a=b", "ERR unknown_key unknown_key", "ERR", "ERR  ", "OKa=b",
		"ERR bad %zz", "OK a=%", "ERR dup Duplicate+name/number+used. 77"} {
		f.Add(s, "k", "v", "code", "some text")
	}
	f.Fuzz(func(t *testing.T, line, k, v, code, text string) {
		if a, err := ParseReply(line); err == nil && a == nil {
			t.Fatalf("ParseReply(%q) = nil args and no error", line)
		}
		want := Args{k: v}
		got, err := ParseReply(FormatOK(want))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseReply(FormatOK(%v)) = %v, %v", want, got, err)
		}
		if code == "" || strings.IndexFunc(code, func(r rune) bool { return !(r == '_' || r < 128 && isWordByte(byte(r))) }) >= 0 {
			return
		}
		_, err = ParseReply(FormatErr(code, text))
		var e *Error
		if !errors.As(err, &e) || e.Code != code {
			t.Fatalf("ParseReply(FormatErr(%q, %q)) = %v", code, text, err)
		}
		if text != "" && e.Text != text {
			t.Fatalf("ParseReply(FormatErr(%q, %q)) text = %q", code, text, e.Text)
		}
	})
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
