package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/client"
)

// maxListKeys is the most entries of a listing page.
const maxListKeys = 1000

type listEntry struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
	Owner        *owner `xml:",omitempty"`
}

type commonPrefix struct {
	Prefix string
}

type listResult struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Xmlns                 string   `xml:"xmlns,attr"`
	Name                  string
	Prefix                string
	Marker                *string `xml:",omitempty"`
	StartAfter            string  `xml:",omitempty"`
	ContinuationToken     string  `xml:",omitempty"`
	NextContinuationToken string  `xml:",omitempty"`
	KeyCount              *int    `xml:",omitempty"`
	MaxKeys               int
	Delimiter             string `xml:",omitempty"`
	EncodingType          string `xml:",omitempty"`
	IsTruncated           bool
	NextMarker            string         `xml:",omitempty"`
	Contents              []listEntry    `xml:",omitempty"`
	CommonPrefixes        []commonPrefix `xml:",omitempty"`
}

// timeFormat is S3's timestamp layout.
const timeFormat = "2006-01-02T15:04:05.000Z"

func (c *call) listObjects() error {
	q := c.query
	v2 := q.Get("list-type") == "2"
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return invalidArgument("Invalid Encoding Method specified in Request")
	}
	maxKeys := maxListKeys
	if s := q.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return invalidArgument("Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, maxListKeys)
	}
	resume := q.Get("marker")
	if v2 {
		resume = q.Get("start-after")
		if tok := q.Get("continuation-token"); tok != "" {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return invalidArgument("The continuation token provided is incorrect")
			}
			resume = string(b)
		}
	}
	if err := c.requireBucket(); err != nil {
		return err
	}
	items, truncated, err := c.collect(prefix, delim, resume, maxKeys)
	if err != nil {
		return err
	}
	etags, err := c.etags(items)
	if err != nil {
		return err
	}
	e := func(s string) string {
		if enc == "url" {
			return url.QueryEscape(s)
		}
		return s
	}
	out := listResult{Xmlns: xmlns, Name: c.bucket, Prefix: e(prefix), MaxKeys: maxKeys, Delimiter: e(delim), EncodingType: enc, IsTruncated: truncated}
	for i, it := range items {
		if it.prefix {
			out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{e(it.key)})
			continue
		}
		le := listEntry{Key: e(it.key), LastModified: it.e.mtime.Format(timeFormat), ETag: `"` + etags[i] + `"`, Size: it.e.size, StorageClass: "STANDARD"}
		if !v2 || q.Get("fetch-owner") == "true" {
			o := c.owner()
			le.Owner = &o
		}
		out.Contents = append(out.Contents, le)
	}
	last := ""
	if len(items) > 0 {
		last = items[len(items)-1].key
	}
	if v2 {
		n := len(items)
		out.KeyCount = &n
		out.StartAfter = e(q.Get("start-after"))
		out.ContinuationToken = q.Get("continuation-token")
		if truncated {
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		}
	} else {
		m := e(q.Get("marker"))
		out.Marker = &m
		if truncated {
			out.NextMarker = e(last)
		}
	}
	return c.sendXML(http.StatusOK, out)
}

// collect walks the listing: up to maxKeys items after resume, and
// whether more follow.
func (c *call) collect(prefix, delim, resume string, maxKeys int) ([]item, bool, error) {
	if maxKeys == 0 {
		return nil, false, nil
	}
	page := min(maxKeys+1, maxListKeys)
	w := newWalker(c, prefix, resume, delim != "/", page)
	var items []item
	lastCP := ""
	for {
		it, ok, err := w.next()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return items, false, nil
		}
		if delim != "" && delim != "/" {
			// Any other delimiter: the flat walk, grouped here.
			if i := strings.Index(it.key[len(prefix):], delim); i >= 0 {
				cp := it.key[:len(prefix)+i+len(delim)]
				if cp == lastCP || resume != "" && cp <= resume {
					continue
				}
				lastCP = cp
				it = item{key: cp, prefix: true}
			}
		}
		if len(items) == maxKeys {
			return items, true, nil
		}
		items = append(items, it)
	}
}

// etags returns the ETag of each object item (by index).
func (c *call) etags(items []item) (map[int]string, error) {
	out := map[int]string{}
	args := map[string]string{}
	var idx []int
	for i, it := range items {
		if it.prefix {
			continue
		}
		idx = append(idx, i)
		args["fid_"+strconv.Itoa(len(idx))] = strconv.FormatInt(it.e.fid, 10)
		out[i] = fidETag(it.e.fid)
	}
	if len(idx) == 0 {
		return out, nil
	}
	args["count"] = strconv.Itoa(len(idx))
	a, err := c.s.base.Do(c.ctx, "s3_get_meta", args)
	if client.IsCode(err, "unknown_command") {
		return out, nil
	}
	if err != nil {
		return nil, internal(err)
	}
	for j, i := range idx {
		if t := a["fid_"+strconv.Itoa(j+1)+"_etag"]; t != "" {
			out[i] = t
		}
	}
	return out, nil
}
