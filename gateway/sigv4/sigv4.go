// Package sigv4 verifies AWS Signature Version 4 on S3 requests: the
// Authorization header form and the presigned-URL form, and the payloads
// they announce — a SHA-256 of the body, UNSIGNED-PAYLOAD, and the
// aws-chunked streaming bodies with per-chunk signatures
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) or with a trailing checksum
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER). It also signs requests, for tests
// and tools.
//
// Verify checks the request line and headers; Auth.Body wraps the body so
// that a payload that does not match its signature or checksum fails on
// the read that would deliver its last byte, before a consumer can take
// the body for complete.
package sigv4

import (
	"crypto/hmac"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// Payload hashes with a meaning of their own (x-amz-content-sha256).
const (
	UnsignedPayload        = "UNSIGNED-PAYLOAD"
	StreamingPayload       = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrail  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// TimeFormat is the layout of X-Amz-Date.
const TimeFormat = "20060102T150405Z"

// DefaultMaxSkew is how far a request's date may be from the clock.
const DefaultMaxSkew = 15 * time.Minute

// MaxExpires is the longest validity of a presigned URL (7 days).
const MaxExpires = 7 * 24 * 3600

// Error codes, as S3 names them.
const (
	CodeAccessDenied       = "AccessDenied"
	CodeInvalidAccessKeyID = "InvalidAccessKeyId"
	CodeSignatureMismatch  = "SignatureDoesNotMatch"
	CodeTimeTooSkewed      = "RequestTimeTooSkewed"
	CodeHeaderMalformed    = "AuthorizationHeaderMalformed"
	CodeQueryMalformed     = "AuthorizationQueryParametersError"
	CodeMissingSecurity    = "MissingSecurityHeader"
	CodeContentSHA256      = "XAmzContentSHA256Mismatch"
	CodeBadDigest          = "BadDigest"
	CodeIncompleteBody     = "IncompleteBody"
	CodeInvalidRequest     = "InvalidRequest"
	CodeInvalidArgument    = "InvalidArgument"
	CodeMissingLength      = "MissingContentLength"
)

// Error is a refused request: an S3 error code, its HTTP status and a
// message; StringToSign and CanonicalRequest are set for a signature that
// does not match (S3 returns them to help the client).
type Error struct {
	Code, Message    string
	Status           int
	StringToSign     string
	CanonicalRequest string
}

func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Verifier checks signatures with the secrets Lookup gives.
type Verifier struct {
	// Lookup returns the secret key of an access key.
	Lookup func(accessKey string) (secret string, ok bool)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxSkew bounds the distance of a request's date from the clock
	// (DefaultMaxSkew when 0).
	MaxSkew time.Duration
	// Keys, when not nil, keeps the derived signing keys.
	Keys *KeyCache
}

// Auth is a verified request.
type Auth struct {
	AccessKey string
	Region    string
	// Payload is the x-amz-content-sha256 value: a hex SHA-256,
	// UnsignedPayload or one of the streaming forms.
	Payload   string
	Presigned bool

	key       []byte // signing key, for chunk signatures
	amzDate   string
	scope     string
	signature string
}

// credential is a parsed Credential= value.
type credential struct {
	accessKey, day, region, service string
}

func (c credential) scope() string {
	return c.day + "/" + c.region + "/" + c.service + "/aws4_request"
}

func parseCredential(s string, status int, code string) (credential, *Error) {
	p := strings.Split(s, "/")
	if len(p) != 5 || p[0] == "" || len(p[1]) != 8 || p[4] != "aws4_request" {
		return credential{}, errf(status, code, "malformed credential %q", s)
	}
	if p[3] != "s3" {
		return credential{}, errf(status, code, "credential should be scoped to service s3, not %q", p[3])
	}
	return credential{p[0], p[1], p[2], p[3]}, nil
}

// Verify checks r's signature. Its errors are *Error values.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	path, rawQuery := splitTarget(r)
	uri, err := canonicalURI(path)
	if err != nil {
		return nil, errf(http.StatusBadRequest, CodeInvalidRequest, "%v", err)
	}
	params, err := parseQuery(rawQuery)
	if err != nil {
		return nil, errf(http.StatusBadRequest, CodeInvalidRequest, "%v", err)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if !strings.HasPrefix(h, Algorithm+" ") {
			return nil, errf(http.StatusBadRequest, CodeInvalidRequest, "only %s signatures are supported", Algorithm)
		}
		return v.verifyHeader(r, h, uri, params)
	}
	for _, p := range params {
		if p.k == "X-Amz-Algorithm" {
			return v.verifyQuery(r, uri, params)
		}
	}
	return nil, errf(http.StatusForbidden, CodeAccessDenied, "anonymous requests are not allowed")
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) skew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// parseAuthHeader splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
func parseAuthHeader(h string) (cred, signed, sig string, ok bool) {
	rest := strings.TrimSpace(strings.TrimPrefix(h, Algorithm))
	for _, f := range strings.Split(rest, ",") {
		k, val, found := strings.Cut(strings.TrimSpace(f), "=")
		if !found {
			return "", "", "", false
		}
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			sig = val
		}
	}
	return cred, signed, sig, cred != "" && signed != "" && sig != ""
}

func (v *Verifier) verifyHeader(r *http.Request, h, uri string, params []queryParam) (*Auth, error) {
	const bad = http.StatusBadRequest
	credStr, signedStr, sig, ok := parseAuthHeader(h)
	if !ok {
		return nil, errf(bad, CodeHeaderMalformed, "the authorization header is malformed")
	}
	cred, e := parseCredential(credStr, bad, CodeHeaderMalformed)
	if e != nil {
		return nil, e
	}
	amzDate := r.Header.Get("X-Amz-Date")
	var t time.Time
	var err error
	if amzDate != "" {
		t, err = time.Parse(TimeFormat, amzDate)
	} else if d := r.Header.Get("Date"); d != "" {
		t, err = http.ParseTime(d)
		amzDate = t.UTC().Format(TimeFormat)
	} else {
		return nil, errf(http.StatusForbidden, CodeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if err != nil {
		return nil, errf(http.StatusForbidden, CodeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if d := v.now().Sub(t); d > v.skew() || d < -v.skew() {
		return nil, errf(http.StatusForbidden, CodeTimeTooSkewed, "the difference between the request time and the server's time is too large")
	}
	if amzDate[:8] != cred.day {
		return nil, errf(bad, CodeHeaderMalformed, "credential date %s does not match the request date %s", cred.day, amzDate[:8])
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		return nil, errf(bad, CodeInvalidRequest, "missing required header for this request: x-amz-content-sha256")
	}
	if !validPayload(payload) {
		return nil, errf(bad, CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a streaming form or a hex SHA-256")
	}
	signed := strings.Split(signedStr, ";")
	if e := checkSigned(signed, bad, CodeHeaderMalformed); e != nil {
		return nil, e
	}
	a := &Auth{AccessKey: cred.accessKey, Region: cred.region, Payload: payload, amzDate: amzDate, scope: cred.scope(), signature: sig}
	canonical := canonicalRequest(r, uri, canonicalQuery(params, ""), signed, payload)
	return a, v.check(a, cred, canonical, sig)
}

func (v *Verifier) verifyQuery(r *http.Request, uri string, params []queryParam) (*Auth, error) {
	const bad = http.StatusBadRequest
	q := map[string]string{}
	for _, p := range params {
		q[p.k] = p.v
	}
	if q["X-Amz-Algorithm"] != Algorithm {
		return nil, errf(bad, CodeQueryMalformed, "X-Amz-Algorithm only supports %q", Algorithm)
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if q[k] == "" {
			return nil, errf(bad, CodeQueryMalformed, "query-string authentication requires %s", k)
		}
	}
	cred, e := parseCredential(q["X-Amz-Credential"], bad, CodeQueryMalformed)
	if e != nil {
		return nil, e
	}
	t, err := time.Parse(TimeFormat, q["X-Amz-Date"])
	if err != nil {
		return nil, errf(bad, CodeQueryMalformed, "X-Amz-Date must be in the ISO8601 long format")
	}
	exp, err := strconv.Atoi(q["X-Amz-Expires"])
	if err != nil || exp < 1 {
		return nil, errf(bad, CodeQueryMalformed, "X-Amz-Expires must be a positive number of seconds")
	}
	if exp > MaxExpires {
		return nil, errf(bad, CodeQueryMalformed, "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
	}
	now := v.now()
	if t.Sub(now) > v.skew() {
		return nil, errf(http.StatusForbidden, CodeAccessDenied, "request is not valid yet")
	}
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return nil, errf(http.StatusForbidden, CodeAccessDenied, "Request has expired")
	}
	if q["X-Amz-Date"][:8] != cred.day {
		return nil, errf(bad, CodeQueryMalformed, "credential date does not match X-Amz-Date")
	}
	signed := strings.Split(q["X-Amz-SignedHeaders"], ";")
	if e := checkSigned(signed, bad, CodeQueryMalformed); e != nil {
		return nil, e
	}
	payload := UnsignedPayload
	if p := r.Header.Get("X-Amz-Content-Sha256"); p != "" && validPayload(p) && !strings.HasPrefix(p, "STREAMING-") {
		payload = p
	}
	sig := q["X-Amz-Signature"]
	a := &Auth{AccessKey: cred.accessKey, Region: cred.region, Payload: payload, Presigned: true,
		amzDate: q["X-Amz-Date"], scope: cred.scope(), signature: sig}
	canonical := canonicalRequest(r, uri, canonicalQuery(params, "X-Amz-Signature"), signed, payload)
	return a, v.check(a, cred, canonical, sig)
}

// checkSigned requires the signed header list to be sorted lower-case
// names that include host.
func checkSigned(signed []string, status int, code string) *Error {
	host := false
	for i, h := range signed {
		if h == "" || h != strings.ToLower(h) || i > 0 && signed[i-1] >= h {
			return errf(status, code, "signed headers must be sorted lower-case names")
		}
		host = host || h == "host"
	}
	if !host {
		return errf(status, code, "the host header must be signed")
	}
	return nil
}

// check compares the signature with the one the secret of the access key
// gives.
func (v *Verifier) check(a *Auth, cred credential, canonical, sig string) error {
	secret, ok := v.Lookup(cred.accessKey)
	if !ok {
		return errf(http.StatusForbidden, CodeInvalidAccessKeyID, "the AWS access key ID you provided does not exist in our records")
	}
	a.key = v.Keys.Key(secret, cred.day, cred.region, cred.service)
	sts := stringToSign(a.amzDate, a.scope, canonical)
	if !hmac.Equal([]byte(signature(a.key, sts)), []byte(sig)) {
		return &Error{Code: CodeSignatureMismatch, Status: http.StatusForbidden,
			Message:      "the request signature we calculated does not match the signature you provided; check your key and signing method",
			StringToSign: sts, CanonicalRequest: canonical}
	}
	return nil
}

// validPayload reports whether p is a payload hash this package knows.
func validPayload(p string) bool {
	switch p {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrail, StreamingUnsignedTrail:
		return true
	}
	if len(p) != 64 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Streaming reports whether the payload is aws-chunked.
func (a *Auth) Streaming() bool { return strings.HasPrefix(a.Payload, "STREAMING-") }
