package conffile

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse: any input either fails with an error naming its line or
// splits into entries whose keys are non-empty and trimmed, whose values
// are trimmed, and whose line numbers increase.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a = b\n", "key value with spaces\n", "# c\n\n  x=1\ny\t2\n", "=novalue\n", "a b = c\n",
		"k = v # not a comment\n", "\xff\xfe = \x00\n", "a=\r\nb=\r\n", strings.Repeat("z", 70000) + " = 1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := Parse(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		last := 0
		for _, e := range es {
			if e.Key == "" || e.Key != strings.TrimSpace(e.Key) || e.Value != strings.TrimSpace(e.Value) {
				t.Fatalf("entry %+v not trimmed", e)
			}
			if strings.HasPrefix(e.Key, "#") {
				t.Fatalf("comment taken as entry %+v", e)
			}
			if e.Line <= last {
				t.Fatalf("line %d after line %d", e.Line, last)
			}
			last = e.Line
		}
	})
}
