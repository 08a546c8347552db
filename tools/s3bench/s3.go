package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
)

// s3Client sends signed path-style requests to one endpoint.
type s3Client struct {
	endpoint string // scheme://host[:port], no trailing slash
	hc       *http.Client
	signer   sigv4.Signer
	class    string // x-amz-storage-class of PUTs and uploads ("": none)
	unsigned bool   // bodies sent as UNSIGNED-PAYLOAD (as SDKs do over TLS)
}

func newS3Client(endpoint, access, secret, region, class string, conns int) *s3Client {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 2 * conns, MaxIdleConnsPerHost: 2 * conns,
		DisableCompression: true, IdleConnTimeout: time.Minute}
	return &s3Client{
		endpoint: strings.TrimRight(endpoint, "/"),
		hc:       &http.Client{Transport: tr},
		signer:   sigv4.Signer{AccessKey: access, Secret: secret, Region: region, Keys: sigv4.NewKeyCache()},
		class:    class,
	}
}

func (c *s3Client) close() { c.hc.CloseIdleConnections() }

// objectURL is the path-style URL of key in bucket, with query q.
func (c *s3Client) objectURL(bucket, key, q string) string {
	u := c.endpoint + "/" + bucket
	if key != "" {
		u += "/" + sigv4.URIEncode(key, true)
	}
	if q != "" {
		u += "?" + q
	}
	return u
}

// statusError is an answer with an unexpected status.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %.300s", e.status, e.body) }

// do sends a request with body (nil: empty) signed with its SHA-256 (or
// UNSIGNED-PAYLOAD, when c.unsigned and there is a body) and
// the header pairs hdr; it returns the response when its status is one of
// ok (the caller closes its body), else an error carrying the answer.
func (c *s3Client) do(ctx context.Context, method, target string, body []byte, ok []int, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	payload := "UNSIGNED-PAYLOAD"
	if !c.unsigned || len(body) == 0 {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	if _, err := c.signer.Sign(req, payload, time.Now()); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return nil, fmt.Errorf("%s %s: %w", method, target, &statusError{resp.StatusCode, string(b)})
}

// drain reads what is left of a response body and closes it, so that its
// connection is reused.
func drain(r *http.Response) {
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
}

// ensureBucket creates bucket unless a HEAD finds it.
func (c *s3Client) ensureBucket(ctx context.Context, bucket string) error {
	r, err := c.do(ctx, http.MethodHead, c.objectURL(bucket, "", ""), nil, []int{200, 404})
	if err != nil {
		return fmt.Errorf("bucket %q: %w", bucket, err)
	}
	drain(r)
	if r.StatusCode == 200 {
		return nil
	}
	r, err = c.do(ctx, http.MethodPut, c.objectURL(bucket, "", ""), nil, []int{200, 409})
	if err != nil {
		return fmt.Errorf("create bucket %q: %w", bucket, err)
	}
	drain(r)
	return nil
}

// put writes one object.
func (c *s3Client) put(ctx context.Context, bucket, key string, body []byte) error {
	r, err := c.do(ctx, http.MethodPut, c.objectURL(bucket, key, ""), body, []int{200}, c.classHeader()...)
	if err != nil {
		return err
	}
	drain(r)
	return nil
}

func (c *s3Client) classHeader() []string {
	if c.class == "" {
		return nil
	}
	return []string{"X-Amz-Storage-Class", c.class}
}

// get reads key (bytes a-b when rng is set, as "bytes=a-b") into buf,
// which must be exactly the size expected; a longer or shorter answer is
// an error.
func (c *s3Client) get(ctx context.Context, bucket, key, rng string, buf []byte) error {
	var hdr []string
	want := []int{200}
	if rng != "" {
		hdr, want = []string{"Range", rng}, []int{206}
	}
	r, err := c.do(ctx, http.MethodGet, c.objectURL(bucket, key, ""), nil, want, hdr...)
	if err != nil {
		return err
	}
	defer drain(r)
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		return fmt.Errorf("GET %s/%s %s: %w", bucket, key, rng, err)
	}
	var one [1]byte
	if n, _ := r.Body.Read(one[:]); n > 0 {
		return fmt.Errorf("GET %s/%s %s: longer than %d bytes", bucket, key, rng, len(buf))
	}
	return nil
}

// createUpload starts a multipart upload of key and returns its id.
func (c *s3Client) createUpload(ctx context.Context, bucket, key string) (string, error) {
	r, err := c.do(ctx, http.MethodPost, c.objectURL(bucket, key, "uploads="), nil, []int{200}, c.classHeader()...)
	if err != nil {
		return "", err
	}
	defer drain(r)
	var res struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&res); err != nil || res.UploadID == "" {
		return "", fmt.Errorf("create multipart upload of %s/%s: no upload id (%v)", bucket, key, err)
	}
	return res.UploadID, nil
}

// uploadPart sends part n (from 1) and returns its ETag.
func (c *s3Client) uploadPart(ctx context.Context, bucket, key, id string, n int, body []byte) (string, error) {
	q := fmt.Sprintf("partNumber=%d&uploadId=%s", n, url.QueryEscape(id))
	r, err := c.do(ctx, http.MethodPut, c.objectURL(bucket, key, q), body, []int{200})
	if err != nil {
		return "", err
	}
	drain(r)
	etag := r.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("upload part %d of %s/%s: no ETag", n, bucket, key)
	}
	return etag, nil
}

type completePart struct {
	PartNumber int
	ETag       string
}

// completeUpload commits the parts, in order. The answer is 200 before
// the work is done; a failure then comes as an <Error> document.
func (c *s3Client) completeUpload(ctx context.Context, bucket, key, id string, etags []string) error {
	doc := struct {
		XMLName xml.Name       `xml:"CompleteMultipartUpload"`
		Parts   []completePart `xml:"Part"`
	}{}
	for i, e := range etags {
		doc.Parts = append(doc.Parts, completePart{i + 1, e})
	}
	body, err := xml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("complete %s/%s: %w", bucket, key, err)
	}
	r, err := c.do(ctx, http.MethodPost, c.objectURL(bucket, key, "uploadId="+url.QueryEscape(id)), body, []int{200})
	if err != nil {
		return err
	}
	defer drain(r)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("complete %s/%s: %w", bucket, key, err)
	}
	if bytes.Contains(b, []byte("<Error>")) || !bytes.Contains(b, []byte("CompleteMultipartUploadResult")) {
		return fmt.Errorf("complete %s/%s: %.300s", bucket, key, b)
	}
	return nil
}
