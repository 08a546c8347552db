package s3_test

import (
	"strings"
	"testing"
)

// TestCopyObject: a server-side copy takes the source's metadata (COPY)
// or the request's (REPLACE); a copy onto itself needs REPLACE and then
// changes the metadata only; refusals change nothing.
func TestCopyObject(t *testing.T) {
	e := startS3(t)
	data := content("src", 100<<10)
	e.admin(t, "PUT", "/files/src.bin", data, "Content-Type", "text/x-src", "X-Amz-Meta-A", "1")
	etag := `"` + md5hex(data) + `"`
	if r := e.admin(t, "PUT", "/files/dst/copy", nil, "X-Amz-Copy-Source", "/files/src.bin"); r.status != 200 || !contains(r, "<CopyObjectResult") {
		t.Fatalf("CopyObject: %v", r)
	}
	r := e.admin(t, "GET", "/files/dst/copy", nil)
	if string(r.body) != string(data) || r.header.Get("ETag") != etag || r.header.Get("Content-Type") != "text/x-src" || r.header.Get("X-Amz-Meta-A") != "1" {
		t.Fatalf("GET of the copy: %d bytes, %v", len(r.body), r.header)
	}
	if r := e.admin(t, "PUT", "/files/dst/replaced", nil, "X-Amz-Copy-Source", "files/src.bin",
		"X-Amz-Metadata-Directive", "REPLACE", "Content-Type", "text/x-new"); r.status != 200 {
		t.Fatalf("CopyObject REPLACE: %v", r)
	}
	if r := e.admin(t, "HEAD", "/files/dst/replaced", nil); r.header.Get("Content-Type") != "text/x-new" || r.header.Get("X-Amz-Meta-A") != "" {
		t.Fatalf("HEAD of a REPLACE copy: %v", r.header)
	}
	// Onto itself: refused without REPLACE, metadata only with it.
	if r := e.admin(t, "PUT", "/files/src.bin", nil, "X-Amz-Copy-Source", "/files/src.bin"); r.status != 400 || errCode(r) != "InvalidRequest" {
		t.Fatalf("copy onto itself: %v", r)
	}
	if r := e.admin(t, "PUT", "/files/src.bin", nil, "X-Amz-Copy-Source", "/files/src.bin",
		"X-Amz-Metadata-Directive", "REPLACE", "X-Amz-Meta-B", "2"); r.status != 200 {
		t.Fatalf("copy onto itself with REPLACE: %v", r)
	}
	r = e.admin(t, "GET", "/files/src.bin", nil)
	if string(r.body) != string(data) || r.header.Get("ETag") != etag || r.header.Get("X-Amz-Meta-B") != "2" || r.header.Get("X-Amz-Meta-A") != "" {
		t.Fatalf("GET after a metadata replace: %d bytes, %v", len(r.body), r.header)
	}
	// Refusals.
	for _, c := range []struct {
		key, secret string
		hdr         []string
		status      int
		code        string
	}{
		{adminKey, adminSecret, []string{"X-Amz-Copy-Source", "/files/none"}, 404, "NoSuchKey"},
		{adminKey, adminSecret, []string{"X-Amz-Copy-Source", "/files/src.bin", "X-Amz-Copy-Source-If-Match", `"nope"`}, 412, "PreconditionFailed"},
		{adminKey, adminSecret, []string{"X-Amz-Copy-Source", "/files/src.bin", "X-Amz-Metadata-Directive", "MOVE"}, 400, "InvalidArgument"},
		{photoKey, photoSecret, []string{"X-Amz-Copy-Source", "/files/src.bin"}, 403, "AccessDenied"},
	} {
		target := "/files/dst/refused"
		if c.key == photoKey {
			e.admin(t, "PUT", "/photos", nil)
			target = "/photos/stolen"
		}
		if r := e.do(t, c.key, c.secret, "PUT", target, nil, c.hdr...); r.status != c.status || errCode(r) != c.code {
			t.Errorf("copy with %v: %v", c.hdr, r)
		}
		if r := e.admin(t, "HEAD", target, nil); r.status != 404 {
			t.Errorf("a refused copy stored %s: %v", target, r)
		}
	}
}

func contains(r resp, s string) bool { return strings.Contains(string(r.body), s) }
