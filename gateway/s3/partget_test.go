package s3_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestGetPart: GET and HEAD of one part (?partNumber) of an object made
// of 3 parts (5, 5 and 1 MiB), of a single-part object, of a copy, and
// every refusal.
func TestGetPart(t *testing.T) {
	e := startS3(t)
	const mib = 1 << 20
	parts := [][]byte{content("gp1", 5*mib), content("gp2", 5*mib), content("gp3", mib)}
	all := bytes.Join(parts, nil)
	m := e.createUpload(t, "/files/mp/obj", "Content-Type", "text/x-parts")
	for i, p := range parts {
		if r := m.part(i+1, p); r.status != 200 {
			t.Fatalf("UploadPart %d: %v", i+1, r)
		}
	}
	if r := m.complete(1, m.etags[1], 2, m.etags[2], 3, m.etags[3]); r.status != 200 || bodyCode(r) != "" {
		t.Fatalf("Complete: %v", r)
	}
	etag := multipartETag(parts...)
	off := 0
	for i, p := range parts {
		n := i + 1
		want := fmt.Sprintf("bytes %d-%d/%d", off, off+len(p)-1, len(all))
		r := e.admin(t, "GET", "/files/mp/obj?partNumber="+strconv.Itoa(n), nil)
		if r.status != 206 || !bytes.Equal(r.body, p) || r.header.Get("Content-Range") != want ||
			r.header.Get("Content-Length") != strconv.Itoa(len(p)) || r.header.Get("ETag") != etag ||
			r.header.Get("X-Amz-Mp-Parts-Count") != "3" || r.header.Get("Content-Type") != "text/x-parts" {
			t.Fatalf("GET part %d: %d, %d bytes (equal: %v), %v", n, r.status, len(r.body), bytes.Equal(r.body, p), r.header)
		}
		h := e.admin(t, "HEAD", "/files/mp/obj?partNumber="+strconv.Itoa(n), nil)
		if h.status != 206 || len(h.body) != 0 || h.header.Get("Content-Range") != want ||
			h.header.Get("Content-Length") != strconv.Itoa(len(p)) || h.header.Get("X-Amz-Mp-Parts-Count") != "3" {
			t.Fatalf("HEAD part %d: %v %v", n, h, h.header)
		}
		off += len(p)
	}
	// The whole object: no parts count, the part sizes not shown.
	r := e.admin(t, "GET", "/files/mp/obj", nil)
	if r.status != 200 || !bytes.Equal(r.body, all) || r.header.Get("X-Amz-Mp-Parts-Count") != "" {
		t.Fatalf("GET of the object: %d, %v", r.status, r.header)
	}
	for k := range r.header {
		if strings.Contains(strings.ToLower(k), "part-sizes") {
			t.Fatalf("internal field sent as a header: %v", r.header)
		}
	}
	// Conditions apply as to a plain GET.
	if r := e.admin(t, "GET", "/files/mp/obj?partNumber=2", nil, "If-Match", `"other"`); r.status != 412 || errCode(r) != "PreconditionFailed" {
		t.Errorf("part with a failing If-Match: %v", r)
	}
	if r := e.admin(t, "GET", "/files/mp/obj?partNumber=2", nil, "If-None-Match", etag); r.status != 304 {
		t.Errorf("part with a matching If-None-Match: %v", r)
	}
	if r := e.admin(t, "GET", "/files/mp/obj?partNumber=3", nil, "If-Match", etag); r.status != 206 || !bytes.Equal(r.body, parts[2]) {
		t.Errorf("part with a matching If-Match: %d, %d bytes", r.status, len(r.body))
	}
	// Refusals.
	for _, c := range []struct {
		target string
		hdr    []string
		status int
		code   string
	}{
		{"/files/mp/obj?partNumber=4", nil, 416, "InvalidPartNumber"},
		{"/files/mp/obj?partNumber=0", nil, 400, "InvalidArgument"},
		{"/files/mp/obj?partNumber=10001", nil, 400, "InvalidArgument"},
		{"/files/mp/obj?partNumber=two", nil, 400, "InvalidArgument"},
		{"/files/mp/obj?partNumber=1", []string{"Range", "bytes=0-9"}, 400, "InvalidRequest"},
		{"/files/nosuch?partNumber=1", nil, 404, "NoSuchKey"},
	} {
		if r := e.admin(t, "GET", c.target, nil, c.hdr...); r.status != c.status || errCode(r) != c.code {
			t.Errorf("GET %s %v: %v", c.target, c.hdr, r)
		}
		if r := e.admin(t, "HEAD", c.target, nil, c.hdr...); r.status != c.status || len(r.body) != 0 {
			t.Errorf("HEAD %s %v: %v", c.target, c.hdr, r)
		}
	}

	// A single-part object is one part: all of it, 200, no parts count.
	single := content("single", 3000)
	e.admin(t, "PUT", "/files/one", single)
	if r := e.admin(t, "GET", "/files/one?partNumber=1", nil); r.status != 200 || !bytes.Equal(r.body, single) ||
		r.header.Get("X-Amz-Mp-Parts-Count") != "" || r.header.Get("Content-Range") != "" {
		t.Fatalf("part 1 of a single-part object: %d, %v", r.status, r.header)
	}
	if r := e.admin(t, "HEAD", "/files/one?partNumber=1", nil); r.status != 200 || r.header.Get("Content-Length") != "3000" {
		t.Fatalf("HEAD part 1 of a single-part object: %v %v", r, r.header)
	}
	if r := e.admin(t, "GET", "/files/one?partNumber=2", nil); r.status != 416 || errCode(r) != "InvalidPartNumber" {
		t.Fatalf("part 2 of a single-part object: %v", r)
	}

	// A CopyObject is a single-part object; a copy onto itself keeps its
	// content, its ETag and so its parts.
	if r := e.admin(t, "PUT", "/files/mp/copy", nil, "X-Amz-Copy-Source", "/files/mp/obj"); r.status != 200 {
		t.Fatalf("CopyObject: %v", r)
	}
	if r := e.admin(t, "GET", "/files/mp/copy?partNumber=1", nil); r.status != 200 || !bytes.Equal(r.body, all) ||
		r.header.Get("X-Amz-Mp-Parts-Count") != "" || r.header.Get("ETag") != `"`+md5hex(all)+`"` {
		t.Fatalf("part 1 of a copy: %d, %d bytes, %v", r.status, len(r.body), r.header)
	}
	if r := e.admin(t, "GET", "/files/mp/copy?partNumber=2", nil); r.status != 416 {
		t.Fatalf("part 2 of a copy: %v", r)
	}
	if r := e.admin(t, "PUT", "/files/mp/obj", nil, "X-Amz-Copy-Source", "/files/mp/obj",
		"X-Amz-Metadata-Directive", "REPLACE", "Content-Type", "text/x-replaced"); r.status != 200 {
		t.Fatalf("copy onto itself: %v", r)
	}
	if r := e.admin(t, "GET", "/files/mp/obj?partNumber=3", nil); r.status != 206 || !bytes.Equal(r.body, parts[2]) ||
		r.header.Get("X-Amz-Mp-Parts-Count") != "3" || r.header.Get("Content-Type") != "text/x-replaced" {
		t.Fatalf("part 3 after a copy onto itself: %d, %v", r.status, r.header)
	}
}

// uploadsPage is a ListMultipartUploads answer.
type uploadsPage struct {
	Uploads []struct {
		Key      string
		UploadID string `xml:"UploadId"`
	} `xml:"Upload"`
	CommonPrefixes     []struct{ Prefix string }
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string `xml:"NextUploadIdMarker"`
	Delimiter          string
}

func (p uploadsPage) names() []string {
	var out []string
	for _, u := range p.Uploads {
		out = append(out, u.Key)
	}
	for _, c := range p.CommonPrefixes {
		out = append(out, "P:"+c.Prefix)
	}
	return out
}

func (e *env) listUploads(t *testing.T, q url.Values) uploadsPage {
	t.Helper()
	r := e.admin(t, "GET", "/files?uploads&"+q.Encode(), nil)
	var p uploadsPage
	if r.status != 200 || xml.Unmarshal(r.body, &p) != nil {
		t.Fatalf("ListMultipartUploads %s: %v", q.Encode(), r)
	}
	return p
}

// TestListUploadsDelimiter: ListMultipartUploads groups keys into
// CommonPrefixes by the delimiter, and pages through them.
func TestListUploadsDelimiter(t *testing.T) {
	e := startS3(t)
	keys := []string{"a/1", "a/2", "a/2", "a/b/3", "b", "c/x", "c/y/z", "top", "x-1", "x-2"}
	for _, k := range keys {
		e.createUpload(t, "/files/"+k)
	}
	for _, c := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{}, strings.Join(keys, " ")},
		{url.Values{"delimiter": {"/"}}, "b top x-1 x-2 P:a/ P:c/"},
		{url.Values{"delimiter": {"/"}, "prefix": {"a/"}}, "a/1 a/2 a/2 P:a/b/"},
		{url.Values{"delimiter": {"/"}, "prefix": {"c"}}, "P:c/"},
		{url.Values{"delimiter": {"-"}}, "a/1 a/2 a/2 a/b/3 b c/x c/y/z top P:x-"},
		{url.Values{"delimiter": {"/"}, "key-marker": {"a/"}}, "b top x-1 x-2 P:c/"},
	} {
		p := e.listUploads(t, c.q)
		if got := strings.Join(p.names(), " "); got != c.want || p.IsTruncated || p.Delimiter != c.q.Get("delimiter") {
			t.Errorf("%s: %q truncated=%v delimiter=%q, want %q", c.q.Encode(), got, p.IsTruncated, p.Delimiter, c.want)
		}
	}
	// Pages of 1 and 2: every upload and prefix once, in order, with
	// IsTruncated true on all but the last page.
	for _, size := range []int{1, 2} {
		var got []string
		q := url.Values{"delimiter": {"/"}, "max-uploads": {strconv.Itoa(size)}}
		for pages := 0; ; pages++ {
			if pages > len(keys) {
				t.Fatalf("max-uploads=%d: no end after %d pages: %v", size, pages, got)
			}
			p := e.listUploads(t, q)
			page := p.names()
			if len(page) > size || len(page) == 0 {
				t.Fatalf("max-uploads=%d: page %v", size, page)
			}
			for _, u := range p.Uploads {
				got = append(got, u.Key)
			}
			for _, c := range p.CommonPrefixes {
				got = append(got, "P:"+c.Prefix)
			}
			if !p.IsTruncated {
				break
			}
			q.Set("key-marker", p.NextKeyMarker)
			q.Set("upload-id-marker", p.NextUploadIDMarker)
		}
		// In key order (a page has its uploads before its prefixes).
		sort.SliceStable(got, func(i, j int) bool {
			return strings.TrimPrefix(got[i], "P:") < strings.TrimPrefix(got[j], "P:")
		})
		if g, want := strings.Join(got, " "), "P:a/ b P:c/ top x-1 x-2"; g != want {
			t.Errorf("max-uploads=%d: pages gave %q, want %q", size, g, want)
		}
	}
}

// TestListUploadsOneKeyPages: several uploads of one key, listed in
// initiation order (not in the order of their random ids), page through
// one at a time, each exactly once.
func TestListUploadsOneKeyPages(t *testing.T) {
	e := startS3(t)
	var want []string
	for range 6 {
		want = append(want, e.createUpload(t, "/files/same").id)
	}
	all := e.listUploads(t, url.Values{})
	var order []string
	for _, u := range all.Uploads {
		order = append(order, u.UploadID)
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("one page: %v, want initiation order %v", order, want)
	}
	var got []string
	q := url.Values{"max-uploads": {"1"}}
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("no end after %d pages: %v", pages, got)
		}
		p := e.listUploads(t, q)
		for _, u := range p.Uploads {
			got = append(got, u.UploadID)
		}
		if !p.IsTruncated {
			break
		}
		q.Set("key-marker", p.NextKeyMarker)
		q.Set("upload-id-marker", p.NextUploadIDMarker)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pages of one: %v, want %v", got, want)
	}
}
