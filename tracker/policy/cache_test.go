package policy

import "testing"

func TestCache(t *testing.T) {
	var c Cache
	p1, err := c.Parse("MultipleHosts(3)")
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := c.Parse("MultipleHosts(3)")
	want, _ := Parse("MultipleHosts(3)")
	if p1 != p2 || p1 != want {
		t.Fatalf("cached %#v, again %#v, want %#v", p1, p2, want)
	}
	if _, err := c.Parse("MultipleHosts("); err == nil {
		t.Fatal("bad policy accepted")
	}
	if _, err := c.Parse("MultipleHosts("); err == nil {
		t.Fatal("bad policy accepted from the cache")
	}
	for i := range maxCached + 10 {
		c.Parse("MultipleDevices(" + string(rune('0'+i%10)) + ")")
	}
	if len(c.m) > maxCached {
		t.Fatalf("%d entries, bound %d", len(c.m), maxCached)
	}
}
