package sigv4

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signer signs requests (tests, tools, benchmarks).
type Signer struct {
	AccessKey, Secret, Region string
	// Keys, when not nil, keeps the derived signing keys (as the SDKs
	// do).
	Keys *KeyCache
}

// scope of the signer's credential on day t.
func (s Signer) scope(t time.Time) string {
	return t.UTC().Format("20060102") + "/" + s.Region + "/s3/aws4_request"
}

func (s Signer) key(t time.Time) []byte {
	return s.Keys.Key(s.Secret, t.UTC().Format("20060102"), s.Region, "s3")
}

// signedHeaders lists the lower-case names of r's headers to sign: host,
// and every header of r (Content-Length when set).
func signedHeaders(r *http.Request) []string {
	names := []string{"host"}
	for k := range r.Header {
		l := strings.ToLower(k)
		if l != "authorization" && l != "user-agent" {
			names = append(names, l)
		}
	}
	sort.Strings(names)
	return names
}

// Sign sets X-Amz-Date, X-Amz-Content-Sha256 (payload) and Authorization
// on r, signing every header it has, at time t; it returns the signature
// (the seed of a streaming body).
func (s Signer) Sign(r *http.Request, payload string, t time.Time) (string, error) {
	amzDate := t.UTC().Format(TimeFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", payload)
	path, query := splitTarget(r)
	uri, err := canonicalURI(path)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	params, err := parseQuery(query)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	signed := signedHeaders(r)
	cr := canonicalRequest(r, uri, canonicalQuery(params, ""), signed, payload)
	sig := signature(s.key(t), stringToSign(amzDate, s.scope(t), cr))
	r.Header.Set("Authorization", Algorithm+" Credential="+s.AccessKey+"/"+s.scope(t)+
		", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	return sig, nil
}

// Presign adds the query parameters of a presigned URL valid for expires
// from t to r.URL, signing the host header only.
func (s Signer) Presign(r *http.Request, expires time.Duration, t time.Time) error {
	amzDate := t.UTC().Format(TimeFormat)
	q := r.URL.RawQuery
	if q != "" {
		q += "&"
	}
	q += "X-Amz-Algorithm=" + Algorithm +
		"&X-Amz-Credential=" + URIEncode(s.AccessKey+"/"+s.scope(t), false) +
		"&X-Amz-Date=" + amzDate +
		"&X-Amz-Expires=" + strconv.Itoa(int(expires/time.Second)) +
		"&X-Amz-SignedHeaders=host"
	r.URL.RawQuery = q
	params, err := parseQuery(q)
	if err != nil {
		return fmt.Errorf("presign: %w", err)
	}
	uri, err := canonicalURI(r.URL.EscapedPath())
	if err != nil {
		return fmt.Errorf("presign: %w", err)
	}
	cr := canonicalRequest(r, uri, canonicalQuery(params, ""), []string{"host"}, UnsignedPayload)
	sig := signature(s.key(t), stringToSign(amzDate, s.scope(t), cr))
	r.URL.RawQuery = q + "&X-Amz-Signature=" + sig
	return nil
}

// ChunkSignature is the signature of one aws-chunked chunk that follows
// the signature prev, for a request signed at t.
func (s Signer) ChunkSignature(prev string, data []byte, t time.Time) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + t.UTC().Format(TimeFormat) + "\n" + s.scope(t) + "\n" + prev + "\n" +
		emptySHA256 + "\n" + hexSHA256(data)
	return signature(s.key(t), sts)
}

// EncodeChunked encodes data as a signed aws-chunked body in chunks of
// size bytes, chained from seed (the request's signature).
func (s Signer) EncodeChunked(data []byte, size int, seed string, t time.Time) []byte {
	var out []byte
	prev := seed
	for {
		n := min(size, len(data))
		sig := s.ChunkSignature(prev, data[:n], t)
		out = append(out, strconv.FormatInt(int64(n), 16)+";chunk-signature="+sig+"\r\n"...)
		out = append(out, data[:n]...)
		out = append(out, "\r\n"...)
		prev = sig
		data = data[n:]
		if n == 0 {
			return out
		}
	}
}
