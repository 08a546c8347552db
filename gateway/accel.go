package gateway

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Headers of an X-Accel-Redirect answer.
const (
	// HeaderAccelRedirect names nginx's internal location and the copy
	// to serve: <AccelRedirect>/<host:port>/<path on the node>.
	HeaderAccelRedirect = "X-Accel-Redirect"
	// HeaderReproxyURL lists every copy's URL, best first, separated by
	// spaces (Perlbal's reproxy header).
	HeaderReproxyURL = "X-Reproxy-URL"
	// HeaderAccelNext is the second copy's URL, for an nginx
	// error_page that fails over (absent with a single copy).
	HeaderAccelNext = "X-MogileFS-Next-URL"
	// HeaderAccelRange is the Range the storage node is to apply: the
	// client's Range header when the gateway decided to honour it
	// (If-Range matched), else absent. nginx passes it on as Range.
	HeaderAccelRange = "X-MogileFS-Range"
)

// accel answers a GET or HEAD in X-Accel-Redirect mode: preconditions and
// unsatisfiable ranges were answered already; nginx is told where the
// bytes are.
func (g *Gateway) accel(rec *request, m *fileMeta, p plan) {
	if len(m.paths) == 0 {
		g.fail(rec, errNoCopy)
		return
	}
	paths := g.health.order(m.paths)
	target, ok := accelTarget(g.cfg.AccelRedirect, paths[0])
	if !ok {
		g.fail(rec, errNoCopy)
		return
	}
	rec.url = paths[0]
	rp := &rec.rp
	// nginx keeps some headers of this answer (Content-Type among
	// them) and adds the node's: Accept-Ranges would come twice.
	rp.acceptRanges = false
	rp.set(HeaderAccelRedirect, target)
	rp.set(HeaderReproxyURL, strings.Join(paths, " "))
	if len(paths) > 1 {
		rp.set(HeaderAccelNext, paths[1])
	}
	if p.status == http.StatusPartialContent {
		rp.set(HeaderAccelRange, rec.r.Header("Range"))
	}
	// The length nginx will send, for logs; nginx takes the node's.
	rp.set("X-MogileFS-Length", strconv.FormatInt(m.size, 10))
	rp.send(http.StatusOK, nil)
}

// accelTarget turns "http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid"
// into "<loc>/10.0.0.1:7500/dev1/0/000/000/0000000001.fid".
func accelTarget(loc, u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "") {
		return "", false
	}
	t := loc + "/" + p.Host + p.EscapedPath()
	if p.RawQuery != "" {
		t += "?" + p.RawQuery
	}
	return t, true
}
