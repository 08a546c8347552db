package mogfs

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
)

// The node cap. The kernel keeps an inode for every name it has looked
// up, and for every entry READDIRPLUS returned, until it evicts it (under
// memory pressure, or `echo 2 > /proc/sys/vm/drop_caches`) and sends
// FORGET; go-fuse then drops the node. A machine with free memory evicts
// nothing, so a find or a backup over a big domain would keep a node per
// key, and go-fuse keeps each directory's index of children at its
// largest until the directory is forgotten. mogfs therefore caps the
// nodes it keeps: past Config.MaxNodes it asks the kernel to forget the
// least recently used (FUSE_NOTIFY_PRUNE, which drops only the entries
// no process uses: not a working directory, not an open file, not a
// directory with entries still cached), down to nine tenths of the cap.
// A file that is open or has staged content is not even asked for: what
// only memory holds (an orphan's content, a write spool, a pending
// commit) stays until its last release. A kernel without
// FUSE_NOTIFY_PRUNE (FUSE protocol 7.45) has idle files' entries invalidated by
// name instead (FUSE_NOTIFY_INVAL_ENTRY), and directories left to it
// (invalidating a working directory would make its getcwd fail).

// DefaultMaxNodes is the cap on nodes when Config.MaxNodes is 0.
const DefaultMaxNodes = 100000

// evictBatch is how many entries the evictor takes from the list at a
// time, so that the list's lock is held briefly.
const evictBatch = 256

// A node the kernel kept when asked (a directory whose entries were
// still cached, a working directory) is asked again while the mount is
// over its cap, after retryMin and then after twice as long each time
// nothing came of it, up to retryMax. Without that the mount could stay
// over its cap until the next lookup: nothing else starts a pass.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 30 * time.Second
)

// lruState is where a node stands with the cap (under nodeCache.mu).
type lruState uint8

const (
	lruNone     lruState = iota // not tracked
	lruIn                       // in the list
	lruEvicting                 // in the list, asked of the kernel, FORGET not seen yet
)

// lruLinks are a node's place in the list, guarded by nodeCache.mu.
type lruLinks struct {
	prev, next *lruLinks
	in         *fs.Inode
	state      lruState
}

// nodeCache orders the file and directory nodes by last use and asks the
// kernel to forget the oldest past the cap. Requests only touch the list
// and wake the evictor; the kernel is notified from the evictor's
// goroutine, never from a request (the kernel may hold the directory's
// lock for that request).
type nodeCache struct {
	max, low int // max 0: no cap

	mu         sync.Mutex
	head, tail *lruLinks // most and least recently used
	count      int       // nodes in the list
	pending    int       // of which asked of the kernel, not forgotten yet
	files      int       // of which files

	wake      chan struct{}
	evictions atomic.Int64
	// forgotten counts the nodes the kernel has forgotten: a directory
	// that knows all its names (dirNode.knownEmpty) knows them only
	// while none has been.
	forgotten atomic.Uint64
	// noPrune: the kernel has no FUSE_NOTIFY_PRUNE (protocol 7.45):
	// files are dropped by name and directories are left to the kernel.
	noPrune atomic.Bool
	log     *slog.Logger
}

func newNodeCache(max int, log *slog.Logger) *nodeCache {
	c := &nodeCache{max: max, low: max - max/10, wake: make(chan struct{}, 1), log: log}
	if max > 0 {
		go c.evictLoop()
	}
	return c
}

// counts returns the live file and directory nodes.
func (c *nodeCache) counts() (files, dirs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.files, c.count - c.files
}

func (c *nodeCache) unlinkLocked(l *lruLinks) {
	if l.prev != nil {
		l.prev.next = l.next
	} else {
		c.head = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	} else {
		c.tail = l.prev
	}
	l.prev, l.next = nil, nil
	c.count--
}

func (c *nodeCache) pushFrontLocked(l *lruLinks) {
	l.prev, l.next = nil, c.head
	if c.head != nil {
		c.head.prev = l
	} else {
		c.tail = l
	}
	c.head = l
	c.count++
}

// touch records a use of the node in (a lookup, getattr or open): it
// becomes the most recently used, and one asked of the kernel is kept
// after all. in must be the node's own Inode.
func (c *nodeCache) touch(l *lruLinks, in *fs.Inode) {
	c.mu.Lock()
	switch l.state {
	case lruNone:
		l.in = in
		if in.StableAttr().Mode != syscall.S_IFDIR {
			c.files++
		}
	case lruEvicting:
		c.pending--
		fallthrough
	case lruIn:
		if c.head == l {
			l.state = lruIn
			c.mu.Unlock()
			return
		}
		c.unlinkLocked(l)
	}
	c.pushFrontLocked(l)
	l.state = lruIn
	over := c.max > 0 && c.count-c.pending > c.max
	c.mu.Unlock()
	if over {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// forget drops a node go-fuse has forgotten (OnForget).
func (c *nodeCache) forget(l *lruLinks) {
	c.forgotten.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if l.state == lruNone {
		return
	}
	if l.state == lruEvicting {
		c.pending--
	}
	c.unlinkLocked(l)
	if l.in.StableAttr().Mode != syscall.S_IFDIR {
		c.files--
	}
	l.state = lruNone
}

func (c *nodeCache) evictLoop() {
	retry := time.NewTimer(retryMin)
	retry.Stop()
	backoff := retryMin
	for {
		select {
		case <-c.wake:
			backoff = retryMin
		case <-retry.C:
			c.reaskKept()
		}
		for c.evictSome() {
		}
		if c.overCap() {
			retry.Reset(backoff)
			backoff = min(2*backoff, retryMax)
		} else {
			retry.Stop()
			backoff = retryMin
		}
	}
}

// overCap reports whether the live nodes, those asked of the kernel
// included, are over the cap.
func (c *nodeCache) overCap() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count > c.max
}

// reaskKept takes back every request the kernel has not answered with a
// FORGET: called a while after the last pass, those are nodes it kept,
// and the next pass asks again for the least recently used of them.
func (c *nodeCache) reaskKept() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for l := c.head; l != nil && c.pending > 0; l = l.next {
		if l.state == lruEvicting {
			l.state = lruIn
			c.pending--
		}
	}
}

// evictSome asks the kernel to forget up to evictBatch of the least
// recently used nodes while the list, less what was asked already, is
// above the low mark, and reports whether more remain to do. The nodes
// asked for stay in the list, at its head, until go-fuse forgets them:
// one the kernel keeps (in use: a working directory, an open file, a
// directory with files still cached) comes round again.
func (c *nodeCache) evictSome() bool {
	var batch []*lruLinks
	noPrune := c.noPrune.Load()
	c.mu.Lock()
	for seen, n := 0, c.count; c.count-c.pending > c.low && len(batch) < evictBatch && seen < n; seen++ {
		l := c.tail
		c.unlinkLocked(l)
		c.pushFrontLocked(l)
		if l.state == lruEvicting {
			c.pending-- // asked before, kept by the kernel: asked again
			l.state = lruIn
		}
		if l.in.IsRoot() || busy(l.in) || noPrune && l.in.IsDir() {
			continue
		}
		if _, parent := l.in.Parent(); parent == nil && !l.in.IsDir() {
			// An idle file out of the tree: unlinked and closed (the
			// kernel forgets it on its own), or a node go-fuse did not
			// take (a second name of a hard-linked file looked up
			// while the first was known).
			c.unlinkLocked(l)
			c.files--
			l.state = lruNone
			continue
		}
		l.state = lruEvicting
		c.pending++
		batch = append(batch, l)
	}
	more := c.count-c.pending > c.low && len(batch) == evictBatch
	c.mu.Unlock()
	if len(batch) == 0 {
		return false
	}
	// Files first, then directories deepest first: the kernel drops a
	// directory's entry only once the entries under it are gone, and it
	// takes the list in order.
	slices.SortStableFunc(batch, func(a, b *lruLinks) int {
		return cmp.Compare(depth(b.in), depth(a.in))
	})
	c.notify(batch)
	return more
}

// depth is a file's rank among the nodes asked together: files 1<<30
// (before every directory), directories their distance from the root.
func depth(in *fs.Inode) int {
	if !in.IsDir() {
		return 1 << 30
	}
	d := 0
	for p := in; ; d++ {
		_, parent := p.Parent()
		if parent == nil {
			return d
		}
		p = parent
	}
}

// notify asks the kernel to forget the nodes of batch: FUSE_NOTIFY_PRUNE
// drops the entries of those no process uses and so forgets them; a
// kernel without it has each file's entry invalidated by name.
func (c *nodeCache) notify(batch []*lruLinks) {
	if !c.noPrune.Load() {
		ins := make([]*fs.Inode, len(batch))
		for i, l := range batch {
			ins[i] = l.in
		}
		errno := ins[0].NotifyPrune(ins)
		if errno == 0 {
			c.evictions.Add(int64(len(batch)))
			return
		}
		if errno != syscall.ENOSYS {
			c.settle(batch)
			return
		}
		c.noPrune.Store(true)
		c.log.Info("the kernel has no FUSE_NOTIFY_PRUNE (FUSE protocol 7.45): past the node cap, idle files are dropped by name and directories left to the kernel")
	}
	for _, l := range batch {
		name, parent := l.in.Parent()
		if l.in.IsDir() || parent == nil || parent.NotifyEntry(name) != 0 {
			// Not in the tree any more, or the kernel knows no such
			// entry: nothing will come of it.
			c.settle([]*lruLinks{l})
			continue
		}
		c.evictions.Add(1)
	}
}

// settle takes back the request for the nodes of batch.
func (c *nodeCache) settle(batch []*lruLinks) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range batch {
		if l.state == lruEvicting {
			l.state = lruIn
			c.pending--
		}
	}
}

// busy reports whether the node in holds state that only memory has: a
// file's open descriptors or staged buffer.
func busy(in *fs.Inode) bool {
	n, ok := in.Operations().(*fileNode)
	if !ok {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opens > 0 || n.buf != nil || n.staging > 0
}

// OnForget implements fs.NodeOnForgetter: the kernel forgot the file.
func (n *fileNode) OnForget() { n.fsys.nodes.forget(&n.lru) }

// OnForget implements fs.NodeOnForgetter: the kernel forgot the directory.
func (d *dirNode) OnForget() { d.fsys.nodes.forget(&d.lru) }
