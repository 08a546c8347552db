package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
)

// mpu is a multipart upload being driven by a test.
type mpu struct {
	e      *env
	t      *testing.T
	target string // /bucket/key
	id     string
	etags  map[int]string
}

func (e *env) createUpload(t *testing.T, target string, hdr ...string) *mpu {
	t.Helper()
	r := e.admin(t, "POST", target+"?uploads", nil, hdr...)
	var out struct{ UploadId string }
	if r.status != 200 || xml.Unmarshal(r.body, &out) != nil || len(out.UploadId) != 32 {
		t.Fatalf("CreateMultipartUpload: %v", r)
	}
	return &mpu{e: e, t: t, target: target, id: out.UploadId, etags: map[int]string{}}
}

func (m *mpu) part(n int, data []byte) resp {
	m.t.Helper()
	r := m.e.admin(m.t, "PUT", fmt.Sprintf("%s?partNumber=%d&uploadId=%s", m.target, n, m.id), data)
	if r.status == 200 {
		m.etags[n] = r.header.Get("ETag")
	}
	return r
}

// complete sends CompleteMultipartUpload naming parts (number, ETag).
func (m *mpu) complete(parts ...any) resp {
	m.t.Helper()
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i := 0; i+1 < len(parts); i += 2 {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", parts[i], parts[i+1])
	}
	b.WriteString("</CompleteMultipartUpload>")
	return m.e.admin(m.t, "POST", m.target+"?uploadId="+m.id, []byte(b.String()))
}

// bodyCode is the error code in a body that may start with whitespace
// (Complete answers 200, then the outcome).
func bodyCode(r resp) string {
	var x struct {
		XMLName xml.Name
		Code    string
	}
	xml.Unmarshal(bytes.TrimSpace(r.body), &x)
	return x.Code
}

func md5hex(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// multipartETag is S3's ETag of an object made of parts.
func multipartETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	return fmt.Sprintf(`"%s-%d"`, md5hex(sums), len(parts))
}

// TestMultipart: an upload of 3 parts (5 MiB, 5 MiB, 1 MiB) becomes one
// object with the headers given at its creation and the multipart ETag;
// ListParts and ListMultipartUploads show it while it runs; the staging
// keys are gone after Complete and Abort; every refusal changes nothing.
func TestMultipart(t *testing.T) {
	e := startS3(t)
	const mib = 1 << 20
	p1, p2, p3 := content("p1", 5*mib), content("p2", 5*mib), content("p3", mib)
	m := e.createUpload(t, "/files/big/obj", "Content-Type", "text/x-parts", "X-Amz-Meta-Origin", "mpu")
	for i, p := range [][]byte{p1, p2, p3} {
		if r := m.part(i+1, p); r.status != 200 || r.header.Get("ETag") != `"`+md5hex(p)+`"` {
			t.Fatalf("UploadPart %d: %v %v", i+1, r, r.header)
		}
	}
	r := e.admin(t, "GET", "/files/big/obj?uploadId="+m.id, nil)
	if r.status != 200 || strings.Count(string(r.body), "<Part>") != 3 || !strings.Contains(string(r.body), "<Size>1048576</Size>") {
		t.Fatalf("ListParts: %v", r)
	}
	if r := e.admin(t, "GET", "/files/big/obj?uploadId="+m.id+"&max-parts=2", nil); !strings.Contains(string(r.body), "<IsTruncated>true</IsTruncated>") ||
		!strings.Contains(string(r.body), "<NextPartNumberMarker>2</NextPartNumberMarker>") {
		t.Fatalf("ListParts max-parts=2: %v", r)
	}
	if r := e.admin(t, "GET", "/files?uploads", nil); r.status != 200 || !strings.Contains(string(r.body), "<UploadId>"+m.id+"</UploadId>") {
		t.Fatalf("ListMultipartUploads: %v", r)
	}
	if lr := e.list(t, "files", url.Values{"list-type": {"2"}}); len(lr.Contents)+len(lr.CommonPrefixes) != 0 {
		t.Fatalf("staging keys listed: %s", lr.names())
	}
	// Refusals: nothing is committed.
	for _, c := range []struct {
		name  string
		parts []any
		code  string
	}{
		{"order", []any{2, m.etags[2], 1, m.etags[1]}, "InvalidPartOrder"},
		{"etag", []any{1, `"0123"`, 2, m.etags[2]}, "InvalidPart"},
		{"missing", []any{1, m.etags[1], 4, m.etags[3]}, "InvalidPart"},
		{"small", []any{1, m.etags[1], 3, m.etags[3], 2, m.etags[2]}, "InvalidPartOrder"},
	} {
		if r := m.complete(c.parts...); r.status != 400 || bodyCode(r) != c.code {
			t.Errorf("Complete (%s): %v", c.name, r)
		}
	}
	if r := e.admin(t, "PUT", "/files/big/obj?partNumber=0&uploadId="+m.id, []byte("x")); r.status != 400 || errCode(r) != "InvalidArgument" {
		t.Errorf("part number 0: %v", r)
	}
	if r := e.admin(t, "PUT", "/files/other?partNumber=1&uploadId="+m.id, []byte("x")); r.status != 404 || errCode(r) != "NoSuchUpload" {
		t.Errorf("part of another key's upload: %v", r)
	}
	if r := e.admin(t, "POST", "/files/big/obj?uploadId=00000000000000000000000000000000", []byte("<CompleteMultipartUpload/>")); r.status != 404 || errCode(r) != "NoSuchUpload" {
		t.Errorf("Complete of an unknown upload: %v", r)
	}
	if r := e.admin(t, "HEAD", "/files/big/obj", nil); r.status != 404 {
		t.Fatalf("a refused Complete stored the object: %v", r)
	}
	r = m.complete(1, m.etags[1], 2, m.etags[2], 3, m.etags[3])
	want := multipartETag(p1, p2, p3)
	if r.status != 200 || bodyCode(r) != "" || !strings.Contains(string(r.body), "<ETag>&#34;"+strings.Trim(want, `"`)+"&#34;</ETag>") {
		t.Fatalf("Complete: %v", r)
	}
	r = e.admin(t, "GET", "/files/big/obj", nil)
	if r.status != 200 || !bytes.Equal(r.body, bytes.Join([][]byte{p1, p2, p3}, nil)) || r.header.Get("ETag") != want ||
		r.header.Get("Content-Type") != "text/x-parts" || r.header.Get("X-Amz-Meta-Origin") != "mpu" {
		t.Fatalf("GET of the completed object: %d, %d bytes, %v", r.status, len(r.body), r.header)
	}
	if r := e.admin(t, "GET", "/files/big/obj?uploadId="+m.id, nil); r.status != 404 || errCode(r) != "NoSuchUpload" {
		t.Fatalf("ListParts after Complete: %v", r)
	}
	e.noStaging(t)

	// EntityTooSmall: a part under 5 MiB that is not the last.
	s := e.createUpload(t, "/files/small")
	s.part(1, []byte("tiny"))
	s.part(2, []byte("tail"))
	if r := s.complete(1, s.etags[1], 2, s.etags[2]); r.status != 400 || bodyCode(r) != "EntityTooSmall" {
		t.Fatalf("Complete with a small part: %v", r)
	}
	// Abort: the parts and the record go.
	if r := e.admin(t, "DELETE", "/files/small?uploadId="+s.id, nil); r.status != 204 {
		t.Fatalf("Abort: %v", r)
	}
	if r := e.admin(t, "DELETE", "/files/small?uploadId="+s.id, nil); r.status != 404 || errCode(r) != "NoSuchUpload" {
		t.Fatalf("Abort again: %v", r)
	}
	e.noStaging(t)

	// UploadPartCopy: parts that are ranges of an object.
	all := bytes.Join([][]byte{p1, p2, p3}, nil)
	c := e.createUpload(t, "/files/copied")
	for i, rg := range []string{"bytes=0-5242879", fmt.Sprintf("bytes=5242880-%d", len(all)-1)} {
		r := e.admin(t, "PUT", fmt.Sprintf("/files/copied?partNumber=%d&uploadId=%s", i+1, c.id), nil,
			"X-Amz-Copy-Source", "/files/big/obj", "X-Amz-Copy-Source-Range", rg)
		var res struct{ ETag string }
		if r.status != 200 || xml.Unmarshal(r.body, &res) != nil {
			t.Fatalf("UploadPartCopy %s: %v", rg, r)
		}
		c.etags[i+1] = res.ETag
	}
	if r := c.complete(1, c.etags[1], 2, c.etags[2]); r.status != 200 || bodyCode(r) != "" {
		t.Fatalf("Complete of copied parts: %v", r)
	}
	if r := e.admin(t, "GET", "/files/copied", nil); !bytes.Equal(r.body, all) || r.header.Get("ETag") != multipartETag(all[:5*mib], all[5*mib:]) {
		t.Fatalf("GET of the copied object: %d bytes, %v", len(r.body), r.header)
	}
	e.noStaging(t)
}

// noStaging fails unless no staging key is left in bucket files.
func (e *env) noStaging(t *testing.T) {
	t.Helper()
	keys, _, err := e.libClient(t, "files").ListKeys(context.Background(), ".s3/", "", 100)
	if err != nil && !client.IsCode(err, "none_match") || len(keys) != 0 {
		t.Fatalf("staging keys left: %v %v", keys, err)
	}
}

// TestSweepUploads: the sweep aborts uploads older than its limit, and
// does nothing while another holds the lease.
func TestSweepUploads(t *testing.T) {
	e := startS3(t)
	ctx := context.Background()
	m := e.createUpload(t, "/files/left/behind")
	m.part(1, []byte("part one"))
	if n, err := e.srv.SweepUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep of uploads over an hour old: %d, %v", n, err)
	}
	if r := e.admin(t, "GET", "/files/left/behind?uploadId="+m.id, nil); r.status != 200 {
		t.Fatalf("a recent upload was swept: %v", r)
	}
	lib := e.libClient(t, "files")
	a, err := lib.Do(ctx, "s3_lock", map[string]string{"name": "abandoned-uploads", "ttl": "60"})
	if err != nil || a["locked"] != "1" {
		t.Fatalf("s3_lock: %v, %v", a, err)
	}
	if n, err := e.srv.SweepUploads(ctx, 0); err != nil || n != 0 {
		t.Fatalf("sweep while another holds the lease: %d, %v", n, err)
	}
	if _, err := lib.Do(ctx, "s3_unlock", map[string]string{"name": "abandoned-uploads", "token": a["token"]}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.srv.SweepUploads(ctx, 0); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if r := e.admin(t, "GET", "/files/left/behind?uploadId="+m.id, nil); r.status != 404 || errCode(r) != "NoSuchUpload" {
		t.Fatalf("ListParts of a swept upload: %v", r)
	}
	e.noStaging(t)

	// A sweep stops at its lease's end, having aborted nothing more.
	m = e.createUpload(t, "/files/left/again")
	n, err := e.srv.SweepUploadsBy(ctx, 0, time.Now().Add(-time.Second))
	if n != 0 || !errors.Is(err, s3.ErrLeaseEnded) {
		t.Fatalf("sweep past its lease's end: %d, %v; want 0 and the lease's end", n, err)
	}
	if r := e.admin(t, "GET", "/files/left/again?uploadId="+m.id, nil); r.status != 200 {
		t.Fatalf("an upload was aborted after the sweep's lease ended: %v", r)
	}
	if n, err := e.srv.SweepUploadsBy(ctx, 0, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep within its lease: %d, %v", n, err)
	}
}
