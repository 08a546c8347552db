package mogstored

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// Peer copies (docs/fastpath.md §4.5): a lease names peer devices on
// other nodes; an upload whose class wants more than one copy is streamed
// to them with a plain PUT of the fid's path while the node writes its
// own copy, and the commit names the peers that took it.

const (
	fpPeerTimeout   = 5 * time.Second  // a peer PUT, from its start
	fpPeerSkip      = 5 * time.Second  // a peer that failed is skipped this long
	fpPeerLease     = 10 * time.Second // a lease without peers is replaced this often
	fpClassesEvery  = 30 * time.Second // get_domains refresh
	fpClassesMiss   = time.Second      // at most one refresh this often for classes not in the cache
	fpLeasePeersAsk = 2                // the peers= of every lease
)

// leasePeer is one peer device of a lease: its devid and the base URL of
// its host (http://ip:port).
type leasePeer struct {
	devid int
	url   string
}

// newPeerHTTP is the client of the peer PUTs and DELETEs.
func newPeerHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// classCopies maps "domain\x00class" to the class's mindevcount.
type classCopies struct {
	m  map[string]int
	at time.Time
}

// copies is the mindevcount of class ("" is the domain's default class)
// in domain, 0 when it is not known. A class not in the cache refreshes
// it at once, at most every fpClassesMiss (concurrent misses wait for
// one refresh), so that a new class gets its copies from its first
// upload.
func (fp *fastPath) copies(ctx context.Context, domain, class string) int {
	if class == "" {
		class = "default"
	}
	key := domain + "\x00" + class
	look := func() (int, *classCopies, bool) {
		cc := fp.classes.Load()
		if cc == nil {
			return 0, nil, false
		}
		n, ok := cc.m[key]
		return n, cc, ok
	}
	if n, _, ok := look(); ok {
		return n
	}
	fp.classMu.Lock()
	defer fp.classMu.Unlock()
	n, cc, ok := look()
	if ok || (cc != nil && time.Since(cc.at) < fpClassesMiss) {
		return n
	}
	ctx, cancel := context.WithTimeout(ctx, fpTrackerTimeout)
	defer cancel()
	if err := fp.refreshClasses(ctx); err != nil {
		fp.log.Warn("fast path: class refresh failed", "err", err)
		return 0
	}
	n, _, _ = look()
	return n
}

// refreshClasses reads every class's mindevcount with get_domains.
func (fp *fastPath) refreshClasses(ctx context.Context) error {
	doms, err := fp.link.Domains(ctx)
	if err != nil {
		return fmt.Errorf("get_domains: %w", err)
	}
	cc := &classCopies{m: map[string]int{}, at: time.Now()}
	for _, d := range doms {
		for _, c := range d.Classes {
			cc.m[d.Name+"\x00"+c.Name] = c.MinDevCount
		}
	}
	fp.classes.Store(cc)
	return nil
}

// maybeRefreshClasses refreshes the class cache every fpClassesEvery.
func (fp *fastPath) maybeRefreshClasses(ctx context.Context, now time.Time) {
	if cc := fp.classes.Load(); cc != nil && now.Sub(cc.at) < fpClassesEvery {
		return
	}
	if err := fp.refreshClasses(ctx); err != nil && ctx.Err() == nil {
		fp.log.Warn("fast path: class refresh failed", "err", err)
	}
}

// usablePeers drops the peers being skipped after a failure and keeps at
// most n.
func (fp *fastPath) usablePeers(peers []leasePeer, n int, now time.Time) []leasePeer {
	var out []leasePeer
	fp.peerMu.Lock()
	defer fp.peerMu.Unlock()
	for _, p := range peers {
		if len(out) == n {
			break
		}
		if now.Before(fp.peerSkip[p.devid]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// peerFailed skips devid for fpPeerSkip.
func (fp *fastPath) peerFailed(devid int) {
	fp.peerMu.Lock()
	fp.peerSkip[devid] = time.Now().Add(fpPeerSkip)
	fp.peerMu.Unlock()
}

// peerCopy is one upload's PUT to one peer.
type peerCopy struct {
	devid  int
	url    string
	pw     *io.PipeWriter
	failed bool // the body could not be handed over
	cancel context.CancelFunc
	done   chan error
	err    error // the PUT's outcome, once finished
}

// peerSet is an upload's peer copies; as an io.Writer it hands every
// byte of the body to each peer still taking it, and never fails. The
// nil *peerSet has no peers.
type peerSet struct {
	fp       *fastPath
	fid      int64
	copies   []*peerCopy
	finished bool
	kept     bool // the upload was committed (or may have been): keep the copies
}

// startPeers begins the PUT of fid (size bytes) to each peer.
func (fp *fastPath) startPeers(peers []leasePeer, fid, size int64) *peerSet {
	if len(peers) == 0 {
		return nil
	}
	ps := &peerSet{fp: fp, fid: fid}
	for _, p := range peers {
		pr, pw := io.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), fpPeerTimeout)
		c := &peerCopy{devid: p.devid, url: p.url + nodeproto.FIDPath(p.devid, fid), pw: pw, cancel: cancel,
			done: make(chan error, 1)}
		var body io.Reader = pr
		if size == 0 {
			body = http.NoBody
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url, body)
		if err != nil {
			cancel()
			pr.Close()
			c.failed, c.err = true, err
			c.done <- err
			ps.copies = append(ps.copies, c)
			continue
		}
		req.ContentLength = size
		req.Header.Set(peerCopyHeader, "1")
		go func() {
			resp, err := fp.peerHTTP.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					err = fmt.Errorf("PUT %s: %s", c.url, resp.Status)
				}
			}
			// A peer that answered before reading the whole body must
			// not block the writer.
			pr.CloseWithError(io.ErrClosedPipe)
			c.done <- err
		}()
		ps.copies = append(ps.copies, c)
	}
	return ps
}

// Write hands p to every peer still taking the body.
func (ps *peerSet) Write(p []byte) (int, error) {
	for _, c := range ps.copies {
		if c.failed {
			continue
		}
		if _, err := c.pw.Write(p); err != nil {
			c.failed = true
		}
	}
	return len(p), nil
}

// finish ends the bodies (with bodyErr, the body is cut short and the
// peers drop it), waits for the peers' answers and returns the devids of
// those that stored the copy.
func (ps *peerSet) finish(bodyErr error) []int {
	if ps == nil || ps.finished {
		return nil
	}
	ps.finished = true
	for _, c := range ps.copies {
		if bodyErr != nil {
			c.pw.CloseWithError(bodyErr)
		} else {
			c.pw.Close()
		}
	}
	var ok []int
	for _, c := range ps.copies {
		c.err = <-c.done
		c.cancel()
		switch {
		case c.err == nil && !c.failed && bodyErr == nil:
			ok = append(ok, c.devid)
		case bodyErr == nil:
			ps.fp.peerFailed(c.devid)
			ps.fp.m.error("peer_failed")
			if c.err == nil {
				c.err = fmt.Errorf("PUT %s: body not taken", c.url)
			}
			ps.fp.log.Warn("fast path: peer copy failed", "fid", ps.fid, "peer_devid", c.devid, "err", c.err)
		}
	}
	return ok
}

// cleanup, unless the upload was kept, ends what is still going and
// deletes every copy a peer may hold (best effort: a copy left behind is
// removed with the fid's tempfile row by the reaper when the row is still
// there).
func (ps *peerSet) cleanup() {
	if ps == nil || ps.kept {
		return
	}
	ps.finish(errUploadDropped)
	for _, c := range ps.copies {
		go ps.fp.deletePeerCopy(c.url)
	}
}

// keepIf marks the copies kept when the upload was (or may have been)
// committed; the copies of failed peers are deleted.
func (ps *peerSet) keepIf(kept bool) {
	if ps == nil {
		return
	}
	ps.kept = kept
	if !kept {
		return
	}
	for _, c := range ps.copies {
		if c.err != nil || c.failed {
			go ps.fp.deletePeerCopy(c.url)
		}
	}
}

// errUploadDropped cuts the body of a peer copy whose upload failed.
var errUploadDropped = fmt.Errorf("upload dropped")

// deletePeerCopy sends DELETE url; failures are only logged.
func (fp *fastPath) deletePeerCopy(url string) {
	ctx, cancel := context.WithTimeout(context.Background(), fpPeerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = fp.peerHTTP.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 && resp.StatusCode != 404 {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
	}
	if err != nil {
		fp.log.Warn("fast path: peer copy not deleted", "url", url, "err", err)
	}
}

// joinInts is ids comma-separated.
func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}
