package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ListKeys returns keys of dmid starting with prefix and greater than
// after, ascending in the order of the dkey index, at most limit: the
// original's LIKE (or, case-sensitive, GLOB on SQLite and LIKE BINARY on
// MySQL), read from an index range bounded by the prefix and starting at
// after, so that a page costs what it returns whatever the domain's size.
// It runs in a scan slot (scan), never on the connections of point reads.
func (s *Store) ListKeys(ctx context.Context, dmid int, prefix, after string, limit int, caseSensitive bool) ([]string, error) {
	var out []string
	err := s.scan(ctx, func(r *runner) error {
		var err error
		if s.target.Backend == SQLite {
			out, err = listKeysSQLite(r, s.d, dmid, prefix, after, limit, caseSensitive)
		} else {
			out, err = listKeysMySQL(ctx, s, r, dmid, prefix, after, limit, caseSensitive)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list keys %q after %q in domain %d: %w", prefix, after, dmid, err)
	}
	return out, nil
}

// listKeysMySQL: the server derives the index range of a LIKE prefix from
// the column's collation itself (and intersects it with dkey > after). The
// case-sensitive LIKE BINARY cannot use the index (it compares in another
// collation than the index's), so the collation's LIKE is added as the
// range: it holds every key LIKE BINARY matches, since bytes that are equal
// are equal in any collation.
//
// Except under a PAD SPACE *_bin collation (latin1_bin, utf8mb4_bin): there
// a key continuing the prefix with a byte below a space sorts before the
// prefix ("a\x01" < "a"), and the server's LIKE range, which starts at the
// prefix, leaves such keys out. There the range is padSpaceBounds' and the
// match LIKE BINARY, which the index cannot serve and which in a *_bin
// collation answers as its LIKE does for a prefix pattern.
func listKeysMySQL(ctx context.Context, s *Store, r *runner, dmid int, prefix, after string, limit int, caseSensitive bool) ([]string, error) {
	if _, err := s.keysBytewise(ctx); err != nil {
		return nil, err
	}
	s.mogfs.mu.Lock()
	padBin, charset := s.mogfs.padBin, s.mogfs.charset
	s.mogfs.mu.Unlock()
	cond := "dkey LIKE ? ESCAPE ?"
	args := []any{dmid, likePrefix(prefix), `\`}
	switch {
	case padBin:
		cond = "dkey LIKE BINARY ? ESCAPE ?"
		lo, hi, hasLo, hasHi := padSpaceBounds(prefix, charset)
		if hasLo {
			cond += " AND dkey > ?"
			args = append(args, lo)
		}
		if hasHi {
			cond += " AND dkey < ?"
			args = append(args, hi)
		}
	case caseSensitive:
		cond += " AND dkey LIKE BINARY ? ESCAPE ?"
		args = append(args, likePrefix(prefix), `\`)
	}
	args = append(args, after, limit)
	return queryKeys(r, "SELECT dkey FROM file WHERE dmid = ? AND "+cond+" AND dkey > ? ORDER BY dkey LIMIT ?", args...)
}

// padSpaceBounds returns an index range, dkey > lo AND dkey < hi, that
// holds every key starting with prefix under a PAD SPACE binary collation
// of charset (latin1 and ascii: bytes; utf8*: characters), which compares
// a shorter string as if padded with spaces. With prefix = q c s, where c
// is the last character above a space: every key q c s r is greater than
// q (at c, q has a pad space), and with prefix = q' d e, where d is the
// last character that has a successor d+1 in the charset: every key is
// less than q' (d+1). Other charsets give no bounds.
func padSpaceBounds(prefix, charset string) (lo, hi string, hasLo, hasHi bool) {
	var chars []rune
	switch {
	case charset == "latin1" || charset == "ascii":
		for i := range len(prefix) {
			chars = append(chars, rune(prefix[i]))
		}
	case strings.HasPrefix(charset, "utf8") && utf8.ValidString(prefix):
		chars = []rune(prefix)
	default:
		return "", "", false, false
	}
	enc := func(cs []rune) string {
		if charset == "latin1" || charset == "ascii" {
			b := make([]byte, len(cs))
			for i, c := range cs {
				b[i] = byte(c)
			}
			return string(b)
		}
		return string(cs)
	}
	for i := len(chars) - 1; i >= 0; i-- {
		if chars[i] > ' ' {
			lo, hasLo = enc(chars[:i]), true
			break
		}
	}
	top := rune(0xFF)
	if charset == "ascii" {
		top = 0x7F
	} else if charset != "latin1" {
		top = utf8.MaxRune
	}
	for i := len(chars) - 1; i >= 0; i-- {
		next := chars[i] + 1
		if next == 0xD800 {
			next = 0xE000 // no surrogates in UTF-8
		}
		if chars[i] < top {
			hi, hasHi = enc(append(chars[:i:i], next)), true
			break
		}
	}
	return lo, hi, hasLo, hasHi
}

func queryKeys(r *runner, q string, args ...any) ([]string, error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// listKeysSQLite reads the ranges of keyRanges from the (dmid, dkey)
// index in order, starting at after, with the exact LIKE or GLOB of the
// prefix evaluated on each key read; a key outside the ranges makes it
// seek to the next range.
func listKeysSQLite(r *runner, d dialect, dmid int, prefix, after string, limit int, caseSensitive bool) ([]string, error) {
	kr := newKeyRanges(prefix, !caseSensitive)
	match, matchArgs := d.keyMatch(prefix, caseSensitive)
	end, bounded := kr.end()
	cur, incl := kr.first(), true
	if after >= cur {
		cur, incl = after, false
	}
	var out []string
	for len(out) < limit {
		if bounded && cur >= end {
			break
		}
		q := "SELECT dkey, " + match + " FROM file WHERE dmid = ? AND dkey > ?"
		if incl {
			q = "SELECT dkey, " + match + " FROM file WHERE dmid = ? AND dkey >= ?"
		}
		args := append(append([]any{}, matchArgs...), dmid, cur)
		if bounded {
			q += " AND dkey < ?"
			args = append(args, end)
		}
		want := limit - len(out)
		args = append(args, want)
		page, next, more, err := readRange(r, q+" ORDER BY dkey LIMIT ?", args, kr, want)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if !more {
			break
		}
		cur, incl = next.key, next.incl
	}
	return out, nil
}

// cursor is where the next read of a listing starts.
type cursor struct {
	key  string
	incl bool // the read starts at key itself, not after it
}

// readRange runs one read of listKeysSQLite: it returns the matching keys
// and, when more may follow, where the next read starts.
func readRange(r *runner, q string, args []any, kr keyRanges, want int) (page []string, next cursor, more bool, err error) {
	rows, err := r.query(q, args...)
	if err != nil {
		return nil, cursor{}, false, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k string
		var ok bool
		if err := rows.Scan(&k, &ok); err != nil {
			return nil, cursor{}, false, err
		}
		n++
		next = cursor{key: k}
		if ok {
			page = append(page, k)
			continue
		}
		if kr.contains(k) {
			continue
		}
		seek, found := kr.seek(k)
		if !found {
			return page, cursor{}, false, rows.Err()
		}
		if seek > k {
			return page, cursor{key: seek, incl: true}, true, rows.Err()
		}
	}
	return page, next, n == want, rows.Err()
}
