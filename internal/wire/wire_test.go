package wire

import (
	"errors"
	"reflect"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid": "http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid",
		"a b":       "a+b",
		"a+b&c=d%":  "a%2Bb%26c%3Dd%25",
		"ünï":       "%C3%BCn%C3%AF",
		"x\x00y\n":  "x%00y%0A",
		"back\\s,.": "back\\s,.",
		"":          "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		back, err := Unescape(Escape(in))
		if err != nil || back != in {
			t.Errorf("Unescape(Escape(%q)) = %q, %v", in, back, err)
		}
	}
}

func TestDecodeArgs(t *testing.T) {
	got, err := DecodeArgs("domain=files&key=%2Fa+b&&class=&x=1=2&dup=a&dup=b&path=http://127.0.0.1:7500/dev1/x.fid")
	if err != nil {
		t.Fatal(err)
	}
	want := Args{"domain": "files", "key": "/a b", "class": "", "x": "1", "dup": "a\x00b",
		"path": "http://127.0.0.1:7500/dev1/x.fid"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := DecodeArgs("key=%zz"); !errors.Is(err, ErrBadEscape) {
		t.Errorf("bad escape: err = %v", err)
	}
	if _, err := DecodeArgs("key=abc%4"); !errors.Is(err, ErrBadEscape) {
		t.Errorf("short escape: err = %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest("GET_PATHS domain=d&key=k&noverify=1\r\n")
	if err != nil || r.Cmd != "get_paths" || r.Args.Get("key") != "k" || !r.Args.Bool("noverify") {
		t.Fatalf("got %+v, %v", r, err)
	}
	if r, err := ParseRequest("noop"); err != nil || r.Cmd != "noop" || len(r.Args) != 0 {
		t.Fatalf("noop: %+v, %v", r, err)
	}
	for _, bad := range []string{"", " noop", "no-op x=1", "bad!cmd"} {
		if _, err := ParseRequest(bad); err == nil {
			t.Errorf("ParseRequest(%q) succeeded", bad)
		}
	}
}

func TestReplies(t *testing.T) {
	a, err := ParseReply(FormatOK(Args{"fid": "7", "path": "http://h:1/dev1/x.fid"}))
	if err != nil || a.Get("fid") != "7" || a.Get("path") != "http://h:1/dev1/x.fid" {
		t.Fatalf("OK round trip: %v %v", a, err)
	}
	if got := FormatOK(nil); got != "OK \r\n" {
		t.Errorf("empty OK = %q", got)
	}
	if a, err := ParseReply("OK 12 fid=3"); err != nil || a.Get("fid") != "3" {
		t.Errorf("legacy length: %v %v", a, err)
	}
	_, err = ParseReply(FormatErr("unknown_key", ""))
	var we *Error
	if !errors.As(err, &we) || we.Code != "unknown_key" || we.Text != "unknown_key" {
		t.Fatalf("ERR: %v", err)
	}
	_, err = ParseReply(FormatErr("no_domain", ""))
	if !errors.Is(err, &Error{Code: "no_domain"}) || err.(*Error).Text != "No domain provided" {
		t.Errorf("default text: %v", err)
	}
	if _, err := ParseReply("HELLO"); !errors.Is(err, ErrMalformedReply) {
		t.Errorf("garbage: %v", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"noop", "create_open domain=d&key=k&multi_dest=1", "get_paths domain=%41&key=+",
		"x a=%", "list_keys domain=d&prefix=a%25_&after=", "!stats"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRequest(line)
		if err != nil {
			return
		}
		// A parsed request re-encodes to one that parses to the same thing.
		r2, err := ParseRequest(FormatRequest(r.Cmd, r.Args))
		if err != nil {
			t.Fatalf("re-encoded %q: %v", line, err)
		}
		if r2.Cmd != r.Cmd || !reflect.DeepEqual(r2.Args, r.Args) && len(r.Args) > 0 {
			t.Fatalf("round trip of %q: %+v != %+v", line, r2, r)
		}
	})
}
