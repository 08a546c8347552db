package worker

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// copyError says which side of a replication copy failed.
type copyError struct {
	src bool // the source is at fault (else the destination)
	err error
}

func (e *copyError) Error() string {
	side := "dest"
	if e.src {
		side = "src"
	}
	return side + "_error: " + e.err.Error()
}

func (e *copyError) Unwrap() error { return e.err }

func srcErr(format string, a ...any) error {
	return &copyError{src: true, err: fmt.Errorf(format, a...)}
}

func destErr(format string, a ...any) error {
	return &copyError{err: fmt.Errorf(format, a...)}
}

func newHash(alg string) hash.Hash {
	switch alg {
	case "MD5":
		return md5.New()
	case "SHA-1":
		return sha1.New()
	}
	return nil
}

// idleReader passes reads through and cancels the copy when no read
// completes for the timeout; it remembers the source's read error.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	limit time.Duration
	mu    sync.Mutex
	n     int64
	err   error
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	ir.timer.Reset(ir.limit)
	ir.mu.Lock()
	ir.n += int64(n)
	if err != nil && err != io.EOF {
		ir.err = err
	}
	ir.mu.Unlock()
	return n, err
}

func (ir *idleReader) readErr() error {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.err
}

func (ir *idleReader) count() int64 {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	return ir.n
}

// smallCopy is the largest file copied through memory (see httpCopy).
const smallCopy = 16 << 10

// httpCopy copies f from src to dst: GET from the source (upload port, or
// the get port with repl_use_get_port), which must answer 2xx with
// Content-Length equal to the file's length; MKCOL of the destination
// directories; PUT to the destination with that length (and Content-MD5
// when the file has a stored MD5), streaming. When alg is set the digest is
// computed on the way: it must equal the stored checksum if there is one,
// and the destination's copy is read back (side channel, else GET) and
// compared. It returns the digest (nil without alg) or a *copyError.
func (w *Workers) httpCopy(ctx context.Context, f store.File, src, dst *cluster.Device, known *store.Checksum, alg string) ([]byte, error) {
	if src.Host == nil {
		return nil, srcErr("dev%d has no known host", src.ID)
	}
	if dst.Host == nil {
		return nil, destErr("dev%d has no known host", dst.ID)
	}
	path := nodeproto.FIDPath(dst.ID, f.FID)
	srcURL := src.Host.BaseURL(cluster.Zone{}, !w.cfg.ReplUseGetPort) + nodeproto.FIDPath(src.ID, f.FID)
	dstURL := dst.Host.BaseURL(cluster.Zone{}, true) + path

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(w.cfg.CopyTimeout, cancel)
	defer idle.Stop()

	gresp, err := w.openSource(ctx, srcURL, f.Length)
	if err != nil {
		return nil, err
	}
	defer gresp.Body.Close()

	dirs := nodeproto.FIDDirs(dst.ID, f.FID)
	if err := w.d.Nodes.MkcolAll(ctx, dst.ID, dst.Host.BaseURL(cluster.Zone{}, true), dirs[:]); err != nil {
		// The PUT says whether the directories really are missing.
		w.log.Debug("replicate: MKCOL failed", "fid", f.FID, "devid", dst.ID, "err", err)
	}

	h := newHash(alg)
	var body io.Reader = gresp.Body
	if h != nil {
		body = io.TeeReader(gresp.Body, h)
	}
	ir := &idleReader{r: body, timer: idle, limit: w.cfg.CopyTimeout}
	var contentMD5 []byte
	if known != nil && known.HashType == store.HashMD5 && len(known.Sum) == md5.Size {
		contentMD5 = known.Sum
	}
	// A small file is read whole first: its PUT then leaves in one write
	// with its headers (net/http sends a streamed body's headers on their
	// own), and a source failing midway is known before the PUT.
	var putBody io.Reader = ir
	if f.Length > 0 && f.Length <= smallCopy {
		buf := make([]byte, f.Length)
		if _, err := io.ReadFull(ir, buf); err != nil {
			return nil, srcErr("reading %s: %w", srcURL, err)
		}
		putBody = bytes.NewReader(buf)
	}
	status, err := w.putCopy(ctx, dstURL, putBody, f.Length, contentMD5)
	if err != nil {
		if rerr := ir.readErr(); rerr != nil {
			return nil, srcErr("reading %s midway: %w", srcURL, rerr)
		}
		return nil, err
	}
	// The transfer is over: the read-back below has its own time limits.
	idle.Stop()
	putOK := status >= 200 && status <= 299
	var sum []byte
	if h != nil && ir.count() == f.Length {
		sum = h.Sum(nil)
		if known != nil && cluster.HashName(known.HashType) == alg && !bytes.Equal(sum, known.Sum) {
			// The source's bytes are wrong (a node checking Content-MD5
			// refuses them too). If the destination took them, it now
			// holds a bad copy no file_on row names: remove it rather
			// than leave garbage behind.
			if putOK {
				w.deleteURL(ctx, dstURL)
			}
			return nil, srcErr("checksum mismatch on GET %s: expected %s actual %s", srcURL, hex.EncodeToString(known.Sum), hex.EncodeToString(sum))
		}
	}
	if !putOK {
		return nil, destErr("PUT %s: HTTP %d", dstURL, status)
	}
	if h == nil {
		return nil, nil
	}
	if sum == nil {
		return nil, srcErr("GET %s: short read", srcURL)
	}
	// A node that verified our Content-MD5 has the right bytes. (The
	// original also skips the check when no Content-MD5 was sent; that
	// would leave a bad copy unnoticed, so here it only skips when one was.)
	if contentMD5 != nil && alg == "MD5" && dst.Obs.RejectBadMD5 == 1 {
		return sum, nil
	}
	if err := w.verifyCopy(ctx, dst, f, alg, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// putCopy PUTs length bytes of body to url (with Content-MD5 when given)
// and returns the status code.
func (w *Workers) putCopy(ctx context.Context, url string, body io.Reader, length int64, contentMD5 []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "PUT", url, body)
	if err != nil {
		return 0, destErr("PUT %s: %w", url, err)
	}
	req.ContentLength = length
	if length == 0 {
		req.Body = http.NoBody
	}
	if contentMD5 != nil {
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(contentMD5))
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, destErr("PUT %s: %w", url, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// verifyCopy reads the digest of dst's new copy back (side channel, else
// GET) and compares it with sum.
func (w *Workers) verifyCopy(ctx context.Context, dst *cluster.Device, f store.File, alg string, sum []byte) error {
	url := dst.GetURL(f.FID, cluster.Zone{})
	got, err := w.d.Nodes.Digest(ctx, dst.Host.IP(cluster.Zone{}), dst.Path(f.FID), url, alg, "", f.Length)
	if err != nil {
		return destErr("reading back %s of %s: %w", alg, url, err)
	}
	if !bytes.Equal(got, sum) {
		return destErr("checksum mismatch on PUT %s: expected %s actual %s", url, hex.EncodeToString(sum), hex.EncodeToString(got))
	}
	return nil
}

// openSource GETs the source copy, which must answer 2xx with the file's
// length.
func (w *Workers) openSource(ctx context.Context, url string, length int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, srcErr("GET %s: %w", url, err)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, srcErr("GET %s: %w", url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, srcErr("GET %s: HTTP %s", url, resp.Status)
	}
	if resp.ContentLength != length {
		resp.Body.Close()
		return nil, srcErr("GET %s: content-length %d, file length %d", url, resp.ContentLength, length)
	}
	return resp, nil
}

// deleteURL sends a best-effort DELETE.
func (w *Workers) deleteURL(ctx context.Context, url string) {
	if _, err := w.httpDelete(ctx, url); err != nil {
		w.log.Debug("worker: DELETE failed", "url", url, "err", err)
	}
}

// httpDelete sends DELETE url and returns the status code.
func (w *Workers) httpDelete(ctx context.Context, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.CopyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "DELETE", url, nil)
	if err != nil {
		return 0, fmt.Errorf("DELETE %s: %w", url, err)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("DELETE %s: %w", url, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// isCopySrcErr reports whether err blames the copy's source.
func isCopySrcErr(err error) bool {
	var ce *copyError
	return errors.As(err, &ce) && ce.src
}
