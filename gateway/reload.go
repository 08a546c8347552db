package gateway

import "github.com/mogilefs-go/mogilefs/internal/contentcache"

// ClearCaches forgets every cached tracker answer, every small file held
// in memory and every storage node marked down (mogproxy does this on
// SIGHUP). Lookups running now still answer their callers, but their
// answers are not kept.
func (g *Gateway) ClearCaches() {
	g.cache.Clear()
	g.content.Clear()

	h := g.health
	h.mu.Lock()
	clear(h.down)
	h.mu.Unlock()
}

// ContentCache is the cache of small files' content, by fid, for another
// face of the same process to share (the S3 API).
func (g *Gateway) ContentCache() *contentcache.Cache { return g.content }
