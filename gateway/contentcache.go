package gateway

import (
	"container/list"
	"sync"
)

// contentCache keeps the content of small files in memory, by fid. A
// fid's content never changes (a new upload of a key gets a new fid), so a
// cached copy is never stale; which fid a key names is still asked of the
// trackers (through metaCache), so an overwrite or a delete is seen as
// soon as without this cache. Least recently used files go first when
// the byte budget is exceeded.
type contentCache struct {
	maxBytes int64 // budget; <= 0 disables the cache
	maxFile  int64 // larger files are never kept

	mu    sync.Mutex
	bytes int64
	lru   *list.List // of *contentEntry, most recent first
	byFID map[int64]*list.Element
}

type contentEntry struct {
	fid  int64
	data []byte
}

func newContentCache(maxBytes, maxFile int64) *contentCache {
	if maxFile > maxBytes {
		maxFile = maxBytes
	}
	return &contentCache{maxBytes: maxBytes, maxFile: maxFile, lru: list.New(), byFID: map[int64]*list.Element{}}
}

// wants reports whether a file of this size is to be kept.
func (c *contentCache) wants(size int64) bool {
	return c.maxBytes > 0 && size >= 0 && size <= c.maxFile
}

// get returns fid's content if it is cached with the expected size.
func (c *contentCache) get(fid, size int64) ([]byte, bool) {
	if c.maxBytes <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byFID[fid]
	if !ok {
		return nil, false
	}
	ce := e.Value.(*contentEntry)
	if int64(len(ce.data)) != size {
		// Cannot happen for a fid; never serve a wrong length.
		c.remove(e)
		return nil, false
	}
	c.lru.MoveToFront(e)
	return ce.data, true
}

// put keeps data as fid's content. data must not be modified afterwards.
func (c *contentCache) put(fid int64, data []byte) {
	if !c.wants(int64(len(data))) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byFID[fid]; ok {
		c.lru.MoveToFront(e)
		return
	}
	c.byFID[fid] = c.lru.PushFront(&contentEntry{fid: fid, data: data})
	c.bytes += int64(len(data))
	for c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *contentCache) remove(e *list.Element) {
	ce := e.Value.(*contentEntry)
	c.lru.Remove(e)
	delete(c.byFID, ce.fid)
	c.bytes -= int64(len(ce.data))
}
