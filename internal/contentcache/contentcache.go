// Package contentcache keeps the bytes of small files in memory by fid,
// for the readers that can skip a storage node's GET when they hold them:
// the gateway and its S3 API (what they served), and mogfs (what a mount
// wrote). A fid names one content forever (an upload of a key gets a new
// fid), so an entry is never stale; which fid a key names is always asked
// of the trackers by the caller.
package contentcache

import (
	"container/list"
	"sync"
)

// Cache keeps the content of small files by fid, within a byte budget:
// the least recently used files go first when it is exceeded. Safe for
// concurrent use.
type Cache struct {
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

// New returns a cache of at most maxBytes (<= 0: disabled) that
// keeps files of at most maxFile bytes.
func New(maxBytes, maxFile int64) *Cache {
	if maxFile > maxBytes {
		maxFile = maxBytes
	}
	return &Cache{maxBytes: maxBytes, maxFile: maxFile, lru: list.New(), byFID: map[int64]*list.Element{}}
}

// Wants reports whether a file of this size is to be kept.
func (c *Cache) Wants(size int64) bool {
	return c.maxBytes > 0 && size >= 0 && size <= c.maxFile
}

// Get returns fid's content if it is cached with the expected size.
func (c *Cache) Get(fid, size int64) ([]byte, bool) {
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

// Put keeps data as fid's content. data must not be modified afterwards.
func (c *Cache) Put(fid int64, data []byte) {
	if !c.Wants(int64(len(data))) {
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

func (c *Cache) remove(e *list.Element) {
	ce := e.Value.(*contentEntry)
	c.lru.Remove(e)
	delete(c.byFID, ce.fid)
	c.bytes -= int64(len(ce.data))
}

// Bytes is the size of the files kept.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Clear drops every file kept.
func (c *Cache) Clear() {
	c.mu.Lock()
	c.lru = list.New()
	clear(c.byFID)
	c.bytes = 0
	c.mu.Unlock()
}
