package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/parallel"
)

// A Complete asks a storage node to join the parts itself (POST /_concat,
// docs/s3.md §6.1), so that the bytes do not pass through the gateway;
// a node without the request (an original mogstored, nginx), or any
// failure of it, falls back to streaming the parts through the gateway.

const (
	concatCopies   = 4                // copies of a part named to the node
	noConcatMemory = time.Minute      // a node without /_concat is not asked again for this long
	concatLookups  = 8                // get_paths of parts at once
	concatPerGiB   = 60 * time.Second // the node's time allowed per GiB, beyond NodeTimeout
)

// errConcatUnsupported is a node that does not offer /_concat.
var errConcatUnsupported = errors.New("the storage node has no /_concat")

// noConcat remembers nodes ("http://host:port") that lack /_concat.
type noConcat struct{ m sync.Map } // base URL -> time.Time

func (n *noConcat) lacks(base string) bool {
	t, ok := n.m.Load(base)
	return ok && time.Since(t.(time.Time)) < noConcatMemory
}

func (n *noConcat) note(base string) { n.m.Store(base, time.Now()) }

// nodeDest is one create_open destination.
type nodeDest struct{ devid, url string }

// concatOnNode stores the parts as the object by a storage node's
// concatenation and commits it. handled is false when the node could not
// do it and nothing was committed: the caller streams the parts instead.
func (c *call) concatOnNode(u *upload, parts []part, total int64, etag string) (handled bool, err error) {
	cl := c.s.client(c.bucket)
	hash, err := c.s.classHash(c.ctx, c.bucket, u.class)
	if err != nil || hash != "" && hash != "NONE" && hash != "MD5" {
		return false, nil // a SHA-1 the node does not compute: stream
	}
	md5 := hash == "MD5"
	paths, err := c.partPaths(u.id, parts)
	if err != nil {
		c.s.log.Info("s3: part paths for concatenation", "bucket", c.bucket, "upload", u.id, "err", err)
		return false, nil
	}
	open := map[string]string{"domain": c.bucket, "key": c.object, "multi_dest": "1", "size": strconv.FormatInt(total, 10)}
	if u.class != "" {
		open["class"] = u.class
	}
	a, err := cl.Do(c.ctx, "create_open", open)
	if err != nil {
		return true, err
	}
	fid, dests := a["fid"], openDests(a)
	if fid == "" || len(dests) == 0 {
		return true, fmt.Errorf("create_open: no fid or path in the reply")
	}
	d := dests[0]
	sum, err := c.s.nodeConcat(c.ctx, d.url, parts, paths, md5)
	if err != nil {
		// The fid stays uncommitted: the tracker's tempfile reaper
		// removes it.
		if !errors.Is(err, errConcatUnsupported) {
			c.s.log.Warn("s3: storage node concatenation failed; streaming the parts", "bucket", c.bucket,
				"upload", u.id, "node", d.url, "err", err)
		}
		return false, nil
	}
	now := time.Now()
	args := map[string]string{"fid": fid, "devid": d.devid, "domain": c.bucket, "key": c.object, "path": d.url,
		"size": strconv.FormatInt(total, 10), "mtime": strconv.FormatInt(now.Unix(), 10),
		"mtime_nsec": strconv.Itoa(now.Nanosecond()), "mode": "420", "etag": etag, "headers": u.headers}
	timeout := c.s.cfg.TrackerTimeout
	if md5 {
		args["checksum"], args["checksumverify"] = "MD5:"+sum, "1"
		timeout += time.Duration(total/(20<<20)) * time.Second // the tracker reads the file back
	}
	if _, err := cl.DoTimeout(c.ctx, timeout, "s3_create_close", args); err != nil {
		if client.IsCode(err, "unknown_command") {
			return true, notImplemented("the trackers have no s3_create_close command")
		}
		return true, err
	}
	return true, nil
}

// openDests reads create_open's destinations.
func openDests(a map[string]string) []nodeDest {
	if n, _ := strconv.Atoi(a["dev_count"]); n > 0 {
		var out []nodeDest
		for i := 1; i <= n; i++ {
			if p := a["path_"+strconv.Itoa(i)]; p != "" {
				out = append(out, nodeDest{devid: a["devid_"+strconv.Itoa(i)], url: p})
			}
		}
		return out
	}
	if p := a["path"]; p != "" {
		return []nodeDest{{devid: a["devid"], url: p}}
	}
	return nil
}

// partPaths asks the copies of every part, a few at a time.
func (c *call) partPaths(id string, parts []part) ([][]string, error) {
	cl := c.s.client(c.bucket)
	out := make([][]string, len(parts))
	errs := make([]error, len(parts))
	if n := parallel.Each(c.ctx, len(parts), concatLookups, func(i int) {
		p, err := cl.Paths(c.ctx, partKey(id, parts[i].num), client.PathsOptions{Count: concatCopies})
		if err == nil && len(p) == 0 {
			err = fmt.Errorf("part %d has no copy", parts[i].num)
		}
		out[i], errs[i] = p, err
	}); n < len(parts) {
		return nil, fmt.Errorf("copies of the parts: %w", context.Cause(c.ctx))
	}
	return out, errors.Join(errs...)
}

// nodeConcat sends POST /_concat to the node of dest and returns the MD5
// it answered (when asked for).
func (s *Server) nodeConcat(ctx context.Context, dest string, parts []part, paths [][]string, md5 bool) (string, error) {
	du, err := url.Parse(dest)
	if err != nil || du.Host == "" {
		return "", fmt.Errorf("destination %q: not a URL", dest)
	}
	base := du.Scheme + "://" + du.Host
	if s.noConcat.lacks(base) {
		return "", errConcatUnsupported
	}
	var b strings.Builder
	b.WriteString("dest " + du.Path + "\n")
	if md5 {
		b.WriteString("md5\n")
	}
	var total int64
	for i, p := range parts {
		total += p.size
		b.WriteString("part " + strconv.FormatInt(p.size, 10))
		// Copies on the destination's own node first, as local paths.
		var remote []string
		for _, u := range paths[i] {
			if rest, ok := strings.CutPrefix(u, base+"/"); ok {
				b.WriteString(" /" + rest)
			} else {
				remote = append(remote, u)
			}
		}
		for _, u := range remote {
			b.WriteString(" " + u)
		}
		b.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.NodeTimeout+time.Duration(total>>30+1)*concatPerGiB)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/_concat", strings.NewReader(b.String()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := s.nodeOps.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.Header.Get("X-Mogile-Concat") == "":
		// A node without the request (an earlier or original
		// mogstored, nginx; which answer 400, 404 or 405): not
		// offered. A refusal by a node that has it falls back too, but
		// the node is asked again next time.
		s.noConcat.note(base)
		return "", errConcatUnsupported
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("POST %s/_concat: status %d: %s", base, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	got := resp.Header.Get("X-Mogile-Concat-Size")
	if n, err := strconv.ParseInt(got, 10, 64); err != nil || n != total {
		return "", fmt.Errorf("POST %s/_concat: size %q, want %d", base, got, total)
	}
	sum := resp.Header.Get("X-Mogile-Concat-MD5")
	if md5 && len(sum) != 32 {
		return "", fmt.Errorf("POST %s/_concat: MD5 %q", base, sum)
	}
	return sum, nil
}
