package client

import (
	"container/list"
	"sync"
	"time"
)

// Defaults of the path cache.
const (
	DefaultPathCacheTTL     = 2 * time.Second
	DefaultPathCacheEntries = 100_000
)

// pathKey names a cached key.
type pathKey struct{ domain, key string }

// pathEntry is what the client learned about a key: its fid, length and
// the URLs of its copies. A tombstone (dropped) remembers only that the key
// changed, so that a lookup that started before the change cannot put the
// old answer back.
type pathEntry struct {
	fid     int64
	size    int64 // -1 when unknown
	paths   []string
	expires time.Time
	gen     uint64 // the cache generation that wrote the entry
	// complete: the paths are a lookup's answer (get_paths, /_key),
	// not the one copy this client just wrote.
	complete bool
	dropped  bool
	elem     *list.Element // in pathCache.order
}

// pathCache maps (domain, key) to the key's fid and paths for a short time
// (PathCacheTTL), bounded in entries; the oldest entries are evicted first.
// It is shared by a client and its WithDomain copies. A nil *pathCache is a
// disabled cache.
type pathCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	gen     uint64
	entries map[pathKey]*pathEntry
	order   *list.List // of pathKey, oldest first
}

func newPathCache(ttl time.Duration, max int) *pathCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = DefaultPathCacheTTL
	}
	if max <= 0 {
		max = DefaultPathCacheEntries
	}
	return &pathCache{ttl: ttl, max: max, entries: make(map[pathKey]*pathEntry), order: list.New()}
}

// get returns a copy of key's live entry.
func (pc *pathCache) get(k pathKey) (pathEntry, bool) {
	if pc == nil {
		return pathEntry{}, false
	}
	now := time.Now()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e := pc.entries[k]
	if e == nil {
		return pathEntry{}, false
	}
	if !now.Before(e.expires) {
		pc.remove(k, e)
		return pathEntry{}, false
	}
	if e.dropped {
		return pathEntry{}, false
	}
	return *e, true
}

// begin returns the generation a lookup starts at, for putLookup.
func (pc *pathCache) begin() uint64 {
	if pc == nil {
		return 0
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.gen
}

// put records what this client just wrote or was told with authority
// (its own Store), replacing whatever was there.
func (pc *pathCache) put(k pathKey, fid, size int64, paths []string) {
	if pc == nil || len(paths) == 0 {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.gen++
	pc.set(k, &pathEntry{fid: fid, size: size, paths: paths, gen: pc.gen})
}

// putLookup records a lookup's answer (get_paths, /_key) unless the key
// changed through this client since the lookup began at generation start.
func (pc *pathCache) putLookup(k pathKey, start uint64, fid, size int64, paths []string) {
	if pc == nil || len(paths) == 0 {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if e := pc.entries[k]; e != nil && e.gen > start && time.Now().Before(e.expires) {
		return
	}
	pc.gen++
	pc.set(k, &pathEntry{fid: fid, size: size, paths: paths, gen: pc.gen, complete: true})
}

// drop forgets key: this client changed it, or a cached path turned out
// gone. A tombstone keeps lookups that began earlier from refilling it.
func (pc *pathCache) drop(k pathKey) {
	if pc == nil {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.gen++
	pc.set(k, &pathEntry{gen: pc.gen, dropped: true})
}

// dropIf forgets key if its entry still names fid (a read that failed on
// the paths of fid must not drop a newer entry); an unknown fid (0) on
// either side drops it.
func (pc *pathCache) dropIf(k pathKey, fid int64) {
	if pc == nil {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if e := pc.entries[k]; e != nil && !e.dropped && (fid == 0 || e.fid == 0 || e.fid == fid) {
		pc.gen++
		pc.set(k, &pathEntry{gen: pc.gen, dropped: true})
	}
}

// set stores e under k as the newest entry and evicts the oldest ones
// beyond the bound, and expired ones at the old end. pc.mu is held.
func (pc *pathCache) set(k pathKey, e *pathEntry) {
	now := time.Now()
	e.expires = now.Add(pc.ttl)
	if old := pc.entries[k]; old != nil {
		pc.order.Remove(old.elem)
	}
	e.elem = pc.order.PushBack(k)
	pc.entries[k] = e
	for front := pc.order.Front(); front != nil; front = pc.order.Front() {
		fk := front.Value.(pathKey)
		fe := pc.entries[fk]
		if len(pc.entries) <= pc.max && now.Before(fe.expires) {
			break
		}
		pc.remove(fk, fe)
	}
}

func (pc *pathCache) remove(k pathKey, e *pathEntry) {
	pc.order.Remove(e.elem)
	delete(pc.entries, k)
}

// len returns the number of entries (tombstones included), for tests.
func (pc *pathCache) len() int {
	if pc == nil {
		return 0
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.entries)
}
