package s3

import (
	"net/url"
	"testing"
)

// TestPartSizes: the part sizes kept with a multipart object encode as
// runs, read back, and locate each part; malformed or inconsistent
// fields are refused.
func TestPartSizes(t *testing.T) {
	const mib = 1 << 20
	mk := func(sizes ...int64) []part {
		var ps []part
		for i, s := range sizes {
			ps = append(ps, part{num: i + 1, size: s})
		}
		return ps
	}
	for _, c := range []struct {
		sizes []int64
		enc   string
	}{
		{[]int64{5 * mib, 5 * mib, mib}, "5242880x2,1048576"},
		{[]int64{7}, "7"},
		{[]int64{6 * mib, 5 * mib, 5 * mib, 6 * mib, 0}, "6291456,5242880x2,6291456,0"},
	} {
		ps := mk(c.sizes...)
		enc := encodePartSizes(ps)
		if enc != c.enc {
			t.Errorf("encode %v: %q, want %q", c.sizes, enc, c.enc)
		}
		var total int64
		for _, s := range c.sizes {
			total += s
		}
		runs, ok := parsePartSizes(enc, total)
		if !ok {
			t.Fatalf("parse %q: refused", enc)
		}
		var off int64
		for i, s := range c.sizes {
			o, n, count, ok := locatePart(runs, i+1)
			if !ok || o != off || n != s || count != len(c.sizes) {
				t.Errorf("%q part %d: %d+%d of %d (%v), want %d+%d", enc, i+1, o, n, count, ok, off, s)
			}
			off += s
		}
		if _, _, _, ok := locatePart(runs, len(c.sizes)+1); ok {
			t.Errorf("%q: part %d found", enc, len(c.sizes)+1)
		}
		if _, ok := parsePartSizes(enc, total+1); ok {
			t.Errorf("%q accepted for another total", enc)
		}
	}
	for _, bad := range []string{"", "x2", "5x", "5x0", "-1", "5,,5", "5x10001", "1x5000,1x5001", "a"} {
		if _, ok := parsePartSizes(bad, 10); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	// Kept with the object's headers, dropped from a copy's, kept by an
	// in-place metadata change.
	h := withPartSizes("content-type=text%2Fplain", mk(5*mib, 1))
	v, _ := url.ParseQuery(h)
	if v.Get(partSizesField) != "5242880,1" || v.Get("content-type") != "text/plain" {
		t.Fatalf("withPartSizes: %q", h)
	}
	if got := withoutPartSizes(v); got != "content-type=text%2Fplain" {
		t.Fatalf("withoutPartSizes: %q", got)
	}
	if got, _ := url.ParseQuery(keepPartSizes("x-amz-meta-a=b", v)); got.Get(partSizesField) != "5242880,1" || got.Get("x-amz-meta-a") != "b" {
		t.Fatalf("keepPartSizes: %v", got)
	}
	// Past the tracker's limit the sizes are left out.
	big := make([]part, maxPartNum)
	for i := range big {
		big[i] = part{num: i + 1, size: int64(5*mib + i)}
	}
	if got := withPartSizes("a=b", big); got != "a=b" {
		t.Fatalf("withPartSizes over the limit: %d bytes", len(got))
	}
}
