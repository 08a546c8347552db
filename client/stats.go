package client

import (
	"sync"
	"sync/atomic"
)

// Stats counts what a client (and its WithDomain copies) did since it was
// made: which tracker commands it sent and which paths served its uploads
// and reads. Benchmarks report it; tests use it to see which way a request
// went.
type Stats struct {
	// TrackerCommands is the number of requests sent per tracker command
	// (each attempt on a tracker counts once).
	TrackerCommands map[string]uint64
	// FastPathPuts are uploads committed through a storage node's /_put.
	FastPathPuts uint64
	// FastPathAttrPuts are those of FastPathPuts that carried mogfs
	// attributes (Commit.Attrs).
	FastPathAttrPuts uint64
	// FastPathFallbacks are uploads that tried /_put and went the
	// three-step way after the node could not take them.
	FastPathFallbacks uint64
	// ThreeStepPuts are uploads committed with create_open, a PUT and
	// create_close (or the Commit's command).
	ThreeStepPuts uint64
	// PathCacheHits and PathCacheMisses count lookups of a key's paths in
	// the client's path cache.
	PathCacheHits, PathCacheMisses uint64
	// KeyReads are lookups answered by a storage node's /_key;
	// KeyReadFallbacks are those that went to get_paths after the node
	// could not answer.
	KeyReads, KeyReadFallbacks uint64
	// PathLookups are get_paths answers used by reads and Paths.
	PathLookups uint64
}

// TrackerTotal is the number of tracker requests of every command.
func (s Stats) TrackerTotal() uint64 {
	var n uint64
	for _, v := range s.TrackerCommands {
		n += v
	}
	return n
}

// counters are the live counters behind Stats.
type counters struct {
	cmds sync.Map // command -> *atomic.Uint64

	fastPuts, fastAttrPuts, fastFallbacks atomic.Uint64
	threeStepPuts                         atomic.Uint64
	cacheHits, cacheMisses                atomic.Uint64
	keyReads, keyReadFallbacks, lookups   atomic.Uint64
}

func (c *counters) command(cmd string) {
	v, ok := c.cmds.Load(cmd)
	if !ok {
		v, _ = c.cmds.LoadOrStore(cmd, new(atomic.Uint64))
	}
	v.(*atomic.Uint64).Add(1)
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		TrackerCommands:   map[string]uint64{},
		FastPathPuts:      c.counters.fastPuts.Load(),
		FastPathAttrPuts:  c.counters.fastAttrPuts.Load(),
		FastPathFallbacks: c.counters.fastFallbacks.Load(),
		ThreeStepPuts:     c.counters.threeStepPuts.Load(),
		PathCacheHits:     c.counters.cacheHits.Load(),
		PathCacheMisses:   c.counters.cacheMisses.Load(),
		KeyReads:          c.counters.keyReads.Load(),
		KeyReadFallbacks:  c.counters.keyReadFallbacks.Load(),
		PathLookups:       c.counters.lookups.Load(),
	}
	c.counters.cmds.Range(func(k, v any) bool {
		s.TrackerCommands[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return s
}
