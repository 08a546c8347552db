package sqlstore

// keyRanges describes, for a list_keys prefix on SQLite, the ranges of the
// byte-ordered (BINARY) dkey index that hold every key the prefix's LIKE
// or GLOB can match, so that a listing reads those ranges and skips the
// rest of the domain. The exact filter (LIKE or GLOB, as before) still
// decides which keys of the ranges are answered: the ranges only have to
// hold every match, never to hold matches only.
//
// What SQLite's LIKE and GLOB guarantee, and the ranges rely on: an ASCII
// pattern character (1..0x7F) matches only the same byte, or with LIKE
// (case_sensitive_like off) the other case of an ASCII letter; a key byte
// of 0x80 or more is never read as an ASCII character (SQLite reads
// overlong and broken UTF-8 as U+FFFD or as a character of 0x80 or more).
// A non-ASCII pattern character, on the other hand, matches byte sequences
// other than its own UTF-8 (overlong forms; U+FFFD matches any broken
// sequence), and a NUL ends the pattern. So the ranges are built from head,
// the prefix up to its first NUL or non-ASCII byte: a matching key starts
// with a variant of head (head itself, or with LIKE any mix of cases of
// its letters), followed, when the prefix went on with a non-ASCII byte,
// by a byte of 0x80 or more. The variants of head are at most 2^letters
// ranges, visited in order: a listing seeks from a key outside them to the
// next one (seek), so it reads only keys of the ranges plus one key per
// gap between them.
type keyRanges struct {
	head string
	fold bool // letters of head match in either case (LIKE)
	high bool // a matching key has a byte >= 0x80 after head
}

func newKeyRanges(prefix string, fold bool) keyRanges {
	n := 0
	for n < len(prefix) && prefix[n] != 0 && prefix[n] < 0x80 {
		n++
	}
	return keyRanges{head: prefix[:n], fold: fold, high: n < len(prefix) && prefix[n] >= 0x80}
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// alternatives returns the bytes that may stand at position i of a
// matching key, ascending (upper case sorts before lower case).
func (k keyRanges) alternatives(i int) (lo, hi byte) {
	c := k.head[i]
	if !k.fold || !isLetter(c) {
		return c, c
	}
	return c &^ 0x20, c | 0x20
}

// tail is what follows a variant of head in the smallest key of its range.
func (k keyRanges) tail() string {
	if k.high {
		return "\x80"
	}
	return ""
}

// lowest is the smallest variant of head[i:] (letters in upper case).
func (k keyRanges) lowest(i int) string {
	b := []byte(k.head[i:])
	for j := range b {
		b[j], _ = k.alternatives(i + j)
	}
	return string(b)
}

// first is the smallest key of the first range.
func (k keyRanges) first() string { return k.lowest(0) + k.tail() }

// end is the first key after the last range; ok is false when the ranges
// run to the end of the index (an empty head).
func (k keyRanges) end() (string, bool) {
	if k.head == "" {
		return "", false
	}
	b := []byte(k.head)
	for j := range b {
		_, b[j] = k.alternatives(j)
	}
	b[len(b)-1]++ // an ASCII byte: no carry
	return string(b), true
}

// contains reports whether key lies in one of the ranges.
func (k keyRanges) contains(key string) bool {
	n := len(k.head)
	if len(key) < n || k.high && (len(key) == n || key[n] < 0x80) {
		return false
	}
	for i := range n {
		lo, hi := k.alternatives(i)
		if key[i] != lo && key[i] != hi {
			return false
		}
	}
	return true
}

// seek returns the smallest key of the first range that starts after key,
// a key outside every range; ok is false when no range does.
func (k keyRanges) seek(key string) (next string, ok bool) {
	n := len(k.head)
	t := key[:min(n, len(key))]
	// i: how many leading bytes of t agree with a variant of head.
	i := 0
	for i < len(t) {
		lo, hi := k.alternatives(i)
		if t[i] != lo && t[i] != hi {
			break
		}
		i++
	}
	if i == len(t) {
		// key is a variant of head (or the start of one) that its range
		// does not hold: its range starts after it.
		return t + k.lowest(len(t)) + k.tail(), true
	}
	// Find the last position j <= i where a larger alternative than t[j]
	// exists: the next variant takes it there, and the smallest of each
	// position after.
	for j := i; j >= 0; j-- {
		lo, hi := k.alternatives(j)
		var c byte
		switch {
		case t[j] < lo:
			c = lo
		case t[j] < hi:
			c = hi
		default:
			continue
		}
		return t[:j] + string(c) + k.lowest(j+1) + k.tail(), true
	}
	return "", false
}
