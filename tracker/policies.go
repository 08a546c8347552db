package tracker

import (
	"sync"

	"github.com/mogilefs-go/mogilefs/tracker/policy"
)

// policyCache keeps the parsed replication policies of the classes, by
// their replpolicy string (classes are few; create_class validates them).
type policyCache struct{ m sync.Map }

func (c *policyCache) get(s string) (policy.Policy, error) {
	if p, ok := c.m.Load(s); ok {
		return p.(policy.Policy), nil
	}
	p, err := policy.Parse(s)
	if err != nil {
		return nil, err
	}
	c.m.Store(s, p)
	return p, nil
}
