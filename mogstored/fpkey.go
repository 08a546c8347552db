package mogstored

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// Key lookups: answers are cached keyTTL, at most keyEntries of them;
// misses are sent at once when one of keyInFlight lookups is free, else
// together (up to keyBatch keys) when one is.
const (
	keyTTL      = 2 * time.Second
	keyEntries  = 100000
	keyInFlight = 4
	keyBatch    = 64
)

// keyEntry is one fastpath_paths answer.
type keyEntry struct {
	status  string // "ok", "unknown_key", "unreg_domain"
	fid     int64
	paths   []string
	expires time.Time
}

// keyLookup is a key waiting for its answer.
type keyLookup struct {
	domain, key string
	done        chan struct{}
	ent         *keyEntry
	err         error
}

// resolver resolves domain and key to fid and paths through a cache and
// batched fastpath_paths commands.
type resolver struct {
	fp    *fastPath
	queue chan *keyLookup

	mu      sync.Mutex
	cache   map[string]*keyEntry
	pending map[string]*keyLookup
}

func newResolver(fp *fastPath) *resolver {
	return &resolver{fp: fp, queue: make(chan *keyLookup, 1024), cache: map[string]*keyEntry{},
		pending: map[string]*keyLookup{}}
}

func cacheKey(domain, key string) string { return domain + "\x00" + key }

// lookup returns the entry of domain and key, from the cache or the
// tracker.
func (rs *resolver) lookup(ctx context.Context, domain, key string) (*keyEntry, error) {
	ck := cacheKey(domain, key)
	now := time.Now()
	rs.mu.Lock()
	if e := rs.cache[ck]; e != nil && now.Before(e.expires) {
		rs.mu.Unlock()
		rs.fp.m.lookup("cache")
		return e, nil
	}
	l := rs.pending[ck]
	if l == nil {
		l = &keyLookup{domain: domain, key: key, done: make(chan struct{})}
		rs.pending[ck] = l
		rs.mu.Unlock()
		select {
		case rs.queue <- l:
		case <-ctx.Done():
			rs.finish([]*keyLookup{l}, nil, ctx.Err())
		}
	} else {
		rs.mu.Unlock()
	}
	rs.fp.m.lookup("tracker")
	select {
	case <-l.done:
		return l.ent, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// drop forgets the cached entry of domain and key.
func (rs *resolver) drop(domain, key string) {
	rs.mu.Lock()
	delete(rs.cache, cacheKey(domain, key))
	rs.mu.Unlock()
}

// run sends misses until ctx is done, at most keyInFlight lookups at
// once: a miss that finds a free slot goes at once with whatever else is
// queued (up to keyBatch keys), and misses that arrive while every slot
// is busy wait and go together. A lone reader waits for no timer.
func (rs *resolver) run(ctx context.Context) {
	slots := make(chan struct{}, keyInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var batch []*keyLookup
		select {
		case <-ctx.Done():
			return
		case l := <-rs.queue:
			batch = append(batch, l)
		}
		select {
		case <-ctx.Done():
			rs.finish(batch, nil, ctx.Err())
			return
		case slots <- struct{}{}:
		}
	drain:
		for len(batch) < keyBatch {
			select {
			case l := <-rs.queue:
				batch = append(batch, l)
			default:
				break drain
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			rs.send(ctx, batch)
		}()
	}
}

// send asks fastpath_paths for one batch.
func (rs *resolver) send(ctx context.Context, batch []*keyLookup) {
	args := make(map[string]string, 1+2*len(batch))
	args["count"] = strconv.Itoa(len(batch))
	for i, l := range batch {
		n := strconv.Itoa(i + 1)
		args["domain_"+n], args["key_"+n] = l.domain, l.key
	}
	a, err := rs.fp.link.Do(ctx, "fastpath_paths", args)
	rs.fp.m.pathsBatch()
	if err != nil {
		rs.fp.m.error("paths_failed")
		rs.fp.log.Warn("fast path: key lookup failed", "keys", len(batch), "err", err)
	}
	rs.finish(batch, a, err)
}

// finish stores and hands out the answers of a batch.
func (rs *resolver) finish(batch []*keyLookup, a map[string]string, err error) {
	exp := time.Now().Add(keyTTL)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for i, l := range batch {
		ck := cacheKey(l.domain, l.key)
		if rs.pending[ck] == l {
			delete(rs.pending, ck)
		}
		if err != nil {
			l.err = err
			close(l.done)
			continue
		}
		l.ent, l.err = parsePathsItem(a, strconv.Itoa(i+1))
		if l.err == nil {
			l.ent.expires = exp
			rs.store(ck, l.ent)
		}
		close(l.done)
	}
}

// store caches e; rs.mu is held. A full cache drops the expired entries,
// then, if that was not enough, an eighth of the others.
func (rs *resolver) store(ck string, e *keyEntry) {
	if len(rs.cache) >= keyEntries {
		now := time.Now()
		for k, o := range rs.cache {
			if !now.Before(o.expires) {
				delete(rs.cache, k)
			}
		}
		for k := range rs.cache {
			if len(rs.cache) < keyEntries*7/8 {
				break
			}
			delete(rs.cache, k)
		}
	}
	rs.cache[ck] = e
}

// parsePathsItem reads item n of a fastpath_paths answer.
func parsePathsItem(a map[string]string, n string) (*keyEntry, error) {
	e := &keyEntry{status: a["status_"+n]}
	switch e.status {
	case "ok":
	case "":
		return nil, fmt.Errorf("fastpath_paths: no status_%s", n)
	default:
		return e, nil
	}
	e.fid, _ = strconv.ParseInt(a["fid_"+n], 10, 64)
	np, _ := strconv.Atoi(a["paths_"+n])
	for j := 1; j <= np; j++ {
		if p := a["path_"+n+"_"+strconv.Itoa(j)]; p != "" {
			e.paths = append(e.paths, p)
		}
	}
	return e, nil
}

// fpKey answers GET or HEAD /_key?domain=D&key=K: the node's own copy,
// or a redirect to the first copy elsewhere.
func (h *handler) fpKey(w *httpd.ResponseWriter, r *httpd.Request) {
	_, domain, key, bad := fpKeyArgs(r.RawQuery)
	if bad != "" {
		fpRefuse(w, r, 400, bad)
		return
	}
	for attempt := 0; ; attempt++ {
		e, err := h.fp.resolve.lookup(context.Background(), domain, key)
		if err != nil {
			fpRefuse(w, r, 503, "no_tracker")
			return
		}
		if e.status != "ok" {
			fpRefuse(w, r, 404, e.status)
			return
		}
		np, f, missing := h.fpOpenLocal(e)
		if missing && attempt == 0 {
			// Moved or deleted since the answer was cached: ask again.
			h.fp.resolve.drop(domain, key)
			continue
		}
		w.Header("X-MogileFS-Paths", strings.Join(e.paths, " "))
		if f.fd >= 0 {
			defer f.Close()
			w.HeaderInt("X-MogileFS-FID", e.fid)
			h.serveOpen(w, r, np, f)
			return
		}
		for _, p := range e.paths {
			if !h.fpIsLocal(p) {
				w.Header("Location", p)
				simple(w, 307, "")
				return
			}
		}
		fpRefuse(w, r, 404, "no_paths")
		return
	}
}

// fpIsLocal reports whether the path URL p names one of this node's
// devices.
func (h *handler) fpIsLocal(p string) bool {
	np, ok := localPath(p)
	return ok && h.fp.keeper(np.devid) != nil
}

// localPath parses the node path of the URL p.
func localPath(p string) (nodePath, bool) {
	u, err := url.Parse(p)
	if err != nil {
		return nodePath{}, false
	}
	np, err := parseNodePath(u.Path)
	return np, err == nil && !np.dir && np.sub != ""
}

// fpOpenLocal opens the first of e's paths that is on this node's
// devices (f.fd < 0 when there is none); missing reports a local path
// whose file is not there.
func (h *handler) fpOpenLocal(e *keyEntry) (nodePath, roFile, bool) {
	missing := false
	for _, p := range e.paths {
		np, ok := localPath(p)
		if !ok || h.fp.keeper(np.devid) == nil {
			continue
		}
		f, err := h.root.openRead(np.rel)
		if err == nil {
			return np, f, false
		}
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
			missing = true
		} else {
			h.fp.log.Warn("fast path: cannot open local copy", "path", np.rel, "err", err)
		}
	}
	return nodePath{}, roFile{fd: -1}, missing
}
