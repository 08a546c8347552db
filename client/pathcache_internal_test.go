package client

import (
	"testing"
	"time"
)

func TestPathCacheBoundAndGenerations(t *testing.T) {
	pc := newPathCache(time.Minute, 3)
	for i, k := range []string{"a", "b", "c", "d"} {
		pc.put(pathKey{"d", k}, int64(i+1), 10, []string{"http://n/" + k})
	}
	if pc.len() != 3 {
		t.Fatalf("%d entries, want the bound 3", pc.len())
	}
	if _, ok := pc.get(pathKey{"d", "a"}); ok {
		t.Fatal("the oldest entry was not evicted")
	}
	if e, ok := pc.get(pathKey{"d", "d"}); !ok || e.fid != 4 || e.paths[0] != "http://n/d" {
		t.Fatalf("newest entry: %+v, %v", e, ok)
	}
	// A lookup that began before the key changed does not put the old
	// answer back.
	start := pc.begin()
	pc.drop(pathKey{"d", "b"})
	pc.putLookup(pathKey{"d", "b"}, start, 2, 10, []string{"http://n/old"})
	if _, ok := pc.get(pathKey{"d", "b"}); ok {
		t.Fatal("a lookup older than the drop refilled the entry")
	}
	pc.putLookup(pathKey{"d", "b"}, pc.begin(), 5, 10, []string{"http://n/new"})
	if e, ok := pc.get(pathKey{"d", "b"}); !ok || e.fid != 5 {
		t.Fatalf("a later lookup: %+v, %v", e, ok)
	}
	// dropIf leaves a newer fid alone.
	pc.dropIf(pathKey{"d", "b"}, 2)
	if _, ok := pc.get(pathKey{"d", "b"}); !ok {
		t.Fatal("dropIf of an older fid dropped the entry")
	}
	pc.dropIf(pathKey{"d", "b"}, 5)
	if _, ok := pc.get(pathKey{"d", "b"}); ok {
		t.Fatal("dropIf of the entry's fid kept it")
	}
	if newPathCache(-1, 0) != nil {
		t.Fatal("a negative TTL should turn the cache off")
	}
}

func TestPathCacheExpiry(t *testing.T) {
	pc := newPathCache(50*time.Millisecond, 10)
	// Taken before put: the entry expires no earlier than 50 ms after it.
	put := time.Now()
	pc.put(pathKey{"d", "a"}, 1, 1, []string{"http://n/a"})
	for {
		_, ok := pc.get(pathKey{"d", "a"})
		if !ok {
			break
		}
		if time.Since(put) > 10*time.Second {
			t.Fatal("entry never expired")
		}
	}
	if d := time.Since(put); d < 50*time.Millisecond {
		t.Fatalf("expired after %v", d)
	}
	if pc.len() != 0 {
		t.Fatalf("%d entries left after expiry", pc.len())
	}
}
