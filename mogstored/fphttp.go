package mogstored

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// fpMaxBody is the largest upload /_put takes.
const fpMaxBody = 1 << 20

// fastPath answers the fast path's requests (/_fastpath, /_put, /_key)
// and reports whether r was one. Without trackers they are 404, as on an
// original node.
func (h *handler) fastPath(w *httpd.ResponseWriter, r *httpd.Request) bool {
	switch r.Path {
	case "/_fastpath", "/_put", "/_key":
	default:
		return false
	}
	get := r.Method == "GET" || r.Method == "HEAD"
	switch {
	case h.fp == nil:
		if !r.BodyDone() {
			w.CloseAfter()
		}
		simple(w, 404, "")
	case r.Path == "/_fastpath" && get:
		h.fpStatus(w)
	case r.Path == "/_put" && r.Method == "PUT":
		h.fpPut(w, r)
	case r.Path == "/_key" && get:
		h.fpKey(w, r)
	default:
		if !r.BodyDone() {
			w.CloseAfter()
		}
		if r.Path == "/_put" {
			w.Header("Allow", "PUT")
		} else {
			w.Header("Allow", "GET, HEAD")
		}
		simple(w, 405, "")
	}
	return true
}

// fpStatus answers GET /_fastpath.
func (h *handler) fpStatus(w *httpd.ResponseWriter) {
	ids, peers := h.fp.readyDevices(time.Now())
	b := make([]byte, 0, 64)
	b = append(b, `{"fastpath":1,"ready":`...)
	b = strconv.AppendBool(b, len(ids) > 0)
	b = append(b, `,"attrs":`...)
	b = strconv.AppendBool(b, h.fp.info.Load().attrs)
	b = append(b, `,"devices":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	b = append(b, `],"peers":[`...)
	for i, id := range peers {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	b = append(b, "]}\n"...)
	w.Header("Content-Type", "application/json")
	w.Header("Cache-Control", "no-store")
	w.Respond(200, b)
}

// fpRefuse answers a /_put that is not taken; errCode goes in
// X-MogileFS-Error, and 503 carries X-MogileFS-Retry (nothing was
// committed).
func fpRefuse(w *httpd.ResponseWriter, r *httpd.Request, code int, errCode string) {
	if !r.BodyDone() {
		w.CloseAfter()
	}
	if errCode != "" {
		w.Header("X-MogileFS-Error", errCode)
	}
	if code == 503 {
		w.Header("X-MogileFS-Retry", "1")
	}
	simple(w, code, errCode)
}

// fpKeyArgs reads the domain and key of a fast-path request's query;
// bad is the error code of what is wrong with them ("" when nothing is).
func fpKeyArgs(rawQuery string) (q url.Values, domain, key, bad string) {
	q, err := url.ParseQuery(rawQuery)
	domain, key = q.Get("domain"), q.Get("key")
	switch {
	case err != nil:
		bad = "bad_params"
	case domain == "":
		bad = "no_domain"
	case key == "":
		bad = "no_key"
	}
	return q, domain, key, bad
}

// fpPut answers PUT /_put?domain=D&key=K[&class=C]: the body is written
// under a leased fid, committed with the next batch, and answered after
// the commit.
func (h *handler) fpPut(w *httpd.ResponseWriter, r *httpd.Request) {
	q, domain, key, bad := fpKeyArgs(r.RawQuery)
	class := q.Get("class")
	switch {
	case r.ContentLength < 0 || r.Header("Content-Length") == "":
		fpRefuse(w, r, 411, "")
		return
	case r.ContentLength > fpMaxBody:
		fpRefuse(w, r, 413, "")
		return
	case r.Header("Content-Range") != "":
		fpRefuse(w, r, 400, "bad_params")
		return
	case bad != "":
		fpRefuse(w, r, 400, bad)
		return
	}
	attrs := fpAttrArgs(q)
	if attrs != nil && !h.fp.info.Load().attrs {
		// Never drop them: the client commits the three-step way.
		h.fp.m.put("retry")
		h.fp.m.error("no_attrs")
		fpRefuse(w, r, 503, "no_attrs")
		return
	}
	// Peer copies wanted (the request has no context of its own; a
	// refresh of the class cache is bounded by the tracker timeout).
	extra := h.fp.copies(context.Background(), domain, class) - 1
	devid, fid, peers, ok := h.fp.takeWait(extra > 0)
	now := time.Now()
	if !ok {
		h.fp.m.put("retry")
		h.fp.m.error("no_lease")
		fpRefuse(w, r, 503, "no_lease")
		return
	}
	if extra > 0 {
		peers = h.fp.usablePeers(peers, extra, now)
	} else {
		peers = nil
	}
	h.fpStore(w, r, &commitItem{fid: fid, devid: devid, domain: domain, key: key, class: class, attrs: attrs}, peers)
}

// fpAttrNames are the mogfs attribute arguments /_put takes
// (docs/fastpath.md §10.3a), passed on to the tracker as they came.
var fpAttrNames = []string{"mtime", "mtime_nsec", "atime", "atime_nsec", "ctime", "ctime_nsec", "mode", "uid", "gid", "rdev"}

// fpAttrArgs returns the attribute arguments of a /_put query as name,
// value pairs (nil for none; an empty value counts as not given).
func fpAttrArgs(q url.Values) []string {
	var kv []string
	for _, n := range fpAttrNames {
		if v := q.Get(n); v != "" {
			kv = append(kv, n, v)
		}
	}
	return kv
}

// fpStore writes the body as its fid on its device, has it committed and
// answers. A file not committed is removed; one whose commit outcome is
// unknown is kept (the reaper removes it with its lease if it was not).
func (h *handler) fpStore(w *httpd.ResponseWriter, r *httpd.Request, it *commitItem, peers []leasePeer) {
	rel := nodeproto.FIDPath(it.devid, it.fid)[1:]
	np := nodePath{devid: it.devid, rel: rel, sub: rel[strings.IndexByte(rel, '/')+1:]}
	parent, name := path.Split(np.sub)
	var up *upload
	// Every answer but success goes out after the file is gone.
	fail := func(code int, errCode string, err error) {
		if up != nil {
			up.discard()
		}
		h.fp.log.Warn("fast path: upload failed", "fid", it.fid, "devid", it.devid, "domain", it.domain,
			"key", it.key, "status", code, "err", err)
		h.fp.m.error(errCode)
		h.fp.m.put("failed")
		fpRefuse(w, r, code, errCode)
	}
	dir, err := h.root.openPutDir(it.devid, parent)
	if err != nil {
		h.devs.noteError(it.devid, err)
		fail(503, "write_failed", err)
		return
	}
	defer dir.Close()
	// The final name at once: no one reads a fid before its commit.
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dir.fd, name, flags, 0o644)
	if err != nil {
		h.devs.noteError(it.devid, err)
		fail(503, "write_failed", err)
		return
	}
	up = &upload{dir: dir, fd: fd, tmp: name}
	defer up.discard()
	// The peer copies (§4.5) take the body as it arrives.
	pc := h.fp.startPeers(peers, it.fid, r.ContentLength)
	defer pc.cleanup()
	if pc != nil {
		body := r.Body
		r.Body = io.TeeReader(body, pc)
		defer func() { r.Body = body }()
	}
	if rep, ok := h.receive(r, np, up); !ok {
		if rep.code < 500 {
			// The body broke off or stalled (receive logged it): the
			// client is gone or at fault; no tracker code to give.
			up.discard()
			h.fp.m.error("body_incomplete")
			h.fp.m.put("failed")
			w.CloseAfter()
			simple(w, rep.code, rep.msg)
			return
		}
		fail(503, "write_failed", nil)
		return
	}
	status := 200
	if want := r.Header("Content-MD5"); want != "" {
		sum := up.md5.Sum(nil)
		expect := strings.TrimRight(strings.TrimSpace(want), "=")
		if strings.TrimRight(base64.StdEncoding.EncodeToString(sum), "=") != expect {
			fail(400, "checksum_mismatch", nil)
			return
		}
		it.checksum = "MD5:" + hex.EncodeToString(sum)
		status = 201
	}
	if h.fsync {
		if err := unix.Fsync(dir.fd); err != nil {
			fail(503, "write_failed", err)
			return
		}
	}
	it.size = r.ContentLength
	it.peers = pc.finish(nil)
	res := h.fp.commit.submit(it)
	pc.keepIf(res.outcome == committed || res.outcome == unknown)
	if res.outcome == committed || res.outcome == unknown {
		// This node's answer for the key is stale now.
		h.fp.resolve.drop(it.domain, it.key)
	}
	switch res.outcome {
	case committed:
		up.kept = true
		h.devs.noteWrite(it.devid)
		h.fp.m.put("ok")
		base := h.fp.info.Load().baseURL
		if base == "" {
			base = "http://" + r.Header("Host")
		}
		w.HeaderInt("X-MogileFS-FID", it.fid)
		w.HeaderInt("X-MogileFS-Devid", int64(it.devid))
		w.Header("X-MogileFS-Path", base+"/"+rel)
		w.Respond(status, nil)
	case unknown:
		up.kept = true
		h.fp.m.put("unknown")
		simple(w, 500, "commit outcome unknown")
	case refused:
		up.discard()
		h.fp.m.put("refused")
		fpRefuse(w, r, 400, res.code)
	default:
		up.discard()
		h.fp.m.put("retry")
		fpRefuse(w, r, 503, res.code)
	}
}
