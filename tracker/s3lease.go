package tracker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// s3_lock and s3_unlock (docs/s3.md §6): a lease on one of the store's
// named locks, for a client that works under it between two commands
// (the S3 gateways' sweep of abandoned multipart uploads: at most one
// gateway of a cluster sweeps at a time). The tracker holds the lock
// until s3_unlock with the token it gave, or until the lease's ttl ran
// out, whichever comes first; a tracker that stops releases it with its
// database session (MySQL) or as a holder that is gone (SQLite).

// maxLeaseTTL bounds a lease.
const maxLeaseTTL = 24 * 3600

type lease struct {
	token string
	timer *time.Timer
}

// leases are the s3_lock leases this tracker holds, by lock name.
type leases struct {
	st  store.Store
	log *slog.Logger
	mu  sync.Mutex
	by  map[string]*lease
}

func newLeases(st store.Store, log *slog.Logger) *leases {
	return &leases{st: st, log: log, by: map[string]*lease{}}
}

// leaseName is the store lock of an s3_lock name: in a namespace of its
// own, so that no client can take a lock the tracker's workers use.
func leaseName(r *request) (string, bool) {
	n := r.arg("name")
	if n == "" || len(n) > 64 {
		return "", false
	}
	return "mgfs:s3:" + n, true
}

func (l *leases) cmdLock(ctx context.Context, r *request) reply {
	name, ok := leaseName(r)
	ttl, err := strconv.Atoi(r.arg("ttl"))
	if !ok || err != nil || ttl < 1 || ttl > maxLeaseTTL {
		return errReply("bad_params", "give a name of 1 to 64 bytes and a ttl of 1 to "+strconv.Itoa(maxLeaseTTL)+" seconds")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, held := l.by[name]; held {
		return okReply(wire.Args{"locked": "0"})
	}
	got, err := l.st.Lock(ctx, name, 0)
	if err != nil {
		return errReply("failure", err.Error())
	}
	if !got {
		return okReply(wire.Args{"locked": "0"})
	}
	var b [16]byte
	rand.Read(b[:])
	le := &lease{token: hex.EncodeToString(b[:])}
	le.timer = time.AfterFunc(time.Duration(ttl)*time.Second, func() { l.release(name, le.token) })
	l.by[name] = le
	return okReply(wire.Args{"locked": "1", "token": le.token})
}

func (l *leases) cmdUnlock(_ context.Context, r *request) reply {
	name, ok := leaseName(r)
	if !ok || r.arg("token") == "" {
		return errReply("bad_params", "give the name and the token of s3_lock")
	}
	if !l.release(name, r.arg("token")) {
		return errReply("not_locked", "no lease of that name and token here")
	}
	return okReply(nil)
}

// release ends the lease of name if its token is token.
func (l *leases) release(name, token string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	le, ok := l.by[name]
	if !ok || le.token != token {
		return false
	}
	le.timer.Stop()
	delete(l.by, name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.st.Unlock(ctx, name); err != nil {
		l.log.Warn("s3 lease not released", "lock", name, "err", err)
	}
	return true
}
