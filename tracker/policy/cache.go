package policy

import "sync"

// Cache keeps parsed policies by their string (a class's replpolicy): the
// tracker asks for the same few strings for every file it stores or
// replicates. The zero value is ready to use.
type Cache struct {
	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	p   Policy
	err error
}

// maxCached bounds the cache; strings come from class rows, so a bigger
// set only means someone is making classes in a loop.
const maxCached = 1000

// Parse is the package's Parse, remembered.
func (c *Cache) Parse(s string) (Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[s]; ok {
		return e.p, e.err
	}
	p, err := Parse(s)
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cacheEntry{}
	}
	c.m[s] = cacheEntry{p, err}
	return p, err
}
