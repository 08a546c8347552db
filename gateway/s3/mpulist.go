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

// listUploads answers ListMultipartUploads (prefix, delimiter,
// key-marker, upload-id-marker and max-uploads).
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
	all, err := c.uploads()
	if err != nil {
		return err
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
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
		Delimiter          string `xml:",omitempty"`
		MaxUploads         int
		IsTruncated        bool
		Uploads            []xupload      `xml:"Upload"`
		CommonPrefixes     []commonPrefix `xml:",omitempty"`
	}
	out.Xmlns, out.Bucket, out.KeyMarker, out.UploadIDMarker = xmlns, c.bucket, keyMarker, idMarker
	out.Prefix, out.Delimiter, out.MaxUploads = prefix, delim, maxUploads
	// The uploads of the marker's key come in initiation order, not in
	// the order of their ids: a page ends on an upload, and the next one
	// starts after that very upload. An id marker that names none of
	// them (completed meanwhile, or made up) falls back to S3's rule,
	// ids lexicographically greater.
	markerAt := -1
	for i, u := range all {
		if keyMarker != "" && u.key == keyMarker && u.id == idMarker {
			markerAt = i
		}
	}
	for i, u := range all {
		if !strings.HasPrefix(u.key, prefix) || u.key < keyMarker {
			continue
		}
		if keyMarker != "" && u.key == keyMarker &&
			(idMarker == "" || markerAt >= 0 && i <= markerAt || markerAt < 0 && u.id <= idMarker) {
			continue
		}
		cp := commonPrefixOf(u.key, prefix, delim)
		if cp != "" && (cp <= keyMarker || len(out.CommonPrefixes) > 0 && out.CommonPrefixes[len(out.CommonPrefixes)-1].Prefix == cp) {
			continue // that group was listed already
		}
		if len(out.Uploads)+len(out.CommonPrefixes) == maxUploads {
			out.IsTruncated = true
			break
		}
		if cp != "" {
			// A group ends a page with its prefix as the key marker:
			// the next page starts after all of it.
			out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{cp})
			out.NextKeyMarker, out.NextUploadIDMarker = cp, ""
			continue
		}
		out.Uploads = append(out.Uploads, xupload{u.key, u.id, initiator(c.owner()), c.owner(), "STANDARD", u.created.Format(timeFormat)})
		out.NextKeyMarker, out.NextUploadIDMarker = u.key, u.id
	}
	return c.sendXML(http.StatusOK, out)
}

// commonPrefixOf returns the common prefix key falls in when listed
// under prefix with delimiter delim (as ListObjects groups keys), or ""
// when it is listed itself.
func commonPrefixOf(key, prefix, delim string) string {
	if delim == "" {
		return ""
	}
	if i := strings.Index(key[len(prefix):], delim); i >= 0 {
		return key[:len(prefix)+i+len(delim)]
	}
	return ""
}
