package mogstored

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	mogclient "github.com/mogilefs-go/mogilefs/client"
)

// Lease sizes: the first lease of a device asks for leaseStart fids; the
// size doubles (up to the tracker's lease_max) while uploads use a lease
// up within leaseFast.
const (
	leaseStart = 256
	leaseFast  = 10 * time.Second
	leaseCheck = time.Second // expiry and free space are checked this often
)

// leaseBlock is the fids of one fastpath_lease answer.
type leaseBlock struct {
	fids  []int64
	next  int   // fids[next:] are unused
	time  int64 // the lease's time on the database clock (unix seconds)
	skew  int64 // database clock minus the node's clock, from the answer
	peers []leasePeer
}

// used reports whether every fid of the block was handed out.
func (b *leaseBlock) used() bool { return b.next >= len(b.fids) }

// expired reports whether the block may no longer be used at now: its
// time plus lease_ttl has passed on the database clock (a second early,
// for the rounding of both clocks to seconds).
func (b *leaseBlock) expired(now time.Time, ttl time.Duration) bool {
	return now.Unix()+b.skew+1 >= b.time+int64(ttl/time.Second)
}

// leaseKeeper holds the leased fids of one local device and leases more
// before they run out.
type leaseKeeper struct {
	fp     *fastPath
	devid  int
	cancel context.CancelFunc
	wake   chan struct{}
	free   atomic.Uint64 // bytes free on the device, from statfs
	// failing: the last lease failed; uploads do not wait for the next.
	failing atomic.Bool

	mu        sync.Mutex
	blocks    []*leaseBlock // oldest first
	count     int           // size of the next lease
	lastLease time.Time
	peerless  bool // the last lease named no peer
}

func newLeaseKeeper(fp *fastPath, devid int, cancel context.CancelFunc) *leaseKeeper {
	return &leaseKeeper{fp: fp, devid: devid, cancel: cancel, wake: make(chan struct{}, 1), count: leaseStart}
}

func (k *leaseKeeper) stop() { k.cancel() }

// dropExpired drops the expired blocks; k.mu is held.
func (k *leaseKeeper) dropExpired(now time.Time) {
	ttl := k.fp.info.Load().leaseTTL
	for len(k.blocks) > 0 && k.blocks[0].expired(now, ttl) {
		b := k.blocks[0]
		if n := len(b.fids) - b.next; n > 0 {
			k.fp.m.expired(n)
			k.fp.log.Debug("fast path: lease expired", "devid", k.devid, "unused", n)
		}
		k.blocks[0] = nil
		k.blocks = k.blocks[1:]
	}
}

// availableLocked is the number of usable fids; k.mu is held.
func (k *leaseKeeper) availableLocked(now time.Time) int {
	k.dropExpired(now)
	n := 0
	for _, b := range k.blocks {
		n += len(b.fids) - b.next
	}
	return n
}

// available is the number of usable fids at now.
func (k *leaseKeeper) available(now time.Time) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.availableLocked(now)
}

// usable is the number of usable fids at now and the peers of their
// leases.
func (k *leaseKeeper) usable(now time.Time) (n int, peers []int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dropExpired(now)
	for _, b := range k.blocks {
		if !b.used() {
			n += len(b.fids) - b.next
			for _, p := range b.peers {
				peers = append(peers, p.devid)
			}
		}
	}
	return n, peers
}

// take hands out the next usable fid, of the oldest lease with peers
// when withPeers and there is one, else of the oldest lease, and wakes
// the keeper when fewer than half a lease remain.
func (k *leaseKeeper) take(now time.Time, withPeers bool) (int64, []leasePeer, bool) {
	k.mu.Lock()
	k.dropExpired(now)
	k.blocks = slices.DeleteFunc(k.blocks, (*leaseBlock).used)
	var fid int64
	var peers []leasePeer
	ok := false
	if len(k.blocks) > 0 {
		b := k.blocks[0]
		if withPeers {
			if i := slices.IndexFunc(k.blocks, func(b *leaseBlock) bool { return len(b.peers) > 0 }); i >= 0 {
				b = k.blocks[i]
			}
		}
		fid, peers, ok = b.fids[b.next], b.peers, true
		b.next++
	}
	low := k.lowLocked(now)
	k.mu.Unlock()
	if low {
		select {
		case k.wake <- struct{}{}:
		default:
		}
	}
	return fid, peers, ok
}

// lowLocked reports whether a new lease is due: few fids left, or none
// of a lease with peers while the cluster has other hosts (then every
// fpPeerLease, six times that after a lease that named no peer); k.mu
// is held.
func (k *leaseKeeper) lowLocked(now time.Time) bool {
	if k.availableLocked(now) < k.count/2 {
		return true
	}
	every := fpPeerLease
	if k.peerless {
		every *= 6
	}
	if k.fp.info.Load().hosts < 2 || now.Sub(k.lastLease) < every {
		return false
	}
	return !slices.ContainsFunc(k.blocks, func(b *leaseBlock) bool { return len(b.peers) > 0 && !b.used() })
}

// run leases fids whenever they run low, until ctx is done. A device the
// tracker refuses is asked about again every fpRefusedRetry.
func (k *leaseKeeper) run(ctx context.Context) {
	tick := time.NewTicker(leaseCheck)
	defer tick.Stop()
	var retryAt time.Time
	for {
		now := time.Now()
		k.measureFree()
		k.mu.Lock()
		low := k.lowLocked(now)
		k.mu.Unlock()
		if low && k.fp.info.Load().enabled && !now.Before(retryAt) {
			wait, err := k.lease(ctx)
			k.failing.Store(err != nil)
			if err != nil {
				retryAt = time.Now().Add(wait)
				if ctx.Err() == nil {
					k.fp.log.Warn("fast path: lease failed", "devid", k.devid, "retry_in", wait, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-k.wake:
		}
	}
}

// lease asks for one block of fids. On failure it says how long to wait
// before the next try.
func (k *leaseKeeper) lease(ctx context.Context) (time.Duration, error) {
	info := k.fp.info.Load()
	k.mu.Lock()
	now := time.Now()
	if !k.lastLease.IsZero() && now.Sub(k.lastLease) < leaseFast {
		k.count *= 2
	}
	k.count = max(1, min(k.count, info.leaseMax))
	count := k.count
	k.mu.Unlock()
	sent := time.Now()
	a, err := k.fp.link.Do(ctx, "fastpath_lease", map[string]string{
		"devid": strconv.Itoa(k.devid), "count": strconv.Itoa(count), "peers": strconv.Itoa(fpLeasePeersAsk)})
	switch {
	case mogclient.IsCode(err, "dev_not_writable"), mogclient.IsCode(err, "unknown_device"),
		mogclient.IsCode(err, "unknown_command"), mogclient.IsCode(err, "fastpath_off"):
		k.fp.m.error(mogclient.Code(err))
		return fpRefusedRetry, fmt.Errorf("lease %d fids on dev%d: %w", count, k.devid, err)
	case err != nil:
		k.fp.m.error("lease_failed")
		return time.Second, fmt.Errorf("lease %d fids on dev%d: %w", count, k.devid, err)
	}
	b, err := parseLease(a)
	if err != nil {
		k.fp.m.error("lease_failed")
		return time.Second, fmt.Errorf("lease on dev%d: %w", k.devid, err)
	}
	b.skew = b.time - sent.Unix()
	k.mu.Lock()
	k.blocks = append(k.blocks, b)
	k.lastLease = time.Now()
	k.peerless = len(b.peers) == 0
	k.mu.Unlock()
	k.fp.noteLeased()
	k.fp.m.leased(len(b.fids))
	k.fp.log.Debug("fast path: leased fids", "devid", k.devid, "count", len(b.fids), "first", b.fids[0],
		"last", b.fids[len(b.fids)-1], "time", b.time, "skew", b.skew, "peers", len(b.peers))
	return 0, nil
}

// parseLease reads "count=K&time=T&fid_1=…".
func parseLease(a map[string]string) (*leaseBlock, error) {
	n, err := strconv.Atoi(a["count"])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("bad count %q", a["count"])
	}
	t, err := strconv.ParseInt(a["time"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad time %q", a["time"])
	}
	b := &leaseBlock{fids: make([]int64, n), time: t}
	for i := range n {
		f, err := strconv.ParseInt(a["fid_"+strconv.Itoa(i+1)], 10, 64)
		if err != nil || f <= 0 {
			return nil, fmt.Errorf("bad fid_%d %q", i+1, a["fid_"+strconv.Itoa(i+1)])
		}
		b.fids[i] = f
	}
	// Peers (an older tracker names none).
	np, _ := strconv.Atoi(a["peer_count"])
	for i := 1; i <= np; i++ {
		p := strconv.Itoa(i)
		id, err := strconv.Atoi(a["peer_devid_"+p])
		u := strings.TrimRight(a["peer_url_"+p], "/")
		if err != nil || id <= 0 || !strings.HasPrefix(u, "http://") {
			return nil, fmt.Errorf("bad peer_%s: %q %q", p, a["peer_devid_"+p], a["peer_url_"+p])
		}
		b.peers = append(b.peers, leasePeer{devid: id, url: u})
	}
	return b, nil
}

// measureFree records the free bytes of the device's file system.
func (k *leaseKeeper) measureFree() {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Join(k.fp.root.path, "dev"+strconv.Itoa(k.devid)), &st); err == nil {
		k.free.Store(st.Bavail * uint64(st.Bsize))
	}
}
