package sqlstore

import (
	"strings"
	"testing"
)

// strs returns every string of up to n bytes over alphabet.
func strs(alphabet string, n int) []string {
	out := []string{""}
	level := []string{""}
	for range n {
		var next []string
		for _, s := range level {
			for i := range len(alphabet) {
				next = append(next, s+alphabet[i:i+1])
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// TestKeyRanges checks contains and seek against a brute force over every
// short key: contains(k) says whether k starts with a variant of the head
// (followed, for a prefix going on past it, by a byte >= 0x80), seek(k)
// is the smallest start of a range above k.
func TestKeyRanges(t *testing.T) {
	const alphabet = "0ABab\x7f\x80"
	keys := strs(alphabet, 4)
	for _, prefix := range strs("0Ab\x80\x00", 3) {
		for _, fold := range []bool{false, true} {
			kr := newKeyRanges(prefix, fold)
			var starts []string
			for _, v := range strs(alphabet, len(kr.head)) {
				if len(v) == len(kr.head) && (v == kr.head || fold && strings.EqualFold(v, kr.head)) {
					starts = append(starts, v+kr.tail())
				}
			}
			for _, k := range keys {
				in := false
				for _, st := range starts {
					v := st[:len(kr.head)]
					in = in || strings.HasPrefix(k, v) && (!kr.high || len(k) > len(v) && k[len(v)] >= 0x80)
				}
				if got := kr.contains(k); got != in {
					t.Fatalf("prefix %q fold %v: contains(%q) = %v, want %v", prefix, fold, k, got, in)
				}
				if in {
					continue
				}
				want, wantOK := "", false
				for _, st := range starts {
					if st > k && (!wantOK || st < want) {
						want, wantOK = st, true
					}
				}
				if got, ok := kr.seek(k); got != want || ok != wantOK {
					t.Fatalf("prefix %q fold %v: seek(%q) = %q, %v; want %q, %v", prefix, fold, k, got, ok, want, wantOK)
				}
			}
		}
	}
}
