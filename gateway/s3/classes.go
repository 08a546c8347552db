package s3

import (
	"context"
	"fmt"
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
	classes map[string]map[string]string // domain -> class name -> hash type ("NONE", "MD5"...)
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
	domainOK, _, classOK, err = s.classLocked(ctx, domain, class)
	return domainOK, classOK, err
}

// classLocked is classLookup, also giving the class's hash type; the
// caller holds the cache's lock.
func (s *Server) classLocked(ctx context.Context, domain, class string) (domainOK bool, hash string, classOK bool, err error) {
	cc := &s.classes
	age := time.Since(cc.at)
	if age < classesTTL {
		cls, ok := cc.classes[domain]
		h, has := cls[class]
		if ok && has || age < classesRetry {
			return ok, h, has, nil
		}
	}
	doms, err := s.base.Domains(ctx)
	if err != nil {
		return false, "", false, err
	}
	m := make(map[string]map[string]string, len(doms))
	for _, d := range doms {
		cls := make(map[string]string, len(d.Classes))
		for _, c := range d.Classes {
			cls[c.Name] = c.HashType
		}
		m[d.Name] = cls
	}
	cc.classes, cc.at = m, time.Now()
	cls, ok := m[domain]
	h, has := cls[class]
	return ok, h, has, nil
}

// classHash gives the hash type of class ("" the default) of domain:
// "NONE", "MD5" or "SHA-1", the checksum a file's commit carries.
func (s *Server) classHash(ctx context.Context, domain, class string) (string, error) {
	if class == "" {
		class = "default"
	}
	s.classes.mu.Lock()
	defer s.classes.mu.Unlock()
	_, h, ok, err := s.classLocked(ctx, domain, class)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("class %q of %q not found", class, domain)
	}
	return h, nil
}
