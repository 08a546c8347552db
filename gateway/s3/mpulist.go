package s3

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// ListParts and ListMultipartUploads: listings of the staging keys
// (docs/s3.md §6).

// maxUploadsScanned bounds the uploads one ListMultipartUploads reads:
// each costs an s3_head, and a bucket has few uploads in progress.
const maxUploadsScanned = 10000

type initiator struct {
	ID          string
	DisplayName string
}

// listParts answers ListParts.
func (c *call) listParts() error {
	u, err := c.readUpload(c.query.Get("uploadId"), c.object)
	if err != nil {
		return err
	}
	maxParts, after := 1000, 0
	if v := c.query.Get("max-parts"); v != "" {
		if maxParts, err = strconv.Atoi(v); err != nil || maxParts < 0 {
			return invalidArgument("max-parts must be a non-negative integer")
		}
		maxParts = min(maxParts, 1000)
	}
	if v := c.query.Get("part-number-marker"); v != "" {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			return invalidArgument("part-number-marker must be a non-negative integer")
		}
	}
	parts, err := c.uploadParts(u.id, after, maxParts+1)
	if err != nil {
		return err
	}
	type xpart struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
	}
	var out struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		Xmlns                string   `xml:"xmlns,attr"`
		Bucket, Key          string
		UploadID             string `xml:"UploadId"`
		Initiator            initiator
		Owner                owner
		StorageClass         string
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		Parts                []xpart `xml:"Part"`
	}
	out.Xmlns, out.Bucket, out.Key, out.UploadID = xmlns, c.bucket, c.object, u.id
	out.Initiator, out.Owner = initiator(c.owner()), c.owner()
	out.StorageClass, out.PartNumberMarker, out.MaxParts = "STANDARD", after, maxParts
	if len(parts) > maxParts {
		parts, out.IsTruncated = parts[:maxParts], true
	}
	for _, p := range parts {
		out.Parts = append(out.Parts, xpart{p.num, p.mtime.Format(timeFormat), quoted(p.etag), p.size})
		out.NextPartNumberMarker = p.num
	}
	return c.sendXML(http.StatusOK, out)
}

// uploads reads the records of the bucket's uploads (at most
// maxUploadsScanned), sorted by key, then initiation time.
func (c *call) uploads() ([]*upload, error) {
	w := newWalker(c, uploadsDir, "", false, 1000)
	var out []*upload
	for len(out) < maxUploadsScanned {
		it, ok, err := w.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if !it.prefix {
			continue
		}
		u, err := c.readUpload(strings.TrimSuffix(strings.TrimPrefix(it.key, uploadsDir), "/"), "")
		if err == errNoSuchUpload {
			continue // completed or aborted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.key != b.key {
			return a.key < b.key
		}
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.id < b.id
	})
	return out, nil
}

// listUploads answers ListMultipartUploads (prefix, key-marker,
// upload-id-marker and max-uploads; a delimiter is not grouped).
func (c *call) listUploads() error {
	q := c.query
	maxUploads := 1000
	if v := q.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidArgument("max-uploads must be a non-negative integer")
		}
		maxUploads = min(n, 1000)
	}
	if q.Get("delimiter") != "" {
		return notImplemented("ListMultipartUploads with a delimiter")
	}
	all, err := c.uploads()
	if err != nil {
		return err
	}
	prefix, keyMarker, idMarker := q.Get("prefix"), q.Get("key-marker"), q.Get("upload-id-marker")
	type xupload struct {
		Key          string
		UploadID     string `xml:"UploadId"`
		Initiator    initiator
		Owner        owner
		StorageClass string
		Initiated    string
	}
	var out struct {
		XMLName            xml.Name `xml:"ListMultipartUploadsResult"`
		Xmlns              string   `xml:"xmlns,attr"`
		Bucket             string
		KeyMarker          string
		UploadIDMarker     string `xml:"UploadIdMarker"`
		NextKeyMarker      string
		NextUploadIDMarker string `xml:"NextUploadIdMarker"`
		Prefix             string
		MaxUploads         int
		IsTruncated        bool
		Uploads            []xupload `xml:"Upload"`
	}
	out.Xmlns, out.Bucket, out.KeyMarker, out.UploadIDMarker = xmlns, c.bucket, keyMarker, idMarker
	out.Prefix, out.MaxUploads = prefix, maxUploads
	for _, u := range all {
		if !strings.HasPrefix(u.key, prefix) || u.key < keyMarker ||
			keyMarker != "" && u.key == keyMarker && (idMarker == "" || u.id <= idMarker) {
			continue
		}
		if len(out.Uploads) == maxUploads {
			out.IsTruncated = true
			break
		}
		out.Uploads = append(out.Uploads, xupload{u.key, u.id, initiator(c.owner()), c.owner(), "STANDARD", u.created.Format(timeFormat)})
		out.NextKeyMarker, out.NextUploadIDMarker = u.key, u.id
	}
	return c.sendXML(http.StatusOK, out)
}
