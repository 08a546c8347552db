package client

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// ClassInfo is one class of a domain as get_domains reports it.
type ClassInfo struct {
	Name        string
	MinDevCount int
	ReplPolicy  string // e.g. "MultipleHosts()"
	HashType    string // "NONE", "MD5" or "SHA-1"
}

// DomainInfo is one domain with its classes (the implicit "default" class
// included).
type DomainInfo struct {
	Name    string
	Classes []ClassInfo
}

// Domains lists every domain and its classes (get_domains).
func (c *Client) Domains(ctx context.Context) ([]DomainInfo, error) {
	r, err := c.call(ctx, "get_domains")
	if err != nil {
		return nil, err
	}
	n := atoi(r["domains"])
	out := make([]DomainInfo, 0, n)
	for i := 1; i <= n; i++ {
		p := "domain" + strconv.Itoa(i)
		d := DomainInfo{Name: r[p]}
		m := atoi(r[p+"classes"])
		for j := 1; j <= m; j++ {
			q := p + "class" + strconv.Itoa(j)
			d.Classes = append(d.Classes, ClassInfo{
				Name:        r[q+"name"],
				MinDevCount: atoi(r[q+"mindevcount"]),
				ReplPolicy:  r[q+"replpolicy"],
				HashType:    r[q+"hashtype"],
			})
		}
		out = append(out, d)
	}
	return out, nil
}

// classCacheTTL is how long class hash types are trusted before get_domains
// is asked again.
const classCacheTTL = 30 * time.Second

// classCache remembers each class's hash type so that uploads need no
// extra tracker round trip.
type classCache struct {
	mu    sync.Mutex
	at    time.Time
	types map[string]map[string]string // domain -> class -> hashtype
}

// hashType returns the hash type ("NONE", "MD5", "SHA-1") of class in the
// client's domain; "" (or "default") is the default class. An unknown
// class gives "NONE" after one refresh: create_open then reports it.
func (c *Client) hashType(ctx context.Context, class string) (string, error) {
	if class == "" {
		class = "default"
	}
	cc := c.classes
	cc.mu.Lock()
	defer cc.mu.Unlock()
	fresh := time.Since(cc.at) < classCacheTTL
	if fresh {
		if h, ok := cc.types[c.domain][class]; ok {
			return h, nil
		}
		// A class created since the last refresh: ask again, but not
		// for every upload naming a class that does not exist.
		if time.Since(cc.at) < time.Second {
			return "NONE", nil
		}
	}
	doms, err := c.Domains(ctx)
	if err != nil {
		return "", err
	}
	types := make(map[string]map[string]string, len(doms))
	for _, d := range doms {
		m := make(map[string]string, len(d.Classes))
		for _, cl := range d.Classes {
			m[cl.Name] = cl.HashType
		}
		types[d.Name] = m
	}
	cc.types, cc.at = types, time.Now()
	if h, ok := types[c.domain][class]; ok {
		return h, nil
	}
	return "NONE", nil
}

// ForgetClasses drops the cached class hash types (after an admin changed
// a class).
func (c *Client) ForgetClasses() {
	c.classes.mu.Lock()
	c.classes.at = time.Time{}
	c.classes.mu.Unlock()
}
