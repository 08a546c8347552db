package cache

import (
	"container/list"
	"sync"
)

// Content keeps the content of small files in memory, by fid. A
// fid's content never changes (a new upload of a key gets a new fid), so a
// cached copy is never stale; which fid a key names is still asked of the
// trackers (through Meta), so an overwrite or a delete is seen as
// soon as without this cache. Least recently used files go first when
// the byte budget is exceeded.
type Content struct {
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

// NewContent returns a cache of at most maxBytes (<= 0: disabled) that
// keeps files of at most maxFile bytes.
func NewContent(maxBytes, maxFile int64) *Content {
	if maxFile > maxBytes {
		maxFile = maxBytes
	}
	return &Content{maxBytes: maxBytes, maxFile: maxFile, lru: list.New(), byFID: map[int64]*list.Element{}}
}

// Wants reports whether a file of this size is to be kept.
func (c *Content) Wants(size int64) bool {
	return c.maxBytes > 0 && size >= 0 && size <= c.maxFile
}

// Get returns fid's content if it is cached with the expected size.
func (c *Content) Get(fid, size int64) ([]byte, bool) {
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
func (c *Content) Put(fid int64, data []byte) {
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

func (c *Content) remove(e *list.Element) {
	ce := e.Value.(*contentEntry)
	c.lru.Remove(e)
	delete(c.byFID, ce.fid)
	c.bytes -= int64(len(ce.data))
}

// Bytes is the size of the files kept.
func (c *Content) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Clear drops every file kept.
func (c *Content) Clear() {
	c.mu.Lock()
	c.lru = list.New()
	clear(c.byFID)
	c.bytes = 0
	c.mu.Unlock()
}
