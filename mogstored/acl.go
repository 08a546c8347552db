package mogstored

import (
	"log/slog"

	"github.com/mogilefs-go/mogilefs/internal/acl"
	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// writeGuard answers 403 to any request but GET and HEAD from a client
// outside the write_allow networks (not in the original, whose storage
// nodes take PUT and DELETE from anyone who reaches them). The trackers
// must be inside: they DELETE files, replicate with PUT and probe each
// device with a test PUT. The refused request's body is not read, so the
// connection is closed after the answer.
type writeGuard struct {
	allow *acl.List
	log   *slog.Logger
	next  httpd.Handler
}

// guardWrites wraps next with the write_allow check; without a list it
// returns next itself.
func guardWrites(allow *acl.List, log *slog.Logger, next httpd.Handler) httpd.Handler {
	if !allow.Enabled() {
		return next
	}
	return &writeGuard{allow: allow, log: log, next: next}
}

func (g *writeGuard) ServeHTTP(w *httpd.ResponseWriter, r *httpd.Request) {
	if r.Method != "GET" && r.Method != "HEAD" && !g.allow.AllowsAddr(r.RemoteAddr) {
		client := "unknown"
		if r.RemoteAddr != nil {
			client = r.RemoteAddr.String()
		}
		g.log.Warn("write refused: client not in write_allow", "client", client, "method", r.Method, "path", r.Path)
		simple(w, 403, "Writes are not allowed from your address")
		return
	}
	g.next.ServeHTTP(w, r)
}
