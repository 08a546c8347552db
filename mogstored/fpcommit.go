package mogstored

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	mogclient "github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// Group commit: a batch whose send failed is sent again to the next
// tracker up to commitResends times within commitWithin.
const (
	commitResends = 3
	commitWithin  = 5 * time.Second
	commitQueue   = 4096
)

// commitOutcome is what became of one upload.
type commitOutcome int

const (
	committed    commitOutcome = iota // status ok: the key names the fid
	refused                           // the tracker refused the item (400): not committed
	notCommitted                      // known not committed (503, retry)
	unknown                           // the commit was sent and never answered (500)
)

// commitItem is one written upload waiting for its commit.
type commitItem struct {
	fid      int64
	devid    int
	domain   string
	key      string
	class    string
	size     int64
	checksum string   // "MD5:<hex>" or ""
	peers    []int    // the peer devices holding a copy
	attrs    []string // mogfs attributes, name, value pairs (docs/fastpath.md §10.3a)
	done     chan commitResult
}

// commitResult is an item's outcome and, unless committed, the code
// that explains it.
type commitResult struct {
	outcome commitOutcome
	code    string
}

// refusalCodes are the per-item statuses answered 400 to the client.
var refusalCodes = map[string]bool{
	"unreg_domain": true, "unreg_class": true, "no_key": true, "key_too_long": true,
	"invalid_checksum_format": true, "no_domain": true, "bad_params": true,
}

// committer is the node's one group committer.
type committer struct {
	fp      *fastPath
	queue   chan *commitItem
	stopped chan struct{} // closed when run returns
}

func newCommitter(fp *fastPath) *committer {
	return &committer{fp: fp, queue: make(chan *commitItem, commitQueue), stopped: make(chan struct{})}
}

// submit queues it and waits for its outcome.
func (c *committer) submit(it *commitItem) commitResult {
	it.done = make(chan commitResult, 1)
	down := commitResult{outcome: notCommitted, code: "shutting_down"}
	select {
	case c.queue <- it:
	case <-c.stopped:
		return down
	}
	select {
	case r := <-it.done:
		return r
	case <-c.stopped:
		select {
		case r := <-it.done:
			return r
		default:
			return down
		}
	}
}

// run sends batches until ctx is done, one at a time: an item that
// finds no commit in flight goes at once, alone, and whatever queues up
// while a commit is in flight goes together in the next one (up to
// batch_max). So a lone client waits for no timer, and a busy node's
// batches grow with its load. One batch in flight keeps the uploads of a
// key committed in the order they arrived.
func (c *committer) run(ctx context.Context) {
	defer close(c.stopped)
	var batch []*commitItem
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			c.failQueued()
			return
		case it := <-c.queue:
			batch = append(batch, it)
		}
		max := c.fp.info.Load().batchMax
	drain:
		for len(batch) < max {
			select {
			case it := <-c.queue:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		c.send(ctx, batch)
		clear(batch)
	}
}

// failQueued answers the items still queued at shutdown: nothing was sent.
func (c *committer) failQueued() {
	for {
		select {
		case it := <-c.queue:
			it.done <- commitResult{outcome: notCommitted, code: "shutting_down"}
		default:
			return
		}
	}
}

// send commits one batch, resending it on failure, and answers each item.
func (c *committer) send(ctx context.Context, batch []*commitItem) {
	args, cmd := commitArgs(batch)
	start := time.Now()
	maybeSent := false
	var lastErr error
	for attempt := 0; attempt <= commitResends; attempt++ {
		left := commitWithin - time.Since(start)
		if attempt > 0 && left <= 0 {
			break
		}
		a, err := c.fp.link.DoTimeout(ctx, min(fpTrackerTimeout, max(left, 100*time.Millisecond)), cmd, args)
		var we *wire.Error
		switch {
		case err == nil:
			c.answer(batch, a, time.Since(start))
			return
		case errors.As(err, &we) && we.Code != "db" && we.Code != "unknown_command":
			// The tracker refused the whole command; nothing of it was
			// committed by this tracker.
			c.fp.m.error(we.Code)
			c.fail(batch, err, maybeSent)
			return
		case errors.As(err, &we):
			// A database failure, or a tracker of an older version
			// among newer ones (unknown_command): nothing committed;
			// another tracker may do.
		case !notSent(err):
			maybeSent = true
		}
		lastErr = err
		c.fp.m.error("commit_failed")
		c.fp.log.Warn("fast path: commit failed", "items", len(batch), "attempt", attempt+1, "err", err)
		if ctx.Err() != nil {
			break
		}
	}
	c.fail(batch, lastErr, maybeSent)
}

// commitArgs builds the arguments of the batch's command:
// fastpath_commit, or mogfs_fastpath_commit when an item carries
// attributes (a tracker that does not know it refuses it, where one that
// does not know the attribute arguments would drop them).
func commitArgs(batch []*commitItem) (map[string]string, string) {
	cmd := "fastpath_commit"
	a := make(map[string]string, 1+7*len(batch))
	a["count"] = strconv.Itoa(len(batch))
	for i, it := range batch {
		n := strconv.Itoa(i + 1)
		a["fid_"+n] = strconv.FormatInt(it.fid, 10)
		a["devid_"+n] = strconv.Itoa(it.devid)
		a["domain_"+n] = it.domain
		a["key_"+n] = it.key
		a["class_"+n] = it.class
		a["size_"+n] = strconv.FormatInt(it.size, 10)
		if it.checksum != "" {
			a["checksum_"+n] = it.checksum
		}
		if len(it.peers) > 0 {
			a["peers_"+n] = joinInts(it.peers)
		}
		for j := 0; j+1 < len(it.attrs); j += 2 {
			a[it.attrs[j]+"_"+n] = it.attrs[j+1]
			cmd = "mogfs_fastpath_commit"
		}
	}
	return a, cmd
}

// answer hands each item its status from the reply.
func (c *committer) answer(batch []*commitItem, a map[string]string, took time.Duration) {
	c.fp.m.batch(len(batch))
	bad := 0
	for i, it := range batch {
		st := a["status_"+strconv.Itoa(i+1)]
		switch {
		case st == "ok":
			it.done <- commitResult{outcome: committed}
			continue
		case st == "":
			st = "no_status"
			it.done <- commitResult{outcome: notCommitted, code: st}
		case refusalCodes[st]:
			it.done <- commitResult{outcome: refused, code: st}
		default: // lease_expired, invalid_destdev, bogus_args, ...
			it.done <- commitResult{outcome: notCommitted, code: st}
		}
		bad++
		c.fp.m.error(st)
		c.fp.log.Warn("fast path: upload not committed", "fid", it.fid, "devid", it.devid, "domain", it.domain,
			"key", it.key, "status", st)
	}
	c.fp.log.Debug("fast path: batch committed", "items", len(batch), "refused", bad, "took", took)
}

// fail answers every item of a batch that got no reply: 500 when some
// tracker may have committed it, else 503.
func (c *committer) fail(batch []*commitItem, err error, maybeSent bool) {
	res := commitResult{outcome: notCommitted, code: "no_tracker"}
	var te *mogclient.TrackerError
	var we *wire.Error
	switch {
	case maybeSent:
		res = commitResult{outcome: unknown, code: "commit_unknown"}
	case errors.As(err, &we):
		res.code = we.Code
	case errors.As(err, &te) && errors.Is(err, context.Canceled):
		res.code = "shutting_down"
	}
	for _, it := range batch {
		it.done <- res
		c.fp.log.Warn("fast path: commit failed", "fid", it.fid, "devid", it.devid, "domain", it.domain,
			"key", it.key, "outcome", res.code, "err", fmt.Sprint(err))
	}
}
