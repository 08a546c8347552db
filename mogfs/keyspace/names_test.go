package keyspace

import (
	"errors"
	"testing"
)

func TestEncodeName(t *testing.T) {
	for _, c := range []struct {
		seg      string
		fileOnly bool
		want     string
	}{
		{"c.jpg", false, "c.jpg"},
		{"%20x", false, "%20x"}, // a single % is not the escape
		{"", false, "%%"},
		{".", false, "%%%2E"},
		{"..", false, "%%%2E%2E"},
		{"...", false, "..."},
		{"%%x", false, "%%%25%25x"},
		{"a\x00b", false, "%%a%00b"},
		{"a", true, "%%a%"},
		{"", true, "%%%"},
		{"50%", true, "%%50%25%"},
		{"a.b", true, "%%a.b%"},
	} {
		if got := EncodeName(c.seg, c.fileOnly); got != c.want {
			t.Errorf("EncodeName(%q, %v) = %q, want %q", c.seg, c.fileOnly, got, c.want)
		}
	}
}

func TestDecodeNameRoundTrip(t *testing.T) {
	segs := []string{"", ".", "..", "...", "a", "%", "%%", "%%%", "%%a%", "a%", "x\x00y", "%2E", "a/b"[:1], "ü.txt", "%00"}
	for _, s := range segs {
		for _, fo := range []bool{false, true} {
			name := EncodeName(s, fo)
			got, gfo, err := DecodeName(name)
			if err != nil || got != s || gfo != fo {
				t.Errorf("DecodeName(EncodeName(%q, %v) = %q) = %q, %v, %v", s, fo, name, got, gfo, err)
			}
			if name == "" || name == "." || name == ".." {
				t.Errorf("segment %q got the unusable name %q", s, name)
			}
		}
	}
}

func TestDecodeNameRejects(t *testing.T) {
	// Names with the escape prefix that no segment encodes to: refused, so
	// that a name never silently stands for another key.
	for _, name := range []string{"%%foo%2", "%%%zz", "%%%2e", "%%a%2E", "%%plain", "%%%25", "%%x%00"[:5]} {
		if seg, fo, err := DecodeName(name); !errors.Is(err, ErrBadName) {
			t.Errorf("DecodeName(%q) = %q, %v, %v; want ErrBadName", name, seg, fo, err)
		}
	}
	// "%%%25" would be the escape of "%", which is not awkward; but "%%%25%25"
	// is the escape of "%%".
	if seg, _, err := DecodeName("%%%25%25"); err != nil || seg != "%%" {
		t.Errorf("DecodeName(%%%%%%25%%25) = %q, %v", seg, err)
	}
}

func TestPlainNames(t *testing.T) {
	for _, name := range []string{"a", "b.jpg", "%d", "x%%", ".hidden", "..."} {
		seg, fo, err := DecodeName(name)
		if err != nil || seg != name || fo {
			t.Errorf("DecodeName(%q) = %q, %v, %v", name, seg, fo, err)
		}
	}
}

// TestListerShadow checks how a listing in key order marks files that are
// directories too, however far apart the two entries are.
func TestListerShadow(t *testing.T) {
	l := &Lister{}
	in := []DirEntry{
		{Name: "a"},               // key a: a file that is also a directory
		{Name: "a.jpg"},           // key a.jpg
		{Name: "a-1"},             // keys sort a < a-1 < a.jpg < a/..., but any order works
		{Name: "a", Dir: true},    // keys a/...
		{Name: "b"},               // key b: only a file
		{Name: "c", Dir: true},    // keys c/...
		{Name: "", HasInfo: true}, // the directory's marker (0 bytes): hidden
		{Name: "d"},
	}
	for _, e := range in {
		l.add(e)
	}
	l.done = true
	var got []DirEntry
	for {
		e, err := l.Next(t.Context())
		if err != nil {
			break
		}
		got = append(got, e)
	}
	want := map[string]bool{ // name/dir -> shadowed
		"a|f": true, "a.jpg|f": false, "a-1|f": false, "a|d": false, "b|f": false, "c|d": false, "d|f": false,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for _, e := range got {
		k := e.Name + "|f"
		if e.Dir {
			k = e.Name + "|d"
		}
		sh, ok := want[k]
		if !ok {
			t.Errorf("unexpected entry %+v", e)
			continue
		}
		if e.Shadowed != sh {
			t.Errorf("entry %s: shadowed = %v, want %v", k, e.Shadowed, sh)
		}
		delete(want, k)
	}
}
