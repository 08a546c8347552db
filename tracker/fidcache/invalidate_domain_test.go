package fidcache

import (
	"testing"
	"time"
)

func TestInvalidateDomain(t *testing.T) {
	c := New(time.Hour, 1000)
	for i, k := range []string{"a", "b/c", "d"} {
		c.Put(c.Begin(), 1, k, Entry{FID: int64(10 + i)})
	}
	c.Put(c.Begin(), 2, "a", Entry{FID: 20})
	tok := c.Begin()
	c.InvalidateDomain(1)
	for _, k := range []string{"a", "b/c", "d"} {
		if _, ok := c.Get(1, k); ok {
			t.Fatalf("key %q of domain 1 survives InvalidateDomain", k)
		}
	}
	if e, ok := c.Get(2, "a"); !ok || e.FID != 20 {
		t.Fatalf("domain 2 lost its entry: %v %v", e, ok)
	}
	// A lookup that started before the invalidation is not stored.
	c.Put(tok, 1, "a", Entry{FID: 99})
	if _, ok := c.Get(1, "a"); ok {
		t.Fatal("stale lookup stored after InvalidateDomain")
	}
	// InvalidateFID still finds nothing stale to trip over.
	c.InvalidateFID(11)
	var nilCache *Cache
	nilCache.InvalidateDomain(1)
}
