package s3

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/parallel"
)

// Multipart uploads (docs/s3.md §6). An upload is staged in its bucket
// as hidden keys: its record .s3/uploads/<id>/meta (the object key, its
// storage class and headers, kept as the record's s3_meta headers so
// that one s3_head reads it; its mtime is the creation time) and one key
// per part, .s3/uploads/<id>/part/<NNNNN>, whose s3_meta ETag is the
// part's MD5. Complete streams the parts, in order, into one new file of
// the object key and then deletes the staging keys.

const (
	uploadsDir  = ".s3/uploads/"
	minPartSize = 5 << 20 // every part but the last (EntityTooSmall)
	maxPartNum  = 10000
	recordETag  = "upload"
	dropAtOnce  = 8 // part keys deleted at once
)

var (
	errNoSuchUpload = s3err(http.StatusNotFound, "NoSuchUpload",
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	errInvalidPart = s3err(http.StatusBadRequest, "InvalidPart",
		"One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	errInvalidPartOrder = s3err(http.StatusBadRequest, "InvalidPartOrder",
		"The list of parts was not in ascending order. The parts list must be specified in order by part number.")
	errEntityTooSmall = s3err(http.StatusBadRequest, "EntityTooSmall",
		"Your proposed upload is smaller than the minimum allowed object size.")
)

func recordKey(id string) string      { return uploadsDir + id + "/meta" }
func partsDir(id string) string       { return uploadsDir + id + "/part/" }
func partKey(id string, n int) string { return fmt.Sprintf("%s%05d", partsDir(id), n) }
func validUploadID(id string) bool {
	_, err := hex.DecodeString(id)
	return err == nil && len(id) == 32
}
func quoted(etag string) string  { return `"` + etag + `"` }
func unquote(etag string) string { return strings.Trim(strings.TrimSpace(etag), `"`) }
func partNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxPartNum {
		return 0, invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

// serveMultipart routes the multipart requests on an object; done is
// false for other requests.
func (c *call) serveMultipart() (done bool, err error) {
	_, uploads := c.query["uploads"]
	_, hasID := c.query["uploadId"]
	_, hasPart := c.query["partNumber"]
	switch m := c.r.Method; {
	case uploads && m == http.MethodPost:
		return true, c.createUpload()
	case hasID && hasPart && m == http.MethodPut:
		return true, c.uploadPart()
	case hasID && !hasPart && m == http.MethodGet:
		return true, c.listParts()
	case hasID && !hasPart && m == http.MethodDelete:
		return true, c.abortUpload()
	case hasID && !hasPart && m == http.MethodPost:
		return true, c.completeUpload()
	}
	return false, nil
}

// upload is the record of a multipart upload.
type upload struct {
	id, key, class string
	headers        string // the object's headers, as metaHeaders encodes them
	created        time.Time
}

func (u *upload) encode() string {
	return url.Values{"key": {u.key}, "class": {u.class}, "headers": {u.headers}}.Encode()
}

// readUpload reads the record of upload id (NoSuchUpload when there is
// none, or when it is an upload of another key than want, unless want
// is "").
func (c *call) readUpload(id, want string) (*upload, error) {
	if !validUploadID(id) {
		return nil, errNoSuchUpload
	}
	a, err := c.s.client(c.bucket).Do(c.ctx, "s3_head", map[string]string{"domain": c.bucket, "key": recordKey(id)})
	if client.IsUnknownKey(err) {
		return nil, errNoSuchUpload
	}
	if err != nil {
		return nil, toAPIError(err)
	}
	oi := parseHead(a)
	v, _ := url.ParseQuery(a["headers"])
	u := &upload{id: id, key: v.Get("key"), class: v.Get("class"), headers: v.Get("headers"), created: oi.mtime}
	if a["etag"] != recordETag || want != "" && u.key != want {
		return nil, errNoSuchUpload
	}
	return u, nil
}

// storeS3 stores body under key of the call's bucket with its s3_meta
// row in the same commit; etag is called once the body was read.
func (c *call) storeS3(key, class string, body io.Reader, n int64, etag func() string, headers string) (client.Stored, error) {
	now := time.Now()
	st, err := c.s.client(c.bucket).StoreWith(c.ctx, key, class, body, n, client.Commit{
		Command: "s3_create_close",
		Args:    []string{"mtime", strconv.FormatInt(now.Unix(), 10), "mtime_nsec", strconv.Itoa(now.Nanosecond()), "mode", "420"},
		Late:    func() []string { return []string{"etag", etag(), "headers", headers} },
	})
	if client.IsCode(err, "unknown_command") {
		return st, notImplemented("the trackers have no s3_create_close command")
	}
	return st, err
}

// createUpload answers CreateMultipartUpload.
func (c *call) createUpload() error {
	if hiddenKey(c.object) {
		return invalidArgument("keys under .mogfs/ and .s3/ are reserved")
	}
	class, err := c.storageClass()
	if err != nil {
		return err
	}
	var raw [16]byte
	rand.Read(raw[:])
	u := &upload{id: hex.EncodeToString(raw[:]), key: c.object, class: class, headers: metaHeaders(c.r)}
	enc := u.encode()
	if _, err := c.storeS3(recordKey(u.id), "", strings.NewReader(enc), int64(len(enc)),
		func() string { return recordETag }, enc); err != nil {
		return toAPIError(err)
	}
	var out struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}
	out.Xmlns, out.Bucket, out.Key, out.UploadID = xmlns, c.bucket, c.object, u.id
	return c.sendXML(http.StatusOK, out)
}

// uploadPart answers UploadPart (and UploadPartCopy, with a copy
// source).
func (c *call) uploadPart() error {
	n, err := partNumber(c.query.Get("partNumber"))
	if err != nil {
		return err
	}
	u, err := c.readUpload(c.query.Get("uploadId"), c.object)
	if err != nil {
		return err
	}
	if c.r.Header.Get("X-Amz-Copy-Source") != "" {
		return c.uploadPartCopy(u, n)
	}
	body, size, sum, err := c.putBody()
	if err != nil {
		return err
	}
	var etag string
	_, err = c.storeS3(partKey(u.id, n), u.class, body, size, func() string {
		etag = hex.EncodeToString(sum.Sum(nil))
		return etag
	}, "")
	if body.err != nil {
		return body.err
	}
	if err != nil {
		return toAPIError(err)
	}
	c.w.Header().Set("ETag", quoted(etag))
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	return nil
}

// abortUpload answers AbortMultipartUpload.
func (c *call) abortUpload() error {
	u, err := c.readUpload(c.query.Get("uploadId"), c.object)
	if err != nil {
		return err
	}
	if err := c.dropUpload(u.id); err != nil {
		return internal(err)
	}
	c.w.WriteHeader(http.StatusNoContent)
	c.status = http.StatusNoContent
	return nil
}

// dropUpload deletes the parts of upload id, then its record.
func (c *call) dropUpload(id string) error {
	parts, err := c.uploadParts(id, 0, maxPartNum)
	if err != nil {
		return err
	}
	cl := c.s.client(c.bucket)
	// A few at a time: a Complete answers only once its parts are gone.
	errs := make([]error, len(parts))
	if n := parallel.Each(c.ctx, len(parts), dropAtOnce, func(i int) {
		if err := cl.Delete(c.ctx, partKey(id, parts[i].num)); err != nil && !client.IsUnknownKey(err) {
			errs[i] = fmt.Errorf("delete part %d of upload %s: %w", parts[i].num, id, err)
		}
	}); n < len(parts) {
		return fmt.Errorf("delete the parts of upload %s: %w", id, context.Cause(c.ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := cl.Delete(c.ctx, recordKey(id)); err != nil && !client.IsUnknownKey(err) {
		return fmt.Errorf("delete upload %s: %w", id, err)
	}
	return nil
}

// part is an uploaded part.
type part struct {
	num   int
	etag  string
	size  int64
	mtime time.Time
}

// uploadParts lists the parts of upload id numbered after `after`, at
// most max of them, in order.
func (c *call) uploadParts(id string, after, max int) ([]part, error) {
	resume := ""
	if after > 0 {
		resume = partKey(id, after)
	}
	w := newWalker(c, partsDir(id), resume, false, min(max+1, 1000))
	var items []item
	var out []part
	flush := func() error {
		tags, err := c.etags(items)
		if err != nil {
			return err
		}
		for i, it := range items {
			n, err := strconv.Atoi(strings.TrimPrefix(it.key, partsDir(id)))
			if err != nil || n < 1 || n > maxPartNum {
				continue
			}
			out = append(out, part{num: n, etag: tags[i], size: it.e.size, mtime: it.e.mtime})
		}
		items = items[:0]
		return nil
	}
	for len(out)+len(items) < max {
		it, ok, err := w.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if it.prefix {
			continue
		}
		if items = append(items, it); len(items) == 1000 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// completeRequest is CompleteMultipartUpload's body.
type completeRequest struct {
	Parts []struct {
		PartNumber int
		ETag       string
	} `xml:"Part"`
}

// completeUpload answers CompleteMultipartUpload: the parts named are
// checked, then streamed into one file of the object key while the
// answer (200, then whitespace) keeps the connection alive; the result or
// the error is the body's XML.
func (c *call) completeUpload() error {
	u, err := c.readUpload(c.query.Get("uploadId"), c.object)
	if err != nil {
		return err
	}
	var req completeRequest
	if err := xml.NewDecoder(io.LimitReader(c.r.Body, 4<<20)).Decode(&req); err != nil || len(req.Parts) == 0 {
		return errMalformedXML
	}
	have, err := c.uploadParts(u.id, 0, maxPartNum)
	if err != nil {
		return err
	}
	byNum := make(map[int]part, len(have))
	for _, p := range have {
		byNum[p.num] = p
	}
	parts := make([]part, len(req.Parts))
	md5s := make([]byte, 0, md5.Size*len(parts))
	var total int64
	for i, rp := range req.Parts {
		if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
			return errInvalidPartOrder
		}
	}
	for i, rp := range req.Parts {
		p, ok := byNum[rp.PartNumber]
		sum, err := hex.DecodeString(p.etag)
		if !ok || unquote(rp.ETag) != p.etag || err != nil || len(sum) != md5.Size {
			return errInvalidPart
		}
		if i < len(req.Parts)-1 && p.size < minPartSize {
			return errEntityTooSmall
		}
		parts[i] = p
		md5s = append(md5s, sum...)
		total += p.size
	}
	all := md5.Sum(md5s)
	etag := hex.EncodeToString(all[:]) + "-" + strconv.Itoa(len(parts))
	obj := *u
	obj.headers = withPartSizes(u.headers, parts) // for GET ?partNumber
	return c.concatenate(&obj, parts, total, etag)
}

// concatenate streams the parts into the object and answers.
func (c *call) concatenate(u *upload, parts []part, total int64, etag string) error {
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(http.StatusOK)
	c.status = http.StatusOK
	io.WriteString(c.w, xml.Header)
	stop := c.keepAlive()
	c.s.forget(c.bucket, c.object)
	handled, err := c.concatOnNode(u, parts, total, etag)
	body := &partsReader{c: c, id: u.id, parts: parts}
	if !handled {
		_, err = c.storeS3(c.object, u.class, body, total, func() string { return etag }, u.headers)
	}
	c.s.forget(c.bucket, c.object)
	stop()
	if err != nil {
		if body.err != nil {
			err = body.err
		}
		e := toAPIError(err)
		c.err = e
		b, _ := xml.Marshal(errorXML{Code: e.Code, Message: e.Message, Resource: c.r.URL.Path, RequestID: c.reqID})
		c.w.Write(b)
		return nil
	}
	if err := c.dropUpload(u.id); err != nil {
		c.s.log.Warn("s3: completed upload not cleaned up", "bucket", c.bucket, "upload", u.id, "err", err)
	}
	var out struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}
	out.Xmlns, out.Bucket, out.Key, out.ETag = xmlns, c.bucket, c.object, quoted(etag)
	out.Location = "/" + c.bucket + "/" + c.object
	b, _ := xml.Marshal(out)
	c.w.Write(b)
	return nil
}

// keepAlive sends a space every 10 s until stop is called, so that
// neither the client nor a proxy gives up on a long Complete.
func (c *call) keepAlive() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	rc := http.NewResponseController(c.w)
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.w.Write([]byte(" "))
				rc.Flush()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// partsReader reads the parts one after the other.
type partsReader struct {
	c     *call
	id    string
	parts []part
	cur   io.ReadCloser
	left  int64 // bytes of the current part still to come
	err   error // a failure to read a part (not the storage side)
}

func (r *partsReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.left == 0 {
		if r.cur != nil {
			r.cur.Close()
			r.cur = nil
		}
		if len(r.parts) == 0 {
			return 0, io.EOF
		}
		pt := r.parts[0]
		r.parts = r.parts[1:]
		if pt.size == 0 {
			continue
		}
		rd, err := r.c.s.client(r.c.bucket).OpenRange(r.c.ctx, partKey(r.id, pt.num), 0, pt.size)
		if err != nil {
			r.err = internal(fmt.Errorf("open part %d: %w", pt.num, err))
			return 0, r.err
		}
		r.cur, r.left = rd, pt.size
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.cur.Read(p)
	r.left -= int64(n)
	if err == io.EOF && r.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		r.err = internal(fmt.Errorf("read part: %w", err))
		return n, r.err
	}
	return n, nil
}
