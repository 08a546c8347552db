package fidcache

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	c := New(time.Hour, 1000)
	tok := c.Begin()
	c.Put(tok, 1, "a", Entry{FID: 10, Length: 5, DevIDs: []int{1, 2}})
	if e, ok := c.Get(1, "a"); !ok || e.FID != 10 || len(e.DevIDs) != 2 {
		t.Fatalf("get: %v %v", e, ok)
	}
	if _, ok := c.Get(2, "a"); ok {
		t.Fatal("domains must not share keys")
	}
	c.InvalidateFID(10)
	if _, ok := c.Get(1, "a"); ok {
		t.Fatal("entry survives InvalidateFID")
	}
	c.Put(c.Begin(), 1, "b", Entry{FID: 11})
	c.InvalidateKey(1, "b")
	if _, ok := c.Get(1, "b"); ok {
		t.Fatal("entry survives InvalidateKey")
	}
	// A lookup that started before an invalidation is not stored.
	tok = c.Begin()
	c.InvalidateKey(1, "other")
	c.Put(tok, 1, "c", Entry{FID: 12})
	if _, ok := c.Get(1, "c"); ok {
		t.Fatal("stale lookup stored")
	}
	// Expiry.
	short := New(10*time.Millisecond, 1000)
	short.Put(short.Begin(), 1, "a", Entry{FID: 1})
	time.Sleep(20 * time.Millisecond)
	if _, ok := short.Get(1, "a"); ok {
		t.Fatal("entry outlives its TTL")
	}
	// Bounded size.
	small := New(time.Hour, 32*16)
	for i := 0; i < 100000; i++ {
		small.Put(small.Begin(), 1, string(rune('a'+i%26))+string(rune(i)), Entry{FID: int64(i)})
	}
	n := 0
	for i := range small.shards {
		n += len(small.shards[i].items)
	}
	if n > 32*16 {
		t.Fatalf("%d entries, limit %d", n, 32*16)
	}
	var nilCache *Cache
	nilCache.Put(nilCache.Begin(), 1, "x", Entry{})
	if _, ok := nilCache.Get(1, "x"); ok {
		t.Fatal("nil cache returned an entry")
	}
}
