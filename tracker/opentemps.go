package tracker

import (
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// openTemps remembers the tempfile rows of the uploads this tracker
// opened, so that create_close of such an upload (almost always sent to
// the tracker that opened it) needs no database read before its commit.
//
// A remembered row is only trusted on the way to a successful commit,
// which checks it anyway: the commit deletes the tempfile row and fails
// with no_temp_file when it is gone. Every other outcome of create_close
// is decided again from the database (see cmdCreateClose), so replies
// are those of a tracker without this memory. Only fids the database
// allocated are remembered (they are never handed out twice), for at most
// openTempTTL; create_close takes its entry out.
type openTemps struct {
	mu     sync.Mutex
	m      map[int64]openTemp
	max    int
	swept  time.Time
	maxAge time.Duration
}

type openTemp struct {
	classID int
	devIDs  []int
	at      time.Time
}

// openTempTTL bounds how long a remembered row is used; a later
// create_close reads the database.
const openTempTTL = 10 * time.Minute

func newOpenTemps(max int) *openTemps {
	return &openTemps{m: map[int64]openTemp{}, max: max, maxAge: openTempTTL}
}

// put remembers the row of fid; devIDs must not change afterwards.
func (o *openTemps) put(fid int64, classID int, devIDs []int) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if now.Sub(o.swept) > o.maxAge/4 || len(o.m) >= o.max {
		o.swept = now
		for k, e := range o.m {
			if now.Sub(e.at) > o.maxAge {
				delete(o.m, k)
			}
		}
	}
	if len(o.m) < o.max {
		o.m[fid] = openTemp{classID: classID, devIDs: devIDs, at: now}
	}
}

// take returns and forgets the remembered row of fid.
func (o *openTemps) take(fid int64) (store.Tempfile, bool) {
	o.mu.Lock()
	e, ok := o.m[fid]
	if ok {
		delete(o.m, fid)
	}
	o.mu.Unlock()
	if !ok || time.Since(e.at) > o.maxAge {
		return store.Tempfile{}, false
	}
	return store.Tempfile{FID: fid, ClassID: e.classID, DevIDs: e.devIDs}, true
}
