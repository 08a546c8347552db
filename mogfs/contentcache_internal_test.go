package mogfs

import (
	"bytes"
	"testing"
)

// TestContentCacheBound: the cache holds at most its limit, drops the
// least recently used first, and keeps nothing empty or oversized.
func TestContentCacheBound(t *testing.T) {
	c := newContentCache(100)
	a, b, d := bytes.Repeat([]byte("a"), 40), bytes.Repeat([]byte("b"), 40), bytes.Repeat([]byte("d"), 40)
	c.put(1, a)
	c.put(2, b)
	if got, ok := c.get(1); !ok || !bytes.Equal(got, a) { // 1 is now the most recent
		t.Fatalf("fid 1: %q, %v", got, ok)
	}
	c.put(3, d) // 120 bytes: the least recent, fid 2, goes
	if _, ok := c.get(2); ok {
		t.Fatal("fid 2 kept past the bound")
	}
	for fid, want := range map[int64][]byte{1: a, 3: d} {
		if got, ok := c.get(fid); !ok || !bytes.Equal(got, want) {
			t.Fatalf("fid %d: %q, %v", fid, got, ok)
		}
	}
	if c.size() != 80 {
		t.Fatalf("size %d, want 80", c.size())
	}
	c.put(4, nil)
	c.put(5, bytes.Repeat([]byte("x"), 101))
	for _, fid := range []int64{4, 5} {
		if _, ok := c.get(fid); ok {
			t.Fatalf("fid %d kept (empty or past the limit)", fid)
		}
	}
	none := newContentCache(-1)
	none.put(1, a)
	if _, ok := none.get(1); ok || none.size() != 0 {
		t.Fatal("a disabled cache kept content")
	}
}
