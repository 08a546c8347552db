package mogfs

import (
	"container/list"
	"sync"
)

// DefaultContentCache is the bytes of small files' content a mount keeps
// after committing them (Config.ContentCache).
const DefaultContentCache = 64 << 20

// contentCache keeps the content of small files this mount committed,
// keyed by fid, so that reading a file back after writing it (the
// kernel's page cache holds no page of a write-only descriptor's writes,
// nor the partial last page of any) costs no GET. A fid names one
// immutable content and is never given to another file, so an entry can
// only be out of date by being unused: the open's lookup still decides
// which fid a descriptor reads (close-to-open), and entries of replaced
// or deleted versions leave as the least recently used. Safe for
// concurrent use; a nil *contentCache keeps nothing.
type contentCache struct {
	limit int64

	mu    sync.Mutex
	used  int64
	lru   *list.List // of *contentEntry, most recent first
	byFid map[int64]*list.Element
}

type contentEntry struct {
	fid  int64
	data []byte
}

// newContentCache returns a cache of at most limit bytes (nil for
// limit <= 0: nothing is kept).
func newContentCache(limit int64) *contentCache {
	if limit <= 0 {
		return nil
	}
	return &contentCache{limit: limit, lru: list.New(), byFid: make(map[int64]*list.Element)}
}

// put keeps data as the content of fid. data must not change afterwards.
func (c *contentCache) put(fid int64, data []byte) {
	if c == nil || fid <= 0 || len(data) == 0 || int64(len(data)) > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byFid[fid]; ok {
		c.lru.MoveToFront(e)
		return
	}
	c.byFid[fid] = c.lru.PushFront(&contentEntry{fid: fid, data: data})
	c.used += int64(len(data))
	for c.used > c.limit {
		last := c.lru.Back()
		ent := last.Value.(*contentEntry)
		c.lru.Remove(last)
		delete(c.byFid, ent.fid)
		c.used -= int64(len(ent.data))
	}
}

// get returns the content of fid if it is kept. The slice is shared: the
// caller must not change it.
func (c *contentCache) get(fid int64) ([]byte, bool) {
	if c == nil || fid <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byFid[fid]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*contentEntry).data, true
}

// size returns the bytes kept.
func (c *contentCache) size() int64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
