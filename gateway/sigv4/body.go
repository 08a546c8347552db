package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxChunk bounds one aws-chunked chunk (clients send 64 KiB to 8 MiB).
const MaxChunk = 16 << 20

// Body returns r's payload as the signature announced it and its length
// (-1 when unknown): aws-chunked bodies decoded with their chunk
// signatures or trailing checksum checked, a signed SHA-256 checked. The
// returned reader fails (an *Error) instead of delivering the last byte of
// a payload that does not match, or when the body ends early.
func (a *Auth) Body(r *http.Request) (io.Reader, int64, error) {
	if !a.Streaming() {
		if a.Payload == UnsignedPayload {
			return r.Body, r.ContentLength, nil
		}
		want, _ := hex.DecodeString(a.Payload)
		return NewCheckedReader(r.Body, sha256.New(), want, r.ContentLength,
			errf(http.StatusBadRequest, CodeContentSHA256, "the provided x-amz-content-sha256 header does not match what was computed")), r.ContentLength, nil
	}
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return nil, 0, errf(http.StatusLengthRequired, CodeMissingLength, "x-amz-decoded-content-length is required with an aws-chunked body")
	}
	cr := &chunkReader{br: bufio.NewReaderSize(r.Body, 64<<10), want: n, signed: a.Payload != StreamingUnsignedTrail, auth: a, prev: a.signature}
	if a.Payload != StreamingPayload {
		name := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer")))
		if name != "" {
			h := checksumHash(name)
			if h == nil {
				return nil, 0, errf(http.StatusBadRequest, CodeInvalidRequest, "unsupported trailer %q", name)
			}
			cr.trailer, cr.sum = name, h
		}
	}
	return cr, n, nil
}

// checksumHash is the hash of an x-amz-checksum-* header.
func checksumHash(name string) hash.Hash {
	switch name {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-sha1":
		return sha1.New()
	case "x-amz-checksum-sha256":
		return sha256.New()
	}
	return nil
}

// ChecksumHash is the hash of an x-amz-checksum-* header name (lower
// case), nil for one not supported.
func ChecksumHash(name string) hash.Hash { return checksumHash(name) }

// CheckedReader passes a body through while hashing it; the read that
// reaches its length (or io.EOF when the length is unknown) fails with
// mismatch instead if the digest is not want, and a body that ends early
// fails with IncompleteBody.
type CheckedReader struct {
	r        io.Reader
	h        hash.Hash
	want     []byte
	n, left  int64
	mismatch error
	err      error
}

// NewCheckedReader checks r (n bytes, -1 if unknown) against want.
func NewCheckedReader(r io.Reader, h hash.Hash, want []byte, n int64, mismatch error) *CheckedReader {
	return &CheckedReader{r: r, h: h, want: want, n: n, left: n, mismatch: mismatch}
}

func (c *CheckedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.n >= 0 && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	if c.n >= 0 && c.left == 0 {
		c.err = c.verify()
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if c.n >= 0 {
		c.left -= int64(n)
		if c.left == 0 {
			if e := c.verify(); e != io.EOF {
				c.err = e
				return 0, e
			}
			return n, nil
		}
		if err == io.EOF {
			c.err = errf(http.StatusBadRequest, CodeIncompleteBody, "the request body ended before its length")
			return 0, c.err
		}
		return n, err
	}
	if err == io.EOF {
		if e := c.verify(); e != io.EOF {
			c.err = e
			return 0, e
		}
	}
	return n, err
}

// verify returns io.EOF when the digest matches, else the mismatch.
func (c *CheckedReader) verify() error {
	if !bytes.Equal(c.h.Sum(nil), c.want) {
		return c.mismatch
	}
	return io.EOF
}

// chunkReader decodes aws-chunked: "<hex size>[;chunk-signature=<sig>]\r\n
// <data>\r\n" ... a final chunk of size 0, then trailers and "\r\n".
type chunkReader struct {
	br      *bufio.Reader
	auth    *Auth
	signed  bool
	prev    string // the previous signature
	want    int64  // decoded length
	got     int64
	buf     []byte
	off     int
	trailer string    // the trailing checksum header, if any
	sum     hash.Hash // its hash
	done    bool
	err     error
}

func malformedChunk(why string) *Error {
	return errf(http.StatusBadRequest, CodeIncompleteBody, "malformed aws-chunked body: %s", why)
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.off == len(c.buf) {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			c.err = err
			return 0, err
		}
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// next reads and checks the next chunk; when it completes the decoded
// length, the final chunk and the trailers are read and checked too,
// before any of its bytes are handed out.
func (c *chunkReader) next() error {
	size, sig, err := c.header()
	if err != nil {
		return err
	}
	if size == 0 {
		return c.final(sig)
	}
	if size > MaxChunk || c.got+int64(size) > c.want {
		return malformedChunk("chunk larger than announced")
	}
	if cap(c.buf) < size {
		c.buf = make([]byte, size)
	}
	c.buf, c.off = c.buf[:size], 0
	if _, err := io.ReadFull(c.br, c.buf); err != nil {
		return malformedChunk("body ended inside a chunk")
	}
	if err := c.crlf(); err != nil {
		return err
	}
	if c.signed && c.auth.Payload != StreamingUnsignedTrail {
		if err := c.verifyChunk(sig, c.buf); err != nil {
			return err
		}
	}
	if c.sum != nil {
		c.sum.Write(c.buf)
	}
	c.got += int64(size)
	if c.got == c.want {
		size, sig, err := c.header()
		if err != nil {
			return err
		}
		if size != 0 {
			return malformedChunk("more data than x-amz-decoded-content-length")
		}
		return c.final(sig)
	}
	return nil
}

// header reads a chunk header line.
func (c *chunkReader) header() (int, string, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, "", malformedChunk("body ended before the final chunk")
	}
	s := strings.TrimRight(string(line), "\r\n")
	sizeStr, ext, _ := strings.Cut(s, ";")
	size, err := strconv.ParseInt(sizeStr, 16, 64)
	if err != nil || size < 0 || size > MaxChunk {
		return 0, "", malformedChunk("bad chunk size")
	}
	sig, _ := strings.CutPrefix(ext, "chunk-signature=")
	if c.signed && c.auth.Payload != StreamingUnsignedTrail && sig == "" {
		return 0, "", errf(http.StatusForbidden, CodeSignatureMismatch, "chunk without a signature")
	}
	return int(size), sig, nil
}

func (c *chunkReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.br, b[:]); err != nil || b != [2]byte{'\r', '\n'} {
		return malformedChunk("chunk not followed by CRLF")
	}
	return nil
}

// verifyChunk checks one chunk's signature, chained on the previous one.
func (c *chunkReader) verifyChunk(sig string, data []byte) error {
	a := c.auth
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + a.amzDate + "\n" + a.scope + "\n" + c.prev + "\n" +
		emptySHA256 + "\n" + hexSHA256(data)
	want := signature(a.key, sts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return &Error{Code: CodeSignatureMismatch, Status: http.StatusForbidden,
			Message: "the chunk signature we calculated does not match the signature you provided", StringToSign: sts}
	}
	c.prev = sig
	return nil
}

// emptySHA256 is the hex SHA-256 of nothing.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// final checks the final chunk, reads the trailers and checks them.
func (c *chunkReader) final(sig string) error {
	if c.got != c.want {
		return errf(http.StatusBadRequest, CodeIncompleteBody, "the body holds %d bytes, x-amz-decoded-content-length says %d", c.got, c.want)
	}
	if c.auth.Payload == StreamingPayload {
		if err := c.verifyChunk(sig, nil); err != nil {
			return err
		}
	}
	if c.auth.Payload == StreamingPayload {
		// No trailers: the body ends with an empty line.
		if err := c.crlf(); err != nil {
			return err
		}
		c.done = true
		return nil
	}
	trailers := map[string]string{}
	var signedPart strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil && line == "" {
			break // some clients end the body right after the trailers
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return malformedChunk("bad trailer line")
		}
		k = strings.ToLower(strings.TrimSpace(k))
		trailers[k] = strings.TrimSpace(v)
		if k != "x-amz-trailer-signature" {
			signedPart.WriteString(k + ":" + strings.TrimSpace(v) + "\n")
		}
		if err != nil {
			break
		}
	}
	if c.auth.Payload == StreamingPayloadTrail {
		if err := c.verifyChunk(sig, nil); err != nil {
			return err
		}
		a := c.auth
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + a.amzDate + "\n" + a.scope + "\n" + c.prev + "\n" + hexSHA256([]byte(signedPart.String()))
		if !hmac.Equal([]byte(signature(a.key, sts)), []byte(trailers["x-amz-trailer-signature"])) {
			return &Error{Code: CodeSignatureMismatch, Status: http.StatusForbidden,
				Message: "the trailer signature we calculated does not match the signature you provided", StringToSign: sts}
		}
	}
	if c.trailer != "" {
		got := base64.StdEncoding.EncodeToString(c.sum.Sum(nil))
		v, ok := trailers[c.trailer]
		if !ok {
			return malformedChunk("trailer " + c.trailer + " announced but not sent")
		}
		if v != got {
			return errf(http.StatusBadRequest, CodeBadDigest, "the %s you specified did not match the calculated checksum", c.trailer)
		}
	}
	c.done = true
	return nil
}
