package gateway

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The gateway decides ranges and preconditions itself (it must answer
// before reading from a storage node), but it must decide exactly as
// net/http's ServeContent does. Every case is run through both and the
// answers compared: status, Content-Range, Content-Length and the bytes
// of each part.
func TestPlanMatchesServeContent(t *testing.T) {
	const etag = `"0123abcd"`
	sizes := []int64{0, 1, 10, 4096}
	ranges := []string{
		"", "bytes=0-0", "bytes=0-", "bytes=1-", "bytes=5-9", "bytes=9-", "bytes=10-", "bytes=4095-",
		"bytes=4096-", "bytes=0-99999", "bytes=-1", "bytes=-5", "bytes=-0", "bytes=-99999", "bytes=3-2",
		"bytes=0-1,3-4", "bytes=0-1, 5-", "bytes=-3,0-0", "bytes=0-,0-", "bytes=0-1,20-30",
		"bytes=20-30,40-", "bytes=a-b", "bytes=", "bytes=,", "bytes=--1", "bytes=1", "items=0-1",
		"bytes = 0-1", "Bytes=0-1", "bytes=0-1,", "bytes= 2 - 3 ", "bytes=18446744073709551616-",
	}
	conds := []map[string]string{
		nil,
		{"If-None-Match": etag},
		{"If-None-Match": `W/"0123abcd"`},
		{"If-None-Match": `"other", ` + etag},
		{"If-None-Match": "*"},
		{"If-None-Match": `"other"`},
		{"If-Match": etag},
		{"If-Match": `"other"`},
		{"If-Match": `W/"0123abcd"`},
		{"If-Match": "*"},
		{"If-Range": etag},
		{"If-Range": `"other"`},
		{"If-Range": `W/"0123abcd"`},
		{"If-Range": time.Unix(1e9, 0).UTC().Format(http.TimeFormat)},
		{"If-Modified-Since": time.Unix(2e9, 0).UTC().Format(http.TimeFormat)},
	}
	for _, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte('a' + i%26)
		}
		for _, rh := range ranges {
			for _, cond := range conds {
				for _, method := range []string{"GET", "HEAD"} {
					name := fmt.Sprintf("%s size=%d Range=%q %v", method, size, rh, cond)
					req := httptest.NewRequest(method, "/d/k.txt", nil)
					if rh != "" {
						req.Header.Set("Range", rh)
					}
					for k, v := range cond {
						req.Header.Set(k, v)
					}
					want := httptest.NewRecorder()
					want.Header().Set("ETag", etag)
					want.Header().Set("Content-Type", "text/plain")
					http.ServeContent(want, req, "k.txt", time.Time{}, bytes.NewReader(data))

					p := makePlan(method, stdHeader(req.Header), size, etag)
					if p.status != want.Code {
						t.Errorf("%s: status %d, ServeContent %d", name, p.status, want.Code)
						continue
					}
					got := newRecorder()
					rp := &reply{out: got, etag: etag, ctype: "text/plain", head: method == "HEAD"}
					if p.status != http.StatusOK && p.status != http.StatusPartialContent {
						writeNonContent(rp, p, size)
						if got.status != want.Code {
							t.Errorf("%s: answered %d, ServeContent %d", name, got.status, want.Code)
						}
						if g, w := got.header.Get("Content-Range"), want.Header().Get("Content-Range"); g != w {
							t.Errorf("%s: Content-Range %q, ServeContent %q", name, g, w)
						}
						if (got.header.Get("ETag") == "") != (want.Header().Get("ETag") == "") && p.status == http.StatusNotModified {
							t.Errorf("%s: 304 ETag %q, ServeContent %q", name, got.header.Get("ETag"), want.Header().Get("ETag"))
						}
						continue
					}
					if method == "HEAD" {
						continue
					}
					checkParts(t, name, p, data, want)
					// The answer from memory sends what ServeContent sends.
					serveBytes(rp, &fileMeta{fid: 1, size: size, etag: etag}, p, data)
					checkAnswer(t, name, got, want)
				}
			}
		}
	}
}

// checkAnswer compares an answer from memory with ServeContent's: status,
// Content-Length, Content-Range, and the body (the parts of a multipart
// body, whose boundaries differ).
func checkAnswer(t *testing.T, name string, got *recorder, want *httptest.ResponseRecorder) {
	t.Helper()
	if got.status != want.Code {
		t.Errorf("%s: answered %d, ServeContent %d", name, got.status, want.Code)
		return
	}
	for _, h := range []string{"Content-Length", "Content-Range"} {
		if g, w := got.header.Get(h), want.Header().Get(h); g != w {
			t.Errorf("%s: %s %q, ServeContent %q", name, h, g, w)
		}
	}
	if int64(len(got.body)) != int64(want.Body.Len()) {
		t.Errorf("%s: %d body bytes, ServeContent %d", name, len(got.body), want.Body.Len())
	}
	gmt, gp, _ := mime.ParseMediaType(got.header.Get("Content-Type"))
	wmt, wp, _ := mime.ParseMediaType(want.Header().Get("Content-Type"))
	if gmt != wmt {
		t.Errorf("%s: Content-Type %q, ServeContent %q", name, gmt, wmt)
		return
	}
	if gmt != "multipart/byteranges" {
		if !bytes.Equal(got.body, want.Body.Bytes()) {
			t.Errorf("%s: body %q, ServeContent %q", name, got.body, want.Body.Bytes())
		}
		return
	}
	gr := multipart.NewReader(bytes.NewReader(got.body), gp["boundary"])
	wr := multipart.NewReader(bytes.NewReader(want.Body.Bytes()), wp["boundary"])
	for i := 0; ; i++ {
		g, gerr := gr.NextPart()
		w, werr := wr.NextPart()
		if gerr != nil || werr != nil {
			if gerr != werr {
				t.Errorf("%s: part %d: %v, ServeContent %v", name, i, gerr, werr)
			}
			return
		}
		gb, _ := io.ReadAll(g)
		wb, _ := io.ReadAll(w)
		if !bytes.Equal(gb, wb) || g.Header.Get("Content-Range") != w.Header.Get("Content-Range") ||
			g.Header.Get("Content-Type") != w.Header.Get("Content-Type") {
			t.Errorf("%s: part %d %v %q, ServeContent %v %q", name, i, g.Header, gb, w.Header, wb)
		}
	}
}

// stdHeader gives net/http's header fields to makePlan.
type stdHeader http.Header

func (h stdHeader) Header(name string) string { return http.Header(h).Get(name) }

// checkParts compares the plan's ranges with ServeContent's body.
func checkParts(t *testing.T, name string, p plan, data []byte, want *httptest.ResponseRecorder) {
	t.Helper()
	switch len(p.ranges) {
	case 0:
		if !bytes.Equal(want.Body.Bytes(), data) {
			t.Errorf("%s: whole file planned, ServeContent sent %d bytes", name, want.Body.Len())
		}
	case 1:
		ra := p.ranges[0]
		if g, w := ra.contentRange(int64(len(data))), want.Header().Get("Content-Range"); g != w {
			t.Errorf("%s: Content-Range %q, ServeContent %q", name, g, w)
		}
		if !bytes.Equal(want.Body.Bytes(), data[ra.start:ra.start+ra.length]) {
			t.Errorf("%s: range %+v, ServeContent sent %q", name, ra, want.Body.Bytes())
		}
	default:
		mt, params, err := mime.ParseMediaType(want.Header().Get("Content-Type"))
		if err != nil || mt != "multipart/byteranges" {
			t.Errorf("%s: %d ranges planned, ServeContent sent %q", name, len(p.ranges), want.Header().Get("Content-Type"))
			return
		}
		mr := multipart.NewReader(bytes.NewReader(want.Body.Bytes()), params["boundary"])
		for i := 0; ; i++ {
			part, err := mr.NextPart()
			if err == io.EOF {
				if i != len(p.ranges) {
					t.Errorf("%s: %d parts, planned %d", name, i, len(p.ranges))
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if i >= len(p.ranges) {
				t.Errorf("%s: more parts than planned", name)
				return
			}
			ra := p.ranges[i]
			b, _ := io.ReadAll(part)
			if cr := part.Header.Get("Content-Range"); cr != ra.contentRange(int64(len(data))) || !bytes.Equal(b, data[ra.start:ra.start+ra.length]) {
				t.Errorf("%s: part %d is %q %q, planned %+v", name, i, cr, b, ra)
			}
		}
	}
}

// The multipart length announced must be the length written.
func TestMultipartSize(t *testing.T) {
	ranges := []byteRange{{0, 3}, {10, 5}, {100, 1}}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	size := multipartSize(ranges, "image/png", 200, mw.Boundary())
	for _, ra := range ranges {
		pw, _ := mw.CreatePart(partHeader(ra, "image/png", 200))
		pw.Write(bytes.Repeat([]byte{'x'}, int(ra.length)))
	}
	mw.Close()
	if int64(buf.Len()) != size {
		t.Errorf("multipartSize = %d, written %d", size, buf.Len())
	}
	if !strings.Contains(buf.String(), "Content-Range: bytes 10-14/200") {
		t.Errorf("part header missing: %q", buf.String())
	}
}
