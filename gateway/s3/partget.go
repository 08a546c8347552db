package s3

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GetObject and HeadObject of one part (?partNumber=N, docs/s3.md §6.2).
// Complete keeps the sizes of the parts with the object's headers, in
// the field partSizesField, as runs of equal sizes: "SIZExCOUNT" joined
// by commas, COUNT left out when it is 1 (5 MiB, 5 MiB, 1 MiB is
// "5242880x2,1048576"). The field is the gateway's own: it is never sent
// as a header, and a CopyObject (a single-part object in S3) drops it.

// partSizesField is the name of the part sizes among the stored headers;
// no client header is stored under it (metaHeaders keeps only the
// Content-* headers and x-amz-meta-*).
const partSizesField = "mogile-part-sizes"

// maxStoredHeaders is the most the tracker keeps in s3_meta.headers.
const maxStoredHeaders = 64 << 10

var (
	errInvalidPartNumber = s3err(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber",
		"The requested partnumber is not satisfiable")
	errRangeAndPart = s3err(http.StatusBadRequest, "InvalidRequest",
		"Cannot specify both Range header and partNumber query parameter")
)

// partRun is a run of parts of the same size.
type partRun struct {
	size  int64
	count int
}

// encodePartSizes encodes the sizes of parts as runs.
func encodePartSizes(parts []part) string {
	var runs []partRun
	for _, p := range parts {
		if k := len(runs) - 1; k >= 0 && runs[k].size == p.size {
			runs[k].count++
			continue
		}
		runs = append(runs, partRun{p.size, 1})
	}
	var b strings.Builder
	for i, r := range runs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(r.size, 10))
		if r.count > 1 {
			fmt.Fprintf(&b, "x%d", r.count)
		}
	}
	return b.String()
}

// parsePartSizes reads encodePartSizes's runs; ok is false unless they
// are well formed, name 1 to 10000 parts and add up to total.
func parsePartSizes(s string, total int64) (runs []partRun, ok bool) {
	if s == "" {
		return nil, false
	}
	var sum int64
	parts := 0
	for _, f := range strings.Split(s, ",") {
		sz, cnt, hasCount := strings.Cut(f, "x")
		r := partRun{count: 1}
		var err error
		if r.size, err = strconv.ParseInt(sz, 10, 64); err != nil || r.size < 0 {
			return nil, false
		}
		if hasCount {
			if r.count, err = strconv.Atoi(cnt); err != nil || r.count < 1 || r.count > maxPartNum {
				return nil, false
			}
		}
		parts += r.count
		if parts > maxPartNum || r.size > total {
			return nil, false
		}
		sum += r.size * int64(r.count)
		runs = append(runs, r)
	}
	return runs, sum == total
}

// locatePart returns the first byte and the size of part n (from 1) and
// the number of parts; ok is false when there is no part n.
func locatePart(runs []partRun, n int) (off, size int64, count int, ok bool) {
	for _, r := range runs {
		count += r.count
	}
	for _, r := range runs {
		if n <= r.count {
			return off + int64(n-1)*r.size, r.size, count, true
		}
		n -= r.count
		off += r.size * int64(r.count)
	}
	return 0, 0, count, false
}

// withPartSizes adds the sizes of parts to the encoded headers of the
// object they make, unless that would pass the tracker's limit (then
// the object reads as a single part: ?partNumber=1 is all of it).
func withPartSizes(headers string, parts []part) string {
	v, err := url.ParseQuery(headers)
	if err != nil {
		return headers
	}
	v.Set(partSizesField, encodePartSizes(parts))
	if enc := v.Encode(); len(enc) <= maxStoredHeaders {
		return enc
	}
	return headers
}

// withoutPartSizes returns the headers to give a copy of an object: its
// own, without the part sizes.
func withoutPartSizes(h url.Values) string {
	if _, ok := h[partSizesField]; !ok {
		return h.Encode()
	}
	c := url.Values{}
	for k, v := range h {
		if k != partSizesField {
			c[k] = v
		}
	}
	return c.Encode()
}

// keepPartSizes adds the part sizes of from, if any, to the encoded
// headers: an object whose metadata is replaced in place keeps its
// content, its ETag and so its parts.
func keepPartSizes(headers string, from url.Values) string {
	ps := from.Get(partSizesField)
	if ps == "" {
		return headers
	}
	v, err := url.ParseQuery(headers)
	if err != nil {
		return headers
	}
	v.Set(partSizesField, ps)
	return v.Encode()
}

// checkPartQuery validates ?partNumber before anything is looked up:
// the part number, or 0 when none is asked.
func (c *call) checkPartQuery() (int, error) {
	if _, ok := c.query["partNumber"]; !ok {
		return 0, nil
	}
	n, err := partNumber(c.query.Get("partNumber"))
	if err != nil {
		return 0, err
	}
	if c.r.Header.Get("Range") != "" {
		return 0, errRangeAndPart
	}
	return n, nil
}

// byteRange returns the bytes of the object to answer: those of part
// num (num > 0), else those the Range header names.
func (c *call) byteRange(oi *objectInfo, num int) (off, n int64, partial bool, err error) {
	h := c.w.Header()
	if num == 0 {
		off, n, partial, err = parseRange(c.r.Header.Get("Range"), oi.size)
		if err != nil {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(oi.size, 10))
		}
		return off, n, partial, err
	}
	runs, ok := parsePartSizes(oi.headers.Get(partSizesField), oi.size)
	if !ok {
		// Not made by a multipart upload (or before the sizes were
		// kept): one part, the whole object.
		if num != 1 {
			return 0, 0, false, errInvalidPartNumber
		}
		return 0, oi.size, false, nil
	}
	off, n, count, ok := locatePart(runs, num)
	if !ok {
		return 0, 0, false, errInvalidPartNumber
	}
	h.Set("x-amz-mp-parts-count", strconv.Itoa(count))
	return off, n, true, nil
}
