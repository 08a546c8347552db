package wire

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Args are the decoded arguments of a request or an OK reply.
type Args map[string]string

// Get returns the value of k, or "" if absent.
func (a Args) Get(k string) string { return a[k] }

// Has reports whether k is present (possibly with an empty value).
func (a Args) Has(k string) bool { _, ok := a[k]; return ok }

// Bool reports whether k holds a true value as the original tracker reads
// booleans: present, non-empty and not "0".
func (a Args) Bool(k string) bool {
	v := a[k]
	return v != "" && v != "0"
}

const upperhex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '_', ',', '-', '.', '/', '\\', ':', ' ':
		return true
	}
	return false
}

// Escape encodes s the way the original tracker and clients do.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 && !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('+')
		case unreserved(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(upperhex[c>>4])
			b.WriteByte(upperhex[c&15])
		}
	}
	return b.String()
}

// ErrBadEscape reports a malformed %-escape.
var ErrBadEscape = errors.New("wire: malformed %-escape")

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

// Unescape decodes one encoded token: "+" becomes a space and %XX a byte.
// A "%" not followed by two hex digits is an error (the original passes it
// through; we refuse it so that a client bug cannot silently change a key).
func Unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "+%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("%w at byte %d", ErrBadEscape, i)
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("%w at byte %d", ErrBadEscape, i)
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// DecodeArgs parses a "k=v&k=v" argument string.
func DecodeArgs(s string) (Args, error) {
	a := make(Args)
	for len(s) > 0 {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if i := strings.IndexByte(v, '='); i >= 0 {
			// The original splits on "=" into at most two pieces and keeps
			// only those: "a=b=c" gives a => "b".
			v = v[:i]
		}
		key, err := Unescape(k)
		if err != nil {
			return nil, err
		}
		val, err := Unescape(v)
		if err != nil {
			return nil, err
		}
		if old, ok := a[key]; ok {
			val = old + "\x00" + val
		}
		a[key] = val
	}
	return a, nil
}

// EncodeArgs encodes args as "k=v&k=v", keys sorted so output is stable.
func EncodeArgs(a Args) string {
	if len(a) == 0 {
		return ""
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(Escape(k))
		b.WriteByte('=')
		b.WriteString(Escape(a[k]))
	}
	return b.String()
}

// Request is one parsed tracker request line.
type Request struct {
	Cmd  string // lower-cased command word
	Args Args
}

// ErrUnknownCommand reports a line whose first word is not a command word.
var ErrUnknownCommand = errors.New("wire: not a command line")

// ParseRequest parses a request line without its line ending. The command
// must be one or more word characters ([A-Za-z0-9_]); it is lower-cased.
func ParseRequest(line string) (Request, error) {
	line = strings.TrimRight(line, "\r\n")
	cmd, rest, _ := strings.Cut(line, " ")
	if cmd == "" {
		return Request{}, ErrUnknownCommand
	}
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return Request{}, ErrUnknownCommand
		}
	}
	args, err := DecodeArgs(strings.TrimSpace(rest))
	if err != nil {
		return Request{}, err
	}
	return Request{Cmd: strings.ToLower(cmd), Args: args}, nil
}

// FormatRequest returns the request line for cmd and args, with "\r\n".
func FormatRequest(cmd string, a Args) string {
	return cmd + " " + EncodeArgs(a) + "\r\n"
}

// FormatOK returns an OK reply line with "\r\n".
func FormatOK(a Args) string { return "OK " + EncodeArgs(a) + "\r\n" }

// FormatErr returns an ERR reply line with "\r\n". An empty text is sent as
// the code's default text (see DefaultText), or the code itself.
func FormatErr(code, text string) string {
	if text == "" {
		text = DefaultText(code)
	}
	return "ERR " + code + " " + Escape(text) + "\r\n"
}

// Error is an ERR reply: a code such as "unknown_key" and its decoded text.
type Error struct {
	Code string
	Text string
}

func (e *Error) Error() string {
	if e.Text == "" || e.Text == e.Code {
		return e.Code
	}
	return e.Code + ": " + e.Text
}

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Text == "" || t.Text == e.Text)
}

// ErrMalformedReply reports a reply line that is neither OK nor ERR.
var ErrMalformedReply = errors.New("wire: malformed reply")

// ParseReply parses a reply line (line ending optional). An ERR reply is
// returned as a *Error. A legacy length number after "OK" is tolerated.
func ParseReply(line string) (Args, error) {
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "OK"):
		rest := strings.TrimLeft(line[2:], " ")
		if line != "OK" && line[2] != ' ' {
			return nil, fmt.Errorf("%w: %q", ErrMalformedReply, truncate(line))
		}
		// Optional legacy "<digits> " prefix.
		if i := strings.IndexByte(rest, ' '); i > 0 && isDigits(rest[:i]) {
			rest = strings.TrimLeft(rest[i+1:], " ")
		}
		if strings.IndexByte(rest, ' ') >= 0 {
			rest = rest[:strings.IndexByte(rest, ' ')]
		}
		return DecodeArgs(rest)
	case strings.HasPrefix(line, "ERR "):
		f := strings.Fields(line[4:])
		if len(f) == 0 {
			return nil, fmt.Errorf("%w: %q", ErrMalformedReply, truncate(line))
		}
		e := &Error{Code: f[0]}
		if len(f) > 1 {
			t, err := Unescape(f[1])
			if err != nil {
				t = f[1]
			}
			e.Text = t
		}
		return nil, e
	}
	return nil, fmt.Errorf("%w: %q", ErrMalformedReply, truncate(line))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
