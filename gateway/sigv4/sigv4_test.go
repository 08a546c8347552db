package sigv4

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example credentials and date of the AWS documentation's SigV4
// examples for S3 ("Signature Calculations for the Authorization Header"
// and "Authenticating Requests: Using Query Parameters").
const (
	exAccess = "AKIAIOSFODNN7EXAMPLE"
	exSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var exTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func exVerifier(now time.Time) *Verifier {
	return &Verifier{
		Lookup: func(k string) (string, bool) { return exSecret, k == exAccess },
		Now:    func() time.Time { return now },
	}
}

// newReq builds a server-side request as net/http would parse it.
func newReq(method, host, target string, body []byte, hdr ...string) *http.Request {
	r, err := http.NewRequest(method, "http://"+host+target, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	r.RequestURI = target
	r.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func TestAWSExamples(t *testing.T) {
	s := Signer{AccessKey: exAccess, Secret: exSecret, Region: "us-east-1"}
	for _, c := range []struct {
		name, method, host, target, payload, want string
		body                                      []byte
		hdr                                       []string
	}{
		{"GET object", "GET", "examplebucket.s3.amazonaws.com", "/test.txt", emptySHA256,
			"f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", nil, []string{"Range", "bytes=0-9"}},
		{"PUT object", "PUT", "examplebucket.s3.amazonaws.com", "/test$file.text",
			"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
			"98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			[]byte("Welcome to Amazon S3."), []string{"Date", "Fri, 24 May 2013 00:00:00 GMT", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY"}},
		{"GET bucket lifecycle", "GET", "examplebucket.s3.amazonaws.com", "/?lifecycle", emptySHA256,
			"fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543", nil, nil},
		{"GET bucket", "GET", "examplebucket.s3.amazonaws.com", "/?max-keys=2&prefix=J", emptySHA256,
			"34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newReq(c.method, c.host, c.target, c.body, c.hdr...)
			r.Header.Del("Content-Length")
			sig, err := s.Sign(r, c.payload, exTime)
			if err != nil {
				t.Fatal(err)
			}
			if sig != c.want {
				t.Fatalf("signature %s, the documentation's %s", sig, c.want)
			}
			a, err := exVerifier(exTime.Add(time.Minute)).Verify(r)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if a.AccessKey != exAccess || a.Payload != c.payload || a.Region != "us-east-1" {
				t.Fatalf("auth %+v", a)
			}
			body, _, err := a.Body(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(body)
			if err != nil || !bytes.Equal(got, c.body) {
				t.Fatalf("body %q, %v", got, err)
			}
			// One byte of the signature changed: refused.
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:len(h)-1]+string("01"[(h[len(h)-1]-'0'+1)%2]))
			if _, err := exVerifier(exTime).Verify(r); code(err) != CodeSignatureMismatch {
				t.Fatalf("altered signature: %v", err)
			}
		})
	}
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "<" + errString(err) + ">"
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestAWSPresignedExample(t *testing.T) {
	s := Signer{AccessKey: exAccess, Secret: exSecret, Region: "us-east-1"}
	r := newReq("GET", "examplebucket.s3.amazonaws.com", "/test.txt", nil)
	if err := s.Presign(r, 86400*time.Second, exTime); err != nil {
		t.Fatal(err)
	}
	const want = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	if !strings.HasSuffix(r.URL.RawQuery, "X-Amz-Signature="+want) {
		t.Fatalf("query %s, want signature %s", r.URL.RawQuery, want)
	}
	r.RequestURI = "/test.txt?" + r.URL.RawQuery
	if _, err := exVerifier(exTime.Add(86399 * time.Second)).Verify(r); err != nil {
		t.Fatalf("within its validity: %v", err)
	}
	if _, err := exVerifier(exTime.Add(86401 * time.Second)).Verify(r); code(err) != CodeAccessDenied ||
		!strings.Contains(err.Error(), "expired") {
		t.Fatalf("after it expired: %v", err)
	}
	bad := newReq("GET", "examplebucket.s3.amazonaws.com", "/test.txt?"+strings.Replace(r.URL.RawQuery, "X-Amz-Expires=86400", "X-Amz-Expires=86500", 1), nil)
	if _, err := exVerifier(exTime).Verify(bad); code(err) != CodeSignatureMismatch {
		t.Fatalf("altered expiry: %v", err)
	}
	long := newReq("GET", "examplebucket.s3.amazonaws.com", "/test.txt?"+strings.Replace(r.URL.RawQuery, "X-Amz-Expires=86400", "X-Amz-Expires=604801", 1), nil)
	if _, err := exVerifier(exTime).Verify(long); code(err) != CodeQueryMalformed {
		t.Fatalf("expiry over a week: %v", err)
	}
}

// The documentation's streaming example: 66560 bytes of 'a' in chunks of
// 64 KiB, 1 KiB and the final empty one.
func TestAWSChunkedExample(t *testing.T) {
	s := Signer{AccessKey: exAccess, Secret: exSecret, Region: "us-east-1"}
	data := bytes.Repeat([]byte("a"), 66560)
	r := newReq("PUT", "s3.amazonaws.com", "/examplebucket/chunkObject.txt", nil,
		"Content-Encoding", "aws-chunked", "Content-Length", "66824",
		"X-Amz-Decoded-Content-Length", "66560", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	seed, err := s.Sign(r, StreamingPayload, exTime)
	if err != nil {
		t.Fatal(err)
	}
	if want := "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"; seed != want {
		t.Fatalf("seed signature %s, the documentation's %s", seed, want)
	}
	body := s.EncodeChunked(data, 64<<10, seed, exTime)
	for _, want := range []string{
		"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("encoded body lacks the documentation's chunk header %q", want)
		}
	}
	if len(body) != 66824 {
		t.Fatalf("encoded length %d, the documentation's Content-Length 66824", len(body))
	}
	read := func(b []byte) ([]byte, error) {
		r.Body = io.NopCloser(bytes.NewReader(b))
		a, err := exVerifier(exTime).Verify(r)
		if err != nil {
			return nil, err
		}
		br, n, err := a.Body(r)
		if err != nil || n != 66560 {
			t.Fatalf("body: %d, %v", n, err)
		}
		return io.ReadAll(br)
	}
	got, err := read(body)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
	// A byte of data changed: the chunk's signature fails before any of
	// its bytes are delivered.
	alt := bytes.Clone(body)
	alt[100] = 'b'
	got, err = read(alt)
	if code(err) != CodeSignatureMismatch || len(got) != 0 {
		t.Fatalf("altered chunk: %d bytes, %v", len(got), err)
	}
	// The final chunk's signature is checked before the last data byte
	// is delivered.
	alt = bytes.Replace(body, []byte("0;chunk-signature=b6c6"), []byte("0;chunk-signature=b6c7"), 1)
	got, err = read(alt)
	if code(err) != CodeSignatureMismatch || len(got) != 64<<10 {
		t.Fatalf("altered final chunk: %d bytes, %v", len(got), err)
	}
	// Cut short.
	if got, err = read(body[:40000]); err == nil {
		t.Fatalf("truncated body read as %d bytes", len(got))
	}
}

func TestPayloadHashChecked(t *testing.T) {
	s := Signer{AccessKey: exAccess, Secret: exSecret, Region: "us-east-1"}
	r := newReq("PUT", "h", "/b/k", []byte("Welcome to Amazon S4."))
	if _, err := s.Sign(r, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", exTime); err != nil {
		t.Fatal(err)
	}
	a, err := exVerifier(exTime).Verify(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := a.Body(r)
	got, err := io.ReadAll(b)
	if code(err) != CodeContentSHA256 || len(got) == 21 {
		t.Fatalf("mismatching body: %d bytes, %v", len(got), err)
	}
}

func TestRefusals(t *testing.T) {
	s := Signer{AccessKey: exAccess, Secret: exSecret, Region: "us-east-1"}
	r := newReq("GET", "h", "/b/k", nil)
	if _, err := s.Sign(r, emptySHA256, exTime); err != nil {
		t.Fatal(err)
	}
	if _, err := exVerifier(exTime.Add(16 * time.Minute)).Verify(r); code(err) != CodeTimeTooSkewed {
		t.Fatalf("skewed: %v", err)
	}
	other := Signer{AccessKey: "AKIDUNKNOWN", Secret: exSecret, Region: "us-east-1"}
	r2 := newReq("GET", "h", "/b/k", nil)
	other.Sign(r2, emptySHA256, exTime)
	if _, err := exVerifier(exTime).Verify(r2); code(err) != CodeInvalidAccessKeyID {
		t.Fatalf("unknown key: %v", err)
	}
	wrong := Signer{AccessKey: exAccess, Secret: "not the secret", Region: "us-east-1"}
	r3 := newReq("GET", "h", "/b/k", nil)
	wrong.Sign(r3, emptySHA256, exTime)
	if _, err := exVerifier(exTime).Verify(r3); code(err) != CodeSignatureMismatch {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := exVerifier(exTime).Verify(newReq("GET", "h", "/b/k", nil)); code(err) != CodeAccessDenied {
		t.Fatalf("anonymous: %v", err)
	}
	// A header added after signing but listed as signed changes nothing
	// unless it is in SignedHeaders; changing a signed one is refused.
	r.Header.Set("X-Amz-Date", exTime.Add(time.Second).Format(TimeFormat))
	if _, err := exVerifier(exTime).Verify(r); code(err) != CodeSignatureMismatch {
		t.Fatalf("altered signed header: %v", err)
	}
}

func TestUnsignedTrailer(t *testing.T) {
	s := Signer{AccessKey: exAccess, Secret: exSecret, Region: "us-east-1"}
	data := []byte("hello, world\n")
	// CRC32 of the data, base64: computed with hash/crc32 in the reader
	// too; here the value comes from the data itself.
	h := ChecksumHash("x-amz-checksum-crc32")
	h.Write(data)
	sum := h.Sum(nil)
	enc := func(sumB64 string) []byte {
		return []byte("d\r\n" + string(data) + "\r\n0\r\nx-amz-checksum-crc32:" + sumB64 + "\r\n\r\n")
	}
	for _, c := range []struct {
		sum  string
		fail bool
	}{{b64(sum), false}, {b64([]byte{1, 2, 3, 4}), true}} {
		r := newReq("PUT", "h", "/b/k", enc(c.sum), "Content-Encoding", "aws-chunked",
			"X-Amz-Decoded-Content-Length", "13", "X-Amz-Trailer", "x-amz-checksum-crc32")
		r.Header.Del("Content-Length")
		if _, err := s.Sign(r, StreamingUnsignedTrail, exTime); err != nil {
			t.Fatal(err)
		}
		a, err := exVerifier(exTime).Verify(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := a.Body(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b)
		if c.fail != (err != nil) || !c.fail && !bytes.Equal(got, data) {
			t.Fatalf("checksum %s: %q, %v", c.sum, got, err)
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
