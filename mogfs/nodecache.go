package mogfs

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
)

// The node cap. The kernel keeps an inode for every name it has looked
// up, and for every entry READDIRPLUS returned, until it evicts it (under
// memory pressure, or `echo 2 > /proc/sys/vm/drop_caches`) and sends
// FORGET; go-fuse then drops the node. A machine with free memory evicts
// nothing, so a find or a backup over a big domain would keep a node per
// key. mogfs therefore caps the file nodes it keeps: past Config.MaxNodes
// it asks the kernel to drop the entries of the least recently used
// files (FUSE_NOTIFY_INVAL_ENTRY), down to nine tenths of the cap, and the
// kernel forgets those it does not hold for another reason. A file that is
// open, or has staged content, is never asked for: what only memory holds
// (an orphan's content, a write spool, a pending commit) stays until its
// last release. Directories are not capped (dropping the entry of a
// directory that is some process's working directory would make its
// getcwd fail); the kernel forgets them once their entries are gone.

// DefaultMaxNodes is the cap on file nodes when Config.MaxNodes is 0.
const DefaultMaxNodes = 100000

// evictBatch is how many entries the evictor takes from the list at a
// time, so that the list's lock is held briefly.
const evictBatch = 256

// lruState is where a file node stands with the cap (under nodeCache.mu).
type lruState uint8

const (
	lruNone     lruState = iota // not tracked
	lruIn                       // in the list
	lruEvicting                 // asked of the kernel, FORGET not seen yet
)

// lruLinks are a file node's links in the list, guarded by nodeCache.mu
// (as is fileNode.lruState).
type lruLinks struct {
	prev, next *fileNode
}

// nodeCache orders the file nodes by last use and asks the kernel to drop
// the oldest past the cap. Requests only touch the list and wake the
// evictor; the kernel is notified from the evictor's goroutine, never from
// a request (the kernel may hold the directory's lock for that request).
type nodeCache struct {
	max, low int // max 0: no cap

	mu         sync.Mutex
	head, tail *fileNode // most and least recently used
	count      int       // nodes in the list
	pending    int       // nodes asked of the kernel, not forgotten yet

	wake      chan struct{}
	evictions atomic.Int64
	dirs      atomic.Int64 // live directory nodes
}

func newNodeCache(max int) *nodeCache {
	c := &nodeCache{max: max, low: max - max/10, wake: make(chan struct{}, 1)}
	if max > 0 {
		go c.evictLoop()
	}
	return c
}

// files returns the number of live file nodes: in the list, and asked of
// the kernel but not forgotten yet.
func (c *nodeCache) files() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count + c.pending
}

// unlinkLocked takes n out of the list.
func (c *nodeCache) unlinkLocked(n *fileNode) {
	l := &n.lru
	if l.prev != nil {
		l.prev.lru.next = l.next
	} else {
		c.head = l.next
	}
	if l.next != nil {
		l.next.lru.prev = l.prev
	} else {
		c.tail = l.prev
	}
	l.prev, l.next = nil, nil
	c.count--
}

func (c *nodeCache) pushFrontLocked(n *fileNode) {
	l := &n.lru
	l.prev, l.next = nil, c.head
	if c.head != nil {
		c.head.lru.prev = n
	} else {
		c.tail = n
	}
	c.head = n
	c.count++
	n.lruState = lruIn
}

// touch records a use of n (a lookup, getattr or open): it becomes the
// most recently used, and a node asked of the kernel is kept after all.
func (c *nodeCache) touch(n *fileNode) {
	c.mu.Lock()
	switch n.lruState {
	case lruIn:
		if c.head == n {
			c.mu.Unlock()
			return
		}
		c.unlinkLocked(n)
	case lruEvicting:
		c.pending--
	}
	c.pushFrontLocked(n)
	over := c.max > 0 && c.count > c.max
	c.mu.Unlock()
	if over {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// forget drops n, which go-fuse has forgotten (fileNode.OnForget).
func (c *nodeCache) forget(n *fileNode) {
	c.mu.Lock()
	switch n.lruState {
	case lruIn:
		c.unlinkLocked(n)
	case lruEvicting:
		c.pending--
	}
	n.lruState = lruNone
	c.mu.Unlock()
}

func (c *nodeCache) evictLoop() {
	for range c.wake {
		for c.evictSome() {
		}
	}
}

// evictSome asks the kernel to drop up to evictBatch of the least
// recently used files while the list is above the low mark, and reports
// whether more remain to do.
func (c *nodeCache) evictSome() bool {
	var batch []*fileNode
	c.mu.Lock()
	for seen := 0; c.count > c.low && len(batch) < evictBatch && seen < c.count; seen++ {
		n := c.tail
		c.unlinkLocked(n)
		if n.busy() {
			c.pushFrontLocked(n) // open or staged: kept, looked at again later
			continue
		}
		n.lruState = lruEvicting
		c.pending++
		batch = append(batch, n)
	}
	more := c.count > c.low && len(batch) == evictBatch
	c.mu.Unlock()
	for _, n := range batch {
		name, parent := n.Parent()
		var errno syscall.Errno
		if parent == nil {
			errno = syscall.ENOENT // not in the tree (any more)
		} else {
			errno = parent.NotifyEntry(name)
		}
		if errno != 0 {
			// The kernel knows no such entry: nothing will come of
			// it. The node is tracked again at its next use.
			c.mu.Lock()
			if n.lruState == lruEvicting {
				n.lruState = lruNone
				c.pending--
			}
			c.mu.Unlock()
			continue
		}
		c.evictions.Add(1)
	}
	return more
}

// busy reports whether n holds state that only memory has: open
// descriptors or a staged buffer.
func (n *fileNode) busy() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opens > 0 || n.buf != nil || n.staging > 0
}

// OnForget implements fs.NodeOnForgetter: the kernel forgot the file.
func (n *fileNode) OnForget() { n.fsys.nodes.forget(n) }

// OnAdd implements fs.NodeOnAdder: a directory node is made.
func (d *dirNode) OnAdd(ctx context.Context) { d.fsys.nodes.dirs.Add(1) }

// OnForget implements fs.NodeOnForgetter: the kernel forgot the directory.
func (d *dirNode) OnForget() { d.fsys.nodes.dirs.Add(-1) }
