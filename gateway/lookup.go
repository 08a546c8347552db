package gateway

import (
	"context"
	"fmt"
	"mime"
	"path"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/cache"
)

// fileMeta is what the trackers told about a key.
type fileMeta struct {
	fid      int64
	size     int64
	checksum string   // "MD5:<hex>", "SHA-1:<hex>", or "" when unknown
	paths    []string // storage node URLs, best first; may be empty
	etag     string
	ctype    string // Content-Type, from the key's extension
}

// pathCount is how many paths are asked of get_paths: enough to fail
// over twice.
const pathCount = 3

// lookup asks the trackers for key's paths (get_paths) and its length and
// checksum (file_info), both at once. The fid in the paths must be the
// one file_info reports; if a concurrent overwrite makes them differ, the
// pair is asked again, and if they still differ the paths win and the
// length is left unknown (-1), for the storage node to tell.
//
// A refresh of a cached answer (prev) asks get_paths only: if the paths
// still name prev's fid, the length and checksum are prev's (a fid's
// content never changes), which halves the trackers' work for hot keys.
func (g *Gateway) lookup(ctx context.Context, c *client.Client, key string, prev *fileMeta) (*fileMeta, error) {
	if prev != nil && prev.fid > 0 && prev.size >= 0 {
		paths, err := c.Paths(ctx, key, client.PathsOptions{Count: pathCount})
		if err != nil {
			return nil, err
		}
		if fid, ok := pathsFID(paths); ok && fid == prev.fid {
			m := *prev
			m.paths = paths
			return &m, nil
		}
	}
	for attempt := 0; ; attempt++ {
		var (
			paths []string
			perr  error
			done  = make(chan struct{})
		)
		go func() {
			defer close(done)
			paths, perr = c.Paths(ctx, key, client.PathsOptions{Count: pathCount})
		}()
		fi, ferr := c.FileInfo(ctx, key)
		<-done
		if ferr != nil {
			return nil, ferr
		}
		if perr != nil {
			return nil, perr
		}
		m := &fileMeta{fid: fi.FID, size: fi.Length, paths: paths, ctype: contentType(key)}
		if alg, hex, ok := strings.Cut(fi.Checksum, ":"); ok && hex != "" {
			m.checksum = fi.Checksum
			m.etag = checksumETag(alg, hex)
		}
		if fid, ok := pathsFID(paths); ok && fid != fi.FID {
			if attempt == 0 {
				continue
			}
			m = &fileMeta{fid: fid, size: -1, paths: paths, ctype: m.ctype}
		}
		if m.etag == "" && m.fid > 0 {
			m.etag = `"fid-` + strconv.FormatInt(m.fid, 10) + `"`
		}
		return m, nil
	}
}

// checksumETag makes the entity tag of a checksum: the hex digest for MD5
// (what S3 and most tools show), "<alg>-<hex>" for other algorithms.
func checksumETag(alg, hex string) string {
	hex = strings.ToLower(hex)
	if strings.EqualFold(alg, "MD5") {
		return `"` + hex + `"`
	}
	return `"` + strings.ToLower(strings.ReplaceAll(alg, "-", "")) + "-" + hex + `"`
}

// pathsFID returns the fid named by the paths' file names
// (".../0000000123.fid"), if they all agree on one.
func pathsFID(paths []string) (int64, bool) {
	var fid int64
	for i, p := range paths {
		name := p[strings.LastIndexByte(p, '/')+1:]
		digits, ok := strings.CutSuffix(name, ".fid")
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return 0, false
		}
		if i > 0 && n != fid {
			return 0, false
		}
		fid = n
	}
	return fid, len(paths) > 0
}

// contentType is the Content-Type of key, from its extension.
func contentType(key string) string {
	if ext := path.Ext(key); ext != "" {
		if t := mime.TypeByExtension(strings.ToLower(ext)); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}

// meta returns key's metadata from the cache or the trackers.
func (g *Gateway) meta(ctx context.Context, c *client.Client, k cache.Key) (*fileMeta, bool, error) {
	m, cached, err := g.cache.Get(ctx, k, 2*g.cfg.TrackerTimeout+g.cfg.TrackerTimeout/2, func(ctx context.Context) (*fileMeta, error) {
		return g.lookup(ctx, c, k.Key, g.cache.Peek(k))
	})
	if err != nil {
		return nil, false, fmt.Errorf("look up %q in domain %q: %w", k.Key, k.Domain, err)
	}
	g.metrics.lookup(cached)
	return m, cached, nil
}
