package sigv4

import "sync"

// maxCachedKeys bounds a KeyCache; past it, the cache starts over (keys
// change every day anyway).
const maxCachedKeys = 4096

// KeyCache keeps derived signing keys: a key depends only on the secret,
// the day, the region and the service, so one derivation (four HMACs)
// serves every request of that day. Safe for concurrent use.
type KeyCache struct {
	mu   sync.Mutex
	keys map[string][]byte
}

// NewKeyCache returns an empty KeyCache.
func NewKeyCache() *KeyCache { return &KeyCache{keys: map[string][]byte{}} }

// Key returns SigningKey(secret, day, region, service), derived once.
// A nil KeyCache derives it every time.
func (c *KeyCache) Key(secret, day, region, service string) []byte {
	if c == nil {
		return SigningKey(secret, day, region, service)
	}
	id := secret + "\x00" + day + "\x00" + region + "\x00" + service
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = SigningKey(secret, day, region, service)
	c.mu.Lock()
	if len(c.keys) >= maxCachedKeys {
		clear(c.keys)
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}
