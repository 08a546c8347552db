package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
)

// listResult is the part of ListBucketResult the tests read.
type listResult struct {
	IsTruncated           bool
	NextContinuationToken string
	NextMarker            string
	KeyCount              int
	Contents              []struct {
		Key  string
		ETag string
		Size int64
	}
	CommonPrefixes []struct{ Prefix string }
}

func (e *env) list(t *testing.T, bucket string, q url.Values) listResult {
	t.Helper()
	r := e.admin(t, "GET", "/"+bucket+"?"+q.Encode(), nil)
	if r.status != 200 {
		t.Fatalf("list %v: %v", q, r)
	}
	var lr listResult
	if err := xml.Unmarshal(r.body, &lr); err != nil {
		t.Fatalf("list %v: %v\n%s", q, err, r.body)
	}
	return lr
}

// names renders a page as "key" and "prefix/" lines, in order.
func (lr listResult) names() string {
	var s []string
	for _, c := range lr.Contents {
		s = append(s, c.Key)
	}
	for _, p := range lr.CommonPrefixes {
		s = append(s, "P:"+p.Prefix)
	}
	return strings.Join(s, " ")
}

// errCode is the Code of an S3 error answer.
func errCode(r resp) string {
	var x struct{ Code string }
	xml.Unmarshal(r.body, &x)
	return x.Code
}

func TestListings(t *testing.T) {
	e := startS3(t)
	keys := []string{"a", "a.jpg", "a/x", "a/y/z", "a0", "b/c", "b/d", "photos/2024/ab1", "photos/2024/ab2/x",
		"photos/2024/abc", "photos/2024/b", "photos/2024/aa", "sp ace+plus", "x-y-z", "x-y/w"}
	for _, k := range keys {
		if r := e.admin(t, "PUT", "/files/"+escapeKey(k), []byte(k)); r.status != 200 {
			t.Fatalf("PUT %s: %v", k, r)
		}
	}
	for _, c := range []struct {
		q    string
		want string
	}{
		{"list-type=2", strings.Join(sortedCopy(keys), " ")},
		{"list-type=2&delimiter=/", "a a.jpg a0 sp ace+plus x-y-z P:a/ P:b/ P:photos/ P:x-y/"},
		{"list-type=2&delimiter=/&prefix=a/", "a/x P:a/y/"},
		{"list-type=2&delimiter=/&prefix=photos/2024/ab", "photos/2024/ab1 photos/2024/abc P:photos/2024/ab2/"},
		{"list-type=2&prefix=photos/2024/ab", "photos/2024/ab1 photos/2024/ab2/x photos/2024/abc"},
		{"list-type=2&prefix=a&start-after=a/x", "a/y/z a0"},
		{"marker=b/c", "b/d photos/2024/aa photos/2024/ab1 photos/2024/ab2/x photos/2024/abc photos/2024/b sp ace+plus x-y-z x-y/w"},
		{"delimiter=-&prefix=x", "P:x-"},
		{"list-type=2&delimiter=/&prefix=zzz", ""},
	} {
		q, _ := url.ParseQuery(c.q)
		if got := e.list(t, "files", q).names(); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.q, got, c.want)
		}
	}
	// Pages of 2 with continuation tokens, with and without delimiter,
	// give the same as one page.
	for _, base := range []string{"list-type=2", "list-type=2&delimiter=/", "list-type=2&prefix=photos/"} {
		q, _ := url.ParseQuery(base)
		whole := e.list(t, "files", q).names()
		var got []string
		tok := ""
		for pages := 0; ; pages++ {
			q, _ := url.ParseQuery(base + "&max-keys=2")
			if tok != "" {
				q.Set("continuation-token", tok)
			}
			lr := e.list(t, "files", q)
			if lr.KeyCount > 2 || pages > 20 {
				t.Fatalf("%s: page of %d, %d pages", base, lr.KeyCount, pages)
			}
			if n := lr.names(); n != "" {
				got = append(got, n)
			}
			if !lr.IsTruncated {
				break
			}
			tok = lr.NextContinuationToken
		}
		if paged := strings.Join(got, " "); !sameSet(paged, whole) {
			t.Errorf("%s paged: %s\n whole: %s", base, paged, whole)
		}
	}
	// v1 pages with NextMarker.
	lr := e.list(t, "files", url.Values{"max-keys": {"3"}, "delimiter": {"/"}})
	if !lr.IsTruncated || lr.NextMarker != "a/" { // a, a.jpg, a/ in key order
		t.Fatalf("v1 page: truncated %v next marker %q (%s)", lr.IsTruncated, lr.NextMarker, lr.names())
	}
	// encoding-type=url encodes keys; ETags are the MD5s; sizes.
	lr = e.list(t, "files", url.Values{"list-type": {"2"}, "prefix": {"sp"}, "encoding-type": {"url"}})
	if len(lr.Contents) != 1 || lr.Contents[0].Key != "sp+ace%2Bplus" {
		t.Fatalf("encoding-type=url: %+v", lr.Contents)
	}
	sum := md5.Sum([]byte("sp ace+plus"))
	if lr.Contents[0].ETag != `"`+hex.EncodeToString(sum[:])+`"` || lr.Contents[0].Size != 11 {
		t.Fatalf("etag/size: %+v", lr.Contents[0])
	}
	// Unknown bucket.
	if r := e.admin(t, "GET", "/nosuch?list-type=2", nil); r.status != 404 || errCode(r) != "NoSuchBucket" {
		t.Fatalf("list of an unknown bucket: %v", r)
	}
}

func escapeKey(k string) string {
	return strings.ReplaceAll(url.PathEscape(k), "%2F", "/")
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// sameSet compares two space-separated listings ignoring the order
// (a page puts its common prefixes after its keys).
func sameSet(a, b string) bool {
	return strings.Join(sortedCopy(strings.Fields(a)), " ") == strings.Join(sortedCopy(strings.Fields(b)), " ")
}

func TestObjects(t *testing.T) {
	e := startS3(t)
	data := []byte("0123456789abcdefghij")
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	r := e.admin(t, "PUT", "/files/dir/obj.txt", data, "Content-Type", "text/x-test", "X-Amz-Meta-Color", "blue",
		"Cache-Control", "max-age=60", "Content-Disposition", "attachment", "Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	if r.status != 200 || r.header.Get("ETag") != etag {
		t.Fatalf("PUT: %v %v", r, r.header)
	}
	r = e.admin(t, "GET", "/files/dir/obj.txt", nil)
	h := r.header
	if r.status != 200 || string(r.body) != string(data) || h.Get("ETag") != etag || h.Get("Content-Type") != "text/x-test" ||
		h.Get("X-Amz-Meta-Color") != "blue" || h.Get("Cache-Control") != "max-age=60" || h.Get("Content-Disposition") != "attachment" {
		t.Fatalf("GET: %v %v", r, h)
	}
	lm := h.Get("Last-Modified")
	mtime, err := http.ParseTime(lm)
	if err != nil || time.Since(mtime) > time.Minute {
		t.Fatalf("Last-Modified %q", lm)
	}
	for _, c := range []struct {
		hdr    []string
		status int
		body   string
	}{
		{[]string{"Range", "bytes=2-4"}, 206, "234"},
		{[]string{"Range", "bytes=15-"}, 206, "fghij"},
		{[]string{"Range", "bytes=-3"}, 206, "hij"},
		{[]string{"Range", "bytes=18-100"}, 206, "ij"},
		{[]string{"Range", "bytes=20-"}, 416, ""},
		{[]string{"If-Match", etag}, 200, string(data)},
		{[]string{"If-Match", `"nope"`}, 412, ""},
		{[]string{"If-None-Match", etag}, 304, ""},
		{[]string{"If-None-Match", `"nope"`}, 200, string(data)},
		{[]string{"If-Modified-Since", lm}, 304, ""},
		{[]string{"If-Modified-Since", mtime.Add(-time.Hour).Format(http.TimeFormat)}, 200, string(data)},
		{[]string{"If-Unmodified-Since", mtime.Add(-time.Hour).Format(http.TimeFormat)}, 412, ""},
		{[]string{"If-Unmodified-Since", lm}, 200, string(data)},
	} {
		r := e.admin(t, "GET", "/files/dir/obj.txt", nil, c.hdr...)
		if r.status != c.status || c.status < 300 && string(r.body) != c.body {
			t.Errorf("GET with %v: %v", c.hdr, r)
		}
		if c.status == 412 && errCode(r) != "PreconditionFailed" || c.status == 416 && errCode(r) != "InvalidRange" {
			t.Errorf("GET with %v: code %s", c.hdr, errCode(r))
		}
	}
	if r := e.admin(t, "HEAD", "/files/dir/obj.txt", nil); r.status != 200 || r.header.Get("Content-Length") != "20" || len(r.body) != 0 {
		t.Fatalf("HEAD: %v %v", r, r.header)
	}
	if r := e.admin(t, "HEAD", "/files/dir/none", nil); r.status != 404 {
		t.Fatalf("HEAD of a missing key: %v", r)
	}
	if r := e.admin(t, "GET", "/files/dir/none", nil); r.status != 404 || errCode(r) != "NoSuchKey" {
		t.Fatalf("GET of a missing key: %v", r)
	}
	// Content-MD5 that does not match: refused, nothing stored.
	bad := md5.Sum([]byte("other"))
	if r := e.admin(t, "PUT", "/files/dir/bad.txt", data, "Content-MD5", base64.StdEncoding.EncodeToString(bad[:])); r.status != 400 || errCode(r) != "BadDigest" {
		t.Fatalf("PUT with a wrong Content-MD5: %v", r)
	}
	if r := e.admin(t, "HEAD", "/files/dir/bad.txt", nil); r.status != 404 {
		t.Fatalf("a refused PUT stored the key: %v", r)
	}
	// Storage class: a class of that name, else the default class.
	e.admin(t, "PUT", "/files/c1", data, "X-Amz-Storage-Class", "rep1")
	e.admin(t, "PUT", "/files/c2", data, "X-Amz-Storage-Class", "GLACIER")
	lib := e.libClient(t, "files")
	for k, want := range map[string]string{"c1": "rep1", "c2": "default"} {
		fi, err := lib.FileInfo(context.Background(), k)
		if err != nil || fi.Class != want {
			t.Errorf("%s: class %v, %v; want %s", k, fi, err, want)
		}
	}
	// DeleteObject; DeleteObjects with and without Quiet.
	if r := e.admin(t, "DELETE", "/files/c1", nil); r.status != 204 {
		t.Fatalf("DELETE: %v", r)
	}
	if r := e.admin(t, "DELETE", "/files/c1", nil); r.status != 204 {
		t.Fatalf("DELETE of a missing key: %v", r)
	}
	del := []byte(`<Delete><Object><Key>c2</Key></Object><Object><Key>dir/obj.txt</Key></Object><Object><Key>never</Key></Object></Delete>`)
	dsum := md5.Sum(del)
	r = e.admin(t, "POST", "/files?delete", del, "Content-MD5", base64.StdEncoding.EncodeToString(dsum[:]))
	if r.status != 200 || strings.Count(string(r.body), "<Deleted>") != 3 {
		t.Fatalf("DeleteObjects: %v", r)
	}
	e.admin(t, "PUT", "/files/q", data)
	quiet := []byte(`<Delete><Quiet>true</Quiet><Object><Key>q</Key></Object></Delete>`)
	if r := e.admin(t, "POST", "/files?delete", quiet); r.status != 200 || strings.Contains(string(r.body), "<Deleted>") {
		t.Fatalf("quiet DeleteObjects: %v", r)
	}
	if lr := e.list(t, "files", url.Values{"list-type": {"2"}}); len(lr.Contents) != 0 {
		t.Fatalf("left: %s", lr.names())
	}
	// Not implemented: 501, nothing done.
	for _, c := range []struct{ method, target string }{
		{"PUT", "/files/k?tagging"}, {"GET", "/files/k?torrent"}, {"GET", "/files?lifecycle"},
		{"PUT", "/files?versioning"}, {"GET", "/files?versions"},
	} {
		if r := e.admin(t, c.method, c.target, nil); r.status != 501 || errCode(r) != "NotImplemented" {
			t.Errorf("%s %s: %v", c.method, c.target, r)
		}
	}
	// Buckets: location, versioning, create twice, delete non-empty.
	if r := e.admin(t, "GET", "/files?location", nil); r.status != 200 || !strings.Contains(string(r.body), "LocationConstraint") {
		t.Fatalf("location: %v", r)
	}
	if r := e.admin(t, "GET", "/files?versioning", nil); r.status != 200 {
		t.Fatalf("versioning: %v", r)
	}
	if r := e.admin(t, "PUT", "/files", []byte(`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`)); r.status != 409 || errCode(r) != "BucketAlreadyOwnedByYou" {
		t.Fatalf("create an existing bucket: %v", r)
	}
	e.admin(t, "PUT", "/files/keep", data)
	if r := e.admin(t, "DELETE", "/files", nil); r.status != 409 || errCode(r) != "BucketNotEmpty" {
		t.Fatalf("delete a bucket with keys: %v", r)
	}
	if r := e.admin(t, "HEAD", "/nosuch", nil); r.status != 404 {
		t.Fatalf("HEAD of an unknown bucket: %v", r)
	}
	// Virtual-hosted style.
	if r := e.admin(t, "GET", "/keep", nil, "Host", "files.s3.test"); r.status != 200 || string(r.body) != string(data) {
		t.Fatalf("virtual-hosted GET: %v", r)
	}
}

// TestRefusals: bad signatures, expired presigned URLs, a key without
// rights to a bucket: refused with the right error, nothing changed.
func TestRefusals(t *testing.T) {
	e := startS3(t)
	ctx := context.Background()
	lib := e.libClient(t, "files")
	if _, err := lib.StoreBytes(ctx, "orig", "", []byte("original")); err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		if b, err := lib.GetBytes(ctx, "orig"); err != nil || string(b) != "original" {
			t.Fatalf("%s changed the key: %q, %v", what, b, err)
		}
		if _, err := lib.FileInfo(ctx, "new"); err == nil {
			t.Fatalf("%s created a key", what)
		}
	}
	// Wrong secret.
	for _, m := range []string{"PUT", "DELETE"} {
		for _, k := range []string{"orig", "new"} {
			r := e.do(t, adminKey, "wrong secret", m, "/files/"+k, []byte("evil"))
			if r.status != 403 || errCode(r) != "SignatureDoesNotMatch" {
				t.Fatalf("%s with a wrong secret: %v", m, r)
			}
		}
	}
	unchanged("a wrong secret")
	// Unknown access key.
	if r := e.do(t, "AKIAUNKNOWN", adminSecret, "PUT", "/files/new", []byte("x")); r.status != 403 || errCode(r) != "InvalidAccessKeyId" {
		t.Fatalf("unknown key: %v", r)
	}
	// A key limited to "photos": no access to "files", not listed.
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		r := e.do(t, photoKey, photoSecret, m, "/files/orig", []byte("evil"))
		if r.status != 403 || errCode(r) != "AccessDenied" {
			t.Fatalf("%s without rights: %v", m, r)
		}
	}
	if r := e.do(t, photoKey, photoSecret, "PUT", "/other", nil); r.status != 403 {
		t.Fatalf("create a bucket without rights: %v", r)
	}
	if r := e.do(t, photoKey, photoSecret, "GET", "/", nil); r.status != 200 || strings.Contains(string(r.body), "<Name>files</Name>") {
		t.Fatalf("ListBuckets shows a bucket without rights: %v", r)
	}
	del := []byte(`<Delete><Object><Key>orig</Key></Object></Delete>`)
	if r := e.do(t, photoKey, photoSecret, "POST", "/files?delete", del); r.status != 403 {
		t.Fatalf("DeleteObjects without rights: %v", r)
	}
	unchanged("a key without rights")
	// A body that does not match its signed SHA-256.
	req, _ := http.NewRequest("PUT", e.URL+"/files/orig", bytes.NewReader([]byte("evil!")))
	s := sigv4.Signer{AccessKey: adminKey, Secret: adminSecret, Region: "us-east-1"}
	s.Sign(req, sha256hex([]byte("other")), time.Now())
	if r := send(t, req); r.status != 400 || errCode(r) != "XAmzContentSHA256Mismatch" {
		t.Fatalf("mismatching payload: %v", r)
	}
	// A chunked upload with one chunk altered.
	data := bytes.Repeat([]byte("chunk"), 30000)
	chunked := func(alter bool) resp {
		req, _ := http.NewRequest("PUT", e.URL+"/files/orig", nil)
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
		now := time.Now()
		seed, _ := s.Sign(req, sigv4.StreamingPayload, now)
		body := s.EncodeChunked(data, 64<<10, seed, now)
		if alter {
			body[200] ^= 1
		}
		req.Body = ioNopCloser(body)
		req.ContentLength = int64(len(body))
		return send(t, req)
	}
	if r := chunked(true); r.status != 403 || errCode(r) != "SignatureDoesNotMatch" {
		t.Fatalf("altered chunk: %v", r)
	}
	unchanged("an altered chunk")
	// Presigned: valid, then expired; an altered one.
	presign := func(key string, expires time.Duration, at time.Time) string {
		req, _ := http.NewRequest("GET", e.URL+"/files/"+key, nil)
		if err := s.Presign(req, expires, at); err != nil {
			t.Fatal(err)
		}
		return req.URL.String()
	}
	get := func(u string) resp {
		req, _ := http.NewRequest("GET", u, nil)
		return send(t, req)
	}
	if r := get(presign("orig", time.Minute, time.Now())); r.status != 200 || string(r.body) != "original" {
		t.Fatalf("presigned GET: %v", r)
	}
	if r := get(presign("orig", time.Minute, time.Now().Add(-2*time.Minute))); r.status != 403 || errCode(r) != "AccessDenied" {
		t.Fatalf("expired presigned GET: %v", r)
	}
	if r := get(strings.Replace(presign("orig", time.Minute, time.Now()), "/orig?", "/new?", 1)); r.status != 403 || errCode(r) != "SignatureDoesNotMatch" {
		t.Fatalf("altered presigned URL: %v", r)
	}
	// The chunked upload unaltered goes through.
	if r := chunked(false); r.status != 200 {
		t.Fatalf("chunked upload: %v", r)
	}
	if b, err := lib.GetBytes(ctx, "orig"); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("after the chunked upload: %d bytes, %v", len(b), err)
	}
}

func ioNopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
