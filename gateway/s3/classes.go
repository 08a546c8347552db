package s3

import (
	"context"
	"sync"
	"time"
)

// classesTTL is how long the domains and classes get_domains listed are
// trusted for mapping x-amz-storage-class; a name not found is asked again
// after classesRetry, so that a class just created is found soon without
// every PUT naming an unknown class costing a get_domains.
const (
	classesTTL   = 30 * time.Second
	classesRetry = time.Second
)

// classCache keeps the classes of every domain (get_domains), so that a
// PUT naming a storage class costs no tracker request.
type classCache struct {
	mu      sync.Mutex
	at      time.Time
	classes map[string]map[string]bool // domain -> class names
}

// forget drops what is known (a bucket was created or deleted here).
func (cc *classCache) forget() {
	cc.mu.Lock()
	cc.at = time.Time{}
	cc.mu.Unlock()
}

// classLookup says whether domain exists and has class, asking the trackers
// when what is known is too old to trust.
func (s *Server) classLookup(ctx context.Context, domain, class string) (domainOK, classOK bool, err error) {
	cc := &s.classes
	cc.mu.Lock()
	defer cc.mu.Unlock()
	age := time.Since(cc.at)
	if age < classesTTL {
		cls, ok := cc.classes[domain]
		if ok && cls[class] || age < classesRetry {
			return ok, cls[class], nil
		}
	}
	doms, err := s.base.Domains(ctx)
	if err != nil {
		return false, false, err
	}
	m := make(map[string]map[string]bool, len(doms))
	for _, d := range doms {
		cls := make(map[string]bool, len(d.Classes))
		for _, c := range d.Classes {
			cls[c.Name] = true
		}
		m[d.Name] = cls
	}
	cc.classes, cc.at = m, time.Now()
	cls, ok := m[domain]
	return ok, cls[class], nil
}
