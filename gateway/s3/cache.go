package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/cache"
)

// GET and HEAD answer from the caches of package gateway/cache, under the
// rules of the /<domain>/<key> gateway: what s3_head and get_paths said of
// a key (objectInfo) is kept for Config.CacheTTL and refreshed ahead of
// time while the key is read, this server's own writes forget it at once,
// and the content of small files is kept by fid (a fid's content never
// changes).

// pathCount is how many paths are asked of get_paths: enough to fail
// over twice.
const pathCount = 3

// objectInfo is what s3_head and get_paths say of an object. It is shared
// by the requests that find it in the cache: never modified.
type objectInfo struct {
	fid, size int64
	mtime     time.Time
	etag      string
	headers   url.Values
	paths     []string // nil: ask get_paths when reading
}

// lookupTimeout bounds one lookup (two tracker requests at once, and a
// second try).
func (s *Server) lookupTimeout() time.Duration {
	return 2*s.cfg.TrackerTimeout + s.cfg.TrackerTimeout/2
}

// info returns what is known of the call's object, from the cache or the
// trackers; cached says it came from the cache.
func (c *call) info() (*objectInfo, bool, error) {
	k := cache.Key{Domain: c.bucket, Key: c.object}
	oi, cached, err := c.s.meta.Get(c.ctx, k, c.s.lookupTimeout(), func(ctx context.Context) (*objectInfo, error) {
		return c.s.lookup(ctx, c.bucket, c.object)
	})
	if err != nil {
		return nil, false, toAPIError(err)
	}
	return oi, cached, nil
}

// forget drops what the cache knows of key of bucket (this server changed
// it).
func (s *Server) forget(bucket, key string) {
	s.meta.Forget(cache.Key{Domain: bucket, Key: key})
}

// lookup asks s3_head for the object and its paths in one request. A
// tracker whose s3_head answers no paths (one from before pathcount) is
// asked the older way, s3_head and get_paths at once.
func (s *Server) lookup(ctx context.Context, bucket, key string) (*objectInfo, error) {
	a, err := s.client(bucket).Do(ctx, "s3_head", map[string]string{"domain": bucket, "key": key, "pathcount": strconv.Itoa(pathCount)})
	if err != nil {
		if client.IsCode(err, "unknown_command") {
			return nil, notImplemented("the trackers have no s3_head command")
		}
		return nil, err
	}
	oi := parseHead(a)
	if _, ok := a["paths"]; !ok {
		return s.lookupPair(ctx, bucket, key)
	}
	n, _ := strconv.Atoi(a["paths"])
	for i := 1; i <= n; i++ {
		if p := a["path"+strconv.Itoa(i)]; p != "" {
			oi.paths = append(oi.paths, p)
		}
	}
	return oi, nil
}

// lookupPair asks s3_head and get_paths at once. The paths must name the
// fid s3_head reports; after an overwrite between the two, the pair is
// asked again, and if they still differ the paths are left out (the read
// asks for them then).
func (s *Server) lookupPair(ctx context.Context, bucket, key string) (*objectInfo, error) {
	cl := s.client(bucket)
	for attempt := 0; ; attempt++ {
		var (
			paths []string
			perr  error
			done  = make(chan struct{})
		)
		go func() {
			defer close(done)
			paths, perr = cl.Paths(ctx, key, client.PathsOptions{Count: pathCount})
		}()
		a, err := cl.Do(ctx, "s3_head", map[string]string{"domain": bucket, "key": key})
		<-done
		if err != nil {
			if client.IsCode(err, "unknown_command") {
				return nil, notImplemented("the trackers have no s3_head command")
			}
			return nil, err
		}
		oi := parseHead(a)
		if perr != nil && !client.IsUnknownKey(perr) {
			return nil, perr
		}
		if fid, ok := pathsFID(paths); perr == nil && ok && fid == oi.fid {
			oi.paths = paths
			return oi, nil
		}
		if attempt > 0 {
			return oi, nil
		}
	}
}

// parseHead reads an s3_head answer.
func parseHead(a map[string]string) *objectInfo {
	oi := &objectInfo{etag: a["etag"]}
	oi.fid, _ = strconv.ParseInt(a["fid"], 10, 64)
	oi.size, _ = strconv.ParseInt(a["size"], 10, 64)
	if m, err := strconv.ParseInt(a["mtime"], 10, 64); err == nil {
		ns, _ := strconv.Atoi(a["mtime_nsec"])
		oi.mtime = time.Unix(m, int64(ns)).UTC()
	} else {
		oi.mtime = time.Unix(0, 0).UTC()
	}
	if oi.etag == "" {
		oi.etag = fidETag(oi.fid)
	}
	oi.headers, _ = url.ParseQuery(a["headers"])
	return oi
}

// pathsFID returns the fid named by the paths' file names
// (".../0000000123.fid"), if they all agree on one.
func pathsFID(paths []string) (int64, bool) {
	var fid int64
	for i, p := range paths {
		digits, ok := strings.CutSuffix(p[strings.LastIndexByte(p, '/')+1:], ".fid")
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || i > 0 && n != fid {
			return 0, false
		}
		fid = n
	}
	return fid, len(paths) > 0
}

// open opens n bytes from off of the object oi describes. Paths that came
// from the cache and all fail are looked up afresh once (the file may
// have moved); a key that names another fid by then fails with the first
// error (the client's retry gets the new object).
func (c *call) open(oi *objectInfo, cached bool, off, n int64) (*client.Reader, error) {
	rd, err := c.openPaths(oi, off, n)
	if err == nil || !cached || c.ctx.Err() != nil {
		return rd, err
	}
	c.s.meta.Drop(cache.Key{Domain: c.bucket, Key: c.object}, oi)
	oi2, _, err2 := c.info()
	if err2 != nil || oi2.fid != oi.fid || oi2.size != oi.size {
		return nil, err
	}
	return c.openPaths(oi2, off, n)
}

func (c *call) openPaths(oi *objectInfo, off, n int64) (*client.Reader, error) {
	cl := c.s.client(c.bucket)
	paths := oi.paths
	if paths == nil {
		var err error
		if paths, err = cl.Paths(c.ctx, c.object, client.PathsOptions{Count: pathCount}); err != nil {
			return nil, err
		}
		if fid, ok := pathsFID(paths); !ok || fid != oi.fid {
			return nil, fmt.Errorf("key %q no longer names fid %d", c.object, oi.fid)
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no readable copy of fid %d", oi.fid)
	}
	return cl.FileFromPaths(c.object, paths, oi.size).OpenRange(c.ctx, off, n)
}

// content returns the whole content of a small object, from the content
// cache or read (and then kept).
func (c *call) content(oi *objectInfo, cached bool) ([]byte, error) {
	if data, ok := c.s.content.Get(oi.fid, oi.size); ok {
		return data, nil
	}
	data := make([]byte, oi.size)
	if oi.size > 0 {
		rd, err := c.open(oi, cached, 0, oi.size)
		if err != nil {
			return nil, err
		}
		defer rd.Close()
		if _, err := io.ReadFull(rd, data); err != nil {
			return nil, fmt.Errorf("read fid %d: %w", oi.fid, err)
		}
	}
	c.s.content.Put(oi.fid, data)
	return data, nil
}
