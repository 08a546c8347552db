// Package fidcache is the tracker's in-process cache of key lookups for
// get_paths with noverify=1 (the role memcache plays in the original): it
// maps (domain id, key) to the file's fid, length and the devices holding
// it.
//
// Entries live for a short TTL (a few seconds), so changes made by other
// trackers show up quickly even though they do not invalidate this cache.
// Every change this tracker or its background workers make to a key or a
// fid (delete, rename, create_close, updateclass, a file_on row added or
// removed) must call InvalidateKey or InvalidateFID. A lookup that raced
// with an invalidation is not stored: callers take a token with Begin
// before reading the database and pass it to Put.
package fidcache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is what get_paths needs about a key.
type Entry struct {
	FID    int64
	Length int64
	DevIDs []int
}

type key struct {
	dmid int
	key  string
}

type item struct {
	e       Entry
	expires int64 // unix nanos
}

const nShards = 32

type shard struct {
	mu    sync.RWMutex
	items map[key]item
	byFID map[int64]key
}

// Cache is safe for concurrent use.
type Cache struct {
	ttl      time.Duration
	maxShard int
	seed     maphash.Seed
	gen      atomic.Uint64
	shards   [nShards]shard
}

// New returns a cache whose entries expire after ttl and that holds about
// maxEntries entries at most.
func New(ttl time.Duration, maxEntries int) *Cache {
	c := &Cache{ttl: ttl, maxShard: max(maxEntries/nShards, 16), seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].items = map[key]item{}
		c.shards[i].byFID = map[int64]key{}
	}
	return c
}

func (c *Cache) shardOf(k key) *shard {
	h := maphash.String(c.seed, k.key) ^ uint64(k.dmid)*0x9e3779b97f4a7c15
	return &c.shards[h%nShards]
}

// Get returns the live entry for (dmid, k).
func (c *Cache) Get(dmid int, k string) (Entry, bool) {
	if c == nil {
		return Entry{}, false
	}
	kk := key{dmid, k}
	s := c.shardOf(kk)
	s.mu.RLock()
	it, ok := s.items[kk]
	s.mu.RUnlock()
	if !ok || time.Now().UnixNano() > it.expires {
		return Entry{}, false
	}
	return it.e, true
}

// Begin returns a token to pass to Put after reading the database.
func (c *Cache) Begin() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

// Put stores an entry read from the database, unless an invalidation
// happened since token was taken.
func (c *Cache) Put(token uint64, dmid int, k string, e Entry) {
	if c == nil {
		return
	}
	kk := key{dmid, k}
	s := c.shardOf(kk)
	now := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gen.Load() != token {
		return
	}
	if len(s.items) >= c.maxShard {
		for k2, it := range s.items {
			if now > it.expires || len(s.items) >= c.maxShard {
				delete(s.items, k2)
				if s.byFID[it.e.FID] == k2 {
					delete(s.byFID, it.e.FID)
				}
			}
		}
	}
	s.items[kk] = item{e: e, expires: now + int64(c.ttl)}
	s.byFID[e.FID] = kk
}

// InvalidateKey forgets (dmid, k).
func (c *Cache) InvalidateKey(dmid int, k string) {
	if c == nil {
		return
	}
	c.gen.Add(1)
	kk := key{dmid, k}
	s := c.shardOf(kk)
	s.mu.Lock()
	if it, ok := s.items[kk]; ok {
		delete(s.items, kk)
		if s.byFID[it.e.FID] == kk {
			delete(s.byFID, it.e.FID)
		}
	}
	s.mu.Unlock()
}

// InvalidateFID forgets whatever key maps to fid.
func (c *Cache) InvalidateFID(fid int64) {
	if c == nil {
		return
	}
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		if kk, ok := s.byFID[fid]; ok {
			delete(s.byFID, fid)
			if it, ok := s.items[kk]; ok && it.e.FID == fid {
				delete(s.items, kk)
			}
		}
		s.mu.Unlock()
	}
}

// InvalidateDomain forgets every key of domain dmid (after a change to
// many keys at once, such as a directory rename).
func (c *Cache) InvalidateDomain(dmid int) {
	if c == nil {
		return
	}
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for kk, it := range s.items {
			if kk.dmid != dmid {
				continue
			}
			delete(s.items, kk)
			if s.byFID[it.e.FID] == kk {
				delete(s.byFID, it.e.FID)
			}
		}
		s.mu.Unlock()
	}
}
