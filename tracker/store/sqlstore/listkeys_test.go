package sqlstore

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// trickyKeys are keys list_keys must get right: LIKE and GLOB wildcards,
// spaces (PAD SPACE), bytes below a space, case, NUL, 0x7F, 0xFF and
// (broken, overlong) UTF-8, keys that are prefixes of others.
var trickyKeys = []string{
	"", "a", "A", "a b", "a ", "a  ", "a\t", "a\x01", "a\x00z", "ab", "aB", "Ab", "AB", "abc", "abd", "ab%",
	"ab_", "ab\\", "a%b", "a_b", "a\\b", "%", "_", "\\", " ", "  x", "b", "B", "z", "Z", "zz", "[", "`", "{",
	"~", "\x7f", "\x7fx", "é", "éa", "E", "e", "\xc3\xa9x", "\xe0\x83\xa9", "\xff", "\xff\xff", "\xffa",
	"a\xff", "a\xff\xff", "a\xc3\xa9", "a\x80", "日本", "日本/x", "photo/1", "Photo/2", "PHOTO/3", "photos",
	"photo", "a*", "a?", "a[", "a[b]", "a*b", "*", "?", "a/", "a/\x01", "a/ ", "a/b", "a0",
}

// randomKeys adds keys over a small alphabet, so that prefixes share
// much and every wildcard and case meets every other.
func randomKeys(r *rand.Rand, n int) []string {
	alphabet := []string{"a", "A", "b", "B", " ", "%", "_", "\\", "*", "[", "/", "\x00", "\x01", "\x7f", "\x80", "\xc3\xa9", "\xff"}
	keys := slices.Clone(trickyKeys)
	for range n {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		keys = append(keys, b.String())
	}
	return keys
}

// listKeysOracle is the query list_keys ran before its keys were read from
// a bounded index range: the match over the whole domain, without the index
// (MySQL's index range of LIKE is what is under test there).
func listKeysOracle(t *testing.T, s *Store, raw *sql.DB, prefix, after string, limit int, cs bool) []string {
	t.Helper()
	cond, args := s.d.keyMatch(prefix, cs)
	hint := " NOT INDEXED"
	if s.target.Backend == MySQL {
		hint = " IGNORE INDEX (dkey)"
	}
	args = append(append([]any{1}, args...), after, limit)
	rows, err := raw.Query("SELECT dkey FROM file"+hint+" WHERE dmid = ? AND "+cond+" AND dkey > ? ORDER BY dkey LIMIT ?", args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkListKeys compares ListKeys with the oracle for many prefixes, each
// with afters before, inside and after its range, and pages through each
// prefix two keys at a time.
func checkListKeys(t *testing.T, s *Store, raw *sql.DB, utf8Only bool) {
	ctx := mogfsCtx(t)
	r := rand.New(rand.NewPCG(17, 1))
	var keys []string
	for _, k := range randomKeys(r, 250) {
		if !utf8Only || utf8.ValidString(k) {
			keys = append(keys, k)
		}
	}
	ignore := "INSERT OR IGNORE"
	if s.target.Backend == MySQL {
		ignore = "INSERT IGNORE"
	}
	for i, k := range keys {
		if _, err := raw.Exec(ignore+" INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, 1, ?, 1, 0, 1)", i+1, k); err != nil {
			t.Fatalf("insert %q: %v", k, err)
		}
	}
	prefixes := []string{"", "a", "A", "ab", "a ", "a/", "%", "_", "\\", "a%", "a_", "*", "[", "a[", "a\x00", "\x00",
		"é", "\xc3", "\xff", "a\xff", "a\xff\xff", "日本", "photo", "PHOTO", "Photo/", "z", "\x7f", " ", "~"}
	for range 25 {
		k := keys[r.IntN(len(keys))]
		prefixes = append(prefixes, k[:r.IntN(len(k)+1)])
	}
	for _, prefix := range prefixes {
		afters := []string{"", "0", prefix, prefix + "\xff", "\xff\xff\xff"}
		for range 6 {
			afters = append(afters, keys[r.IntN(len(keys))])
		}
		for _, cs := range []bool{false, true} {
			for _, after := range afters {
				for _, limit := range []int{1, 3, 1000} {
					got, err := s.ListKeys(ctx, 1, prefix, after, limit, cs)
					if err != nil {
						t.Fatal(err)
					}
					want := listKeysOracle(t, s, raw, prefix, after, limit, cs)
					if !slices.Equal(got, want) {
						t.Fatalf("ListKeys(prefix %q, after %q, limit %d, case-sensitive %v) = %q, want %q", prefix, after, limit, cs, got, want)
					}
				}
			}
			var all []string
			for after := ""; ; {
				page, err := s.ListKeys(ctx, 1, prefix, after, 2, cs)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page...)
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1]
			}
			if want := listKeysOracle(t, s, raw, prefix, "", 100000, cs); !slices.Equal(all, want) {
				t.Fatalf("paging prefix %q (case-sensitive %v) gave %q, want %q", prefix, cs, all, want)
			}
		}
	}
}

func TestListKeysRangesSQLite(t *testing.T) {
	path := t.TempDir() + "/mogilefs.sqlite"
	s := mogfsOpen(t, Config{DSN: "DBI:SQLite:dbname=" + path})
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	checkListKeys(t, s, raw, false)
}

func TestListKeysRangesMySQL(t *testing.T) {
	for _, c := range append([]struct {
		charset, collation string
		bytewise           bool
	}{{"latin1", "latin1_swedish_ci", false}, {"utf8mb4", "utf8mb4_unicode_ci", false}}, mogfsCollations...) {
		t.Run(fmt.Sprintf("%s_%s", c.charset, c.collation), func(t *testing.T) {
			t.Parallel()
			cfg, _ := mysqlWithCollation(t, c.charset, c.collation)
			s := mogfsOpen(t, cfg)
			// The store's own pool: its connection character set is the
			// column's, so keys go in and come out as the same bytes.
			checkListKeys(t, s, s.wdb, c.charset == "utf8mb4")
		})
	}
}
