package s3

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
)

// maxKey is the longest object key (file.dkey).
const maxKey = 255

// maxPut is the largest single PUT (S3's limit).
const maxPut = 5 << 30

func (c *call) serveObject() error {
	if len(c.object) > maxKey {
		return errKeyTooLong
	}
	if done, err := c.serveMultipart(); done {
		return err
	}
	read := c.r.Method == http.MethodGet || c.r.Method == http.MethodHead
	sub := c.subresource()
	if _, part := c.query["partNumber"]; part && read {
		sub = c.subresource("partNumber") // a part of the object
	}
	switch {
	case sub == "acl" && read:
		return c.getACL()
	case sub != "":
		return notImplemented(c.r.Method + " ?" + sub)
	}
	switch c.r.Method {
	case http.MethodGet, http.MethodHead:
		return c.getObject()
	case http.MethodPut:
		if c.r.Header.Get("X-Amz-Copy-Source") != "" {
			return c.copyObject()
		}
		return c.putObject()
	case http.MethodDelete:
		return c.deleteObject()
	case http.MethodPost:
		return notImplemented("POST on an object")
	}
	return errMethodNotAllow
}

// storedHeaders are the request headers kept with an object (besides
// x-amz-meta-*).
var storedHeaders = []string{"Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control", "Expires"}

// metaHeaders encodes the headers of r to keep with the object.
func metaHeaders(r *http.Request) string {
	v := url.Values{}
	for _, h := range storedHeaders {
		val := r.Header.Get(h)
		if h == "Content-Encoding" {
			val = dropAWSChunked(val)
		}
		if val != "" {
			v.Set(strings.ToLower(h), val)
		}
	}
	for k, vals := range r.Header {
		if l := strings.ToLower(k); strings.HasPrefix(l, "x-amz-meta-") {
			v.Set(l, strings.Join(vals, ","))
		}
	}
	return v.Encode()
}

// dropAWSChunked removes the aws-chunked coding, which describes the
// request body only.
func dropAWSChunked(ce string) string {
	var keep []string
	for _, p := range strings.Split(ce, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// errRecorder remembers the first failure of the request body, so that
// it is answered as such (BadDigest, SignatureDoesNotMatch...) rather
// than as a storage failure.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// teeHash feeds what is read to h.
type teeHash struct {
	r io.Reader
	h hash.Hash
}

func (t teeHash) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.h.Write(p[:n])
	return n, err
}

// putBody wraps the request body with every check it announces, and
// returns it with its length and the hash giving the ETag.
func (c *call) putBody() (*errRecorder, int64, hash.Hash, error) {
	body, n, err := c.auth.Body(c.r)
	if err != nil {
		return nil, 0, nil, err
	}
	if n < 0 {
		return nil, 0, nil, errMissingLength
	}
	if n > maxPut {
		return nil, 0, nil, errTooLarge
	}
	if m := c.r.Header.Get("Content-MD5"); m != "" {
		want, err := base64.StdEncoding.DecodeString(m)
		if err != nil || len(want) != md5.Size {
			return nil, 0, nil, errInvalidDigest
		}
		body = sigv4.NewCheckedReader(body, md5.New(), want, n, errBadDigest)
	}
	for k := range c.r.Header {
		l := strings.ToLower(k)
		if !strings.HasPrefix(l, "x-amz-checksum-") || l == "x-amz-checksum-algorithm" || l == "x-amz-checksum-type" {
			continue
		}
		h := sigv4.ChecksumHash(l)
		want, err := base64.StdEncoding.DecodeString(c.r.Header.Get(k))
		if h == nil {
			return nil, 0, nil, notImplemented("checksum " + l)
		}
		if err != nil {
			return nil, 0, nil, invalidArgument("malformed " + l)
		}
		body = sigv4.NewCheckedReader(body, h, want, n,
			s3err(http.StatusBadRequest, "BadDigest", "The "+l+" you specified did not match the calculated checksum."))
	}
	sum := md5.New()
	return &errRecorder{r: teeHash{body, sum}}, n, sum, nil
}

func (c *call) putObject() error {
	if hiddenKey(c.object) {
		return invalidArgument("keys under .mogfs/ and .s3/ are reserved")
	}
	body, n, sum, err := c.putBody()
	if err != nil {
		return err
	}
	class, err := c.storageClass()
	if err != nil {
		return err
	}
	now := time.Now()
	var etag string
	c.s.forget(c.bucket, c.object)
	defer c.s.forget(c.bucket, c.object)
	_, err = c.s.client(c.bucket).StoreWith(c.ctx, c.object, class, body, n, client.Commit{
		Command: "s3_create_close",
		Args:    []string{"mtime", strconv.FormatInt(now.Unix(), 10), "mtime_nsec", strconv.Itoa(now.Nanosecond()), "mode", "420"},
		Late: func() []string {
			etag = hex.EncodeToString(sum.Sum(nil))
			return []string{"etag", etag, "headers", metaHeaders(c.r)}
		},
	})
	if body.err != nil {
		return body.err
	}
	if client.IsCode(err, "unknown_command") {
		return notImplemented("the trackers have no s3_create_close command")
	}
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", `"`+etag+`"`)
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	return nil
}

// storageClass maps x-amz-storage-class to a class of the domain: the
// class of that name if there is one, else the default class ("").
func (c *call) storageClass() (string, error) {
	sc := c.r.Header.Get("X-Amz-Storage-Class")
	if sc == "" || sc == "STANDARD" {
		return "", nil
	}
	domOK, classOK, err := c.s.classLookup(c.ctx, c.bucket, sc)
	switch {
	case err != nil:
		return "", internal(err)
	case !domOK:
		return "", errNoSuchBucket
	case classOK:
		return sc, nil
	}
	return "", nil
}

// fidETag is the ETag of an object without recorded metadata: stable for
// its fid, and in the multipart form so that no client takes it for the
// MD5 of the content.
func fidETag(fid int64) string {
	s := md5.Sum([]byte("mogilefs-fid:" + strconv.FormatInt(fid, 10)))
	return hex.EncodeToString(s[:]) + "-1"
}

func (c *call) getObject() error {
	part, err := c.checkPartQuery()
	if err != nil {
		return err
	}
	oi, cached, err := c.info()
	if err != nil {
		return err
	}
	h := c.w.Header()
	etag := `"` + oi.etag + `"`
	h.Set("ETag", etag)
	h.Set("Last-Modified", oi.mtime.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if status := checkConditions(c.r, etag, oi.mtime); status != 0 {
		if status == http.StatusPreconditionFailed {
			return errPrecondition
		}
		h.Del("Accept-Ranges")
		c.w.WriteHeader(status)
		c.status = status
		return nil
	}
	c.objectHeaders(oi)
	off, n, partial, err := c.byteRange(oi, part)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if partial && n > 0 {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, oi.size))
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if c.r.Method == http.MethodHead || n == 0 {
		c.w.WriteHeader(status)
		c.status = status
		return nil
	}
	if c.s.content.Wants(oi.size) && oi.fid > 0 {
		data, err := c.content(oi, cached)
		if err != nil {
			return internal(err)
		}
		c.w.WriteHeader(status)
		c.status = status
		c.w.Write(data[off : off+n])
		return nil
	}
	rd, err := c.open(oi, cached, off, n)
	if err != nil {
		return toAPIError(err)
	}
	defer rd.Close()
	c.w.WriteHeader(status)
	c.status = status
	if _, err := io.Copy(c.w, rd); err != nil {
		// The headers went out: cut the connection so that the client
		// cannot take a short body for the object.
		c.err = fmt.Errorf("transfer cut off: %w", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// objectHeaders sets the stored headers, the defaults, and the
// response-* overrides of the query.
func (c *call) objectHeaders(oi *objectInfo) {
	h := c.w.Header()
	ct := oi.headers.Get("content-type")
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(c.object))
	}
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for k, v := range oi.headers {
		if k != "content-type" && k != partSizesField && len(v) > 0 {
			h.Set(k, v[0])
		}
	}
	for _, o := range []struct{ q, h string }{
		{"response-content-type", "Content-Type"}, {"response-content-language", "Content-Language"},
		{"response-expires", "Expires"}, {"response-cache-control", "Cache-Control"},
		{"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"},
	} {
		if v := c.query.Get(o.q); v != "" {
			h.Set(o.h, v)
		}
	}
}

func (c *call) deleteObject() error {
	err := c.s.client(c.bucket).Delete(c.ctx, c.object)
	c.s.forget(c.bucket, c.object)
	if err != nil && !client.IsUnknownKey(err) {
		return toAPIError(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	c.status = http.StatusNoContent
	return nil
}
