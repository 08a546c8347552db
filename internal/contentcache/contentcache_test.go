package contentcache

import "testing"

func TestContentCache(t *testing.T) {
	c := New(100, 40)
	if c.Wants(41) || !c.Wants(40) || !c.Wants(0) {
		t.Fatal("wants: per-file limit")
	}
	c.Put(1, make([]byte, 40))
	c.Put(2, make([]byte, 40))
	if _, ok := c.Get(1, 40); !ok { // 1 is now the most recent
		t.Fatal("fid 1 missing")
	}
	c.Put(3, make([]byte, 40)) // over budget: the least recent (2) goes
	if _, ok := c.Get(2, 40); ok {
		t.Error("fid 2 kept over the budget")
	}
	if _, ok := c.Get(1, 40); !ok {
		t.Error("fid 1 evicted although recently used")
	}
	if _, ok := c.Get(3, 39); ok {
		t.Error("served a cached fid with another length")
	}
	if _, ok := c.Get(3, 40); ok {
		t.Error("entry with a wrong length was kept")
	}
	c.Put(4, make([]byte, 41)) // too large: ignored
	if _, ok := c.Get(4, 41); ok {
		t.Error("kept a file over the per-file limit")
	}
	if c.bytes > 100 {
		t.Errorf("%d bytes kept, budget 100", c.bytes)
	}
	off := New(-1, 40)
	off.Put(1, []byte("x"))
	if _, ok := off.Get(1, 1); ok || off.Wants(1) {
		t.Error("disabled cache keeps files")
	}
}
