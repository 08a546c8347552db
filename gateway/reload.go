package gateway

import "container/list"

// ClearCaches forgets every cached tracker answer, every small file held
// in memory and every storage node marked down (mogproxy does this on
// SIGHUP). Lookups running now still answer their callers, but their
// answers are not kept.
func (g *Gateway) ClearCaches() {
	c := g.cache
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	clear(c.flights)
	c.mu.Unlock()

	cc := g.content
	cc.mu.Lock()
	cc.lru = list.New()
	clear(cc.byFID)
	cc.bytes = 0
	cc.mu.Unlock()

	h := g.health
	h.mu.Lock()
	clear(h.down)
	h.mu.Unlock()
}
