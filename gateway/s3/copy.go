package s3

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/cache"
)

// CopyObject and UploadPartCopy (docs/s3.md §7): the gateway reads the
// source from its storage nodes and writes the copy to a storage node;
// the bytes never pass through the client.

var errCopyToItself = s3err(http.StatusBadRequest, "InvalidRequest",
	"This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")

// copySource is what x-amz-copy-source names, looked up.
type copySource struct {
	bucket, key string
	oi          *objectInfo
}

// source parses x-amz-copy-source, checks the key's rights to its
// bucket and the x-amz-copy-source-if-* conditions, and looks it up.
func (c *call) source() (*copySource, error) {
	raw := c.r.Header.Get("X-Amz-Copy-Source")
	raw, version, _ := strings.Cut(raw, "?")
	if version != "" && version != "versionId=null" {
		return nil, notImplemented("versioned copy source")
	}
	p, err := url.PathUnescape(strings.TrimPrefix(raw, "/"))
	if err != nil {
		return nil, invalidArgument("malformed x-amz-copy-source")
	}
	b, k, ok := strings.Cut(p, "/")
	if !ok || b == "" || k == "" {
		return nil, invalidArgument("x-amz-copy-source must be bucket/key")
	}
	if !c.key.May(b) {
		return nil, errAccessDenied
	}
	if hiddenKey(k) || len(k) > maxKey {
		return nil, errNoSuchKey
	}
	oi, _, err := c.s.meta.Get(c.ctx, cache.Key{Domain: b, Key: k}, c.s.lookupTimeout(), func(ctx context.Context) (*objectInfo, error) {
		return c.s.lookup(ctx, b, k)
	})
	if err != nil {
		return nil, toAPIError(err)
	}
	cond := &http.Request{Header: http.Header{}}
	for _, h := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := c.r.Header.Get("X-Amz-Copy-Source-" + h); v != "" {
			cond.Header.Set(h, v)
		}
	}
	if checkConditions(cond, quoted(oi.etag), oi.mtime) != 0 {
		return nil, errPrecondition
	}
	return &copySource{bucket: b, key: k, oi: oi}, nil
}

// open opens n bytes of the source from off.
func (s *copySource) open(c *call, off, n int64) (io.ReadCloser, error) {
	cl := c.s.client(s.bucket)
	paths := s.oi.paths
	if paths == nil {
		var err error
		if paths, err = cl.Paths(c.ctx, s.key, client.PathsOptions{Count: pathCount}); err != nil {
			return nil, toAPIError(err)
		}
	}
	rd, err := cl.FileFromPaths(s.key, paths, s.oi.size).OpenRange(c.ctx, off, n)
	if err != nil {
		return nil, internal(fmt.Errorf("open copy source %s/%s: %w", s.bucket, s.key, err))
	}
	return rd, nil
}

// copyResult is CopyObjectResult and CopyPartResult.
type copyResult struct {
	XMLName      xml.Name
	Xmlns        string `xml:"xmlns,attr"`
	LastModified string
	ETag         string
}

func (c *call) sendCopyResult(name, etag string, t time.Time) error {
	return c.sendXML(http.StatusOK, copyResult{XMLName: xml.Name{Local: name}, Xmlns: xmlns,
		LastModified: t.UTC().Format(timeFormat), ETag: quoted(etag)})
}

// copyObject answers CopyObject.
func (c *call) copyObject() error {
	if hiddenKey(c.object) {
		return invalidArgument("keys under .mogfs/ and .s3/ are reserved")
	}
	src, err := c.source()
	if err != nil {
		return err
	}
	directive := strings.ToUpper(c.r.Header.Get("X-Amz-Metadata-Directive"))
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return invalidArgument("Unknown metadata directive.")
	}
	headers := withoutPartSizes(src.oi.headers) // a copy is one part
	if directive == "REPLACE" {
		headers = metaHeaders(c.r)
	}
	if src.bucket == c.bucket && src.key == c.object {
		if directive != "REPLACE" {
			return errCopyToItself
		}
		return c.replaceMeta(src.oi, keepPartSizes(headers, src.oi.headers))
	}
	class, err := c.storageClass()
	if err != nil {
		return err
	}
	rd, err := src.open(c, 0, src.oi.size)
	if err != nil {
		return err
	}
	defer rd.Close()
	sum := md5.New()
	body := &errRecorder{r: teeHash{rd, sum}}
	c.s.forget(c.bucket, c.object)
	defer c.s.forget(c.bucket, c.object)
	var etag string
	_, err = c.storeS3(c.object, class, body, src.oi.size, func() string {
		etag = hex.EncodeToString(sum.Sum(nil))
		return etag
	}, headers)
	if err != nil {
		return toAPIError(err)
	}
	return c.sendCopyResult("CopyObjectResult", etag, time.Now())
}

// replaceMeta answers a copy of an object onto itself with REPLACE: its
// metadata (and mtime) change, its content and ETag stay.
func (c *call) replaceMeta(oi *objectInfo, headers string) error {
	cl := c.s.client(c.bucket)
	defer c.s.forget(c.bucket, c.object)
	_, err := cl.Do(c.ctx, "s3_set_meta", map[string]string{"domain": c.bucket, "key": c.object,
		"fid": strconv.FormatInt(oi.fid, 10), "etag": oi.etag, "headers": headers})
	if err != nil {
		return toAPIError(err) // unknown_key: replaced meanwhile, NoSuchKey
	}
	now := time.Now()
	if _, err := cl.Do(c.ctx, "mogfs_set_attr", map[string]string{"domain": c.bucket, "key": c.object,
		"mtime": strconv.FormatInt(now.Unix(), 10), "mtime_nsec": strconv.Itoa(now.Nanosecond())}); err != nil {
		c.s.log.Warn("s3: metadata replaced, mtime not updated", "bucket", c.bucket, "key", c.object, "err", err)
	}
	return c.sendCopyResult("CopyObjectResult", oi.etag, now)
}

// uploadPartCopy answers UploadPartCopy: part n of u is a range of the
// copy source (x-amz-copy-source-range), or all of it.
func (c *call) uploadPartCopy(u *upload, n int) error {
	src, err := c.source()
	if err != nil {
		return err
	}
	off, size := int64(0), src.oi.size
	if h := c.r.Header.Get("X-Amz-Copy-Source-Range"); h != "" {
		var first, last int64
		if _, err := fmt.Sscanf(h, "bytes=%d-%d", &first, &last); err != nil || first < 0 || last < first || last >= src.oi.size {
			return invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
		}
		off, size = first, last-first+1
	}
	var rd io.ReadCloser = http.NoBody
	if size > 0 {
		if rd, err = src.open(c, off, size); err != nil {
			return err
		}
	}
	defer rd.Close()
	sum := md5.New()
	body := &errRecorder{r: teeHash{rd, sum}}
	var etag string
	_, err = c.storeS3(partKey(u.id, n), u.class, body, size, func() string {
		etag = hex.EncodeToString(sum.Sum(nil))
		return etag
	}, "")
	if err != nil {
		return toAPIError(err)
	}
	return c.sendCopyResult("CopyPartResult", etag, time.Now())
}
