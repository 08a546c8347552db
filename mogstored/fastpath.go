package mogstored

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mogclient "github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// The fast path (docs/fastpath.md, "Wire"): with Config.Trackers set the
// node leases fids in bulk per device (leaseKeeper), takes uploads by
// domain and key on PUT /_put, writes them under the fid's ordinary path,
// commits them in batches with fastpath_commit (committer), and serves
// GET /_key by domain and key through a batched, cached fastpath_paths
// lookup (resolver). GET /_fastpath tells clients whether the node can
// take uploads now.

// Timings of the fast path.
const (
	fpInfoEvery      = 30 * time.Second // fastpath_info refresh
	fpInfoRetry      = time.Second      // until the first fastpath_info answer
	fpScanEvery      = 10 * time.Second // device directories rescanned
	fpRefusedRetry   = 10 * time.Second // a device the tracker refused
	fpTrackerTimeout = 3 * time.Second  // one tracker reply
	fpDeadRetry      = time.Second      // an unreachable tracker is skipped this long
)

// fpInfo is what fastpath_info said last.
type fpInfo struct {
	enabled  bool
	batchMax int
	leaseMax int
	leaseTTL time.Duration
	baseURL  string // this node's base URL as the tracker names it, "" if not listed
	hosts    int    // the hosts fastpath_info listed
	attrs    bool   // the trackers take mogfs attributes (mogfs_fastpath_commit)
}

// defaultInfo holds until the first fastpath_info answer.
var defaultInfo = &fpInfo{batchMax: 256, leaseMax: 1000, leaseTTL: 3000 * time.Second}

// fastPath is the node's fast-path state; nil when no trackers are set.
type fastPath struct {
	log      *slog.Logger
	root     *docRoot
	devs     *deviceStates
	fsync    bool
	link     *mogclient.Client
	httpAddr string // the node's listen address, to find itself in fastpath_info
	info     atomic.Pointer[fpInfo]
	commit   *committer
	resolve  *resolver
	m        *fpMetrics // nil until RegisterMetrics

	// Peer copies (fppeer.go).
	peerHTTP *http.Client
	classes  atomic.Pointer[classCopies]
	classMu  sync.Mutex // one refresh after a miss at a time
	peerMu   sync.Mutex
	peerSkip map[int]time.Time // devid -> skipped until

	mu      sync.Mutex
	keepers map[int]*leaseKeeper
	leased  chan struct{} // closed (and replaced) when a keeper adds a lease
}

func newFastPath(cfg Config, root *docRoot, devs *deviceStates, log *slog.Logger) (*fastPath, error) {
	link, err := mogclient.New(mogclient.Config{
		Trackers: cfg.Trackers, Timeout: fpTrackerTimeout, DeadRetry: fpDeadRetry,
		MaxIdlePerTracker: 4, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("trackers: %w", err)
	}
	fp := &fastPath{log: log, root: root, devs: devs, fsync: cfg.Fsync, link: link, httpAddr: cfg.HTTPListen,
		keepers: map[int]*leaseKeeper{}, leased: make(chan struct{}), peerHTTP: newPeerHTTP(), peerSkip: map[int]time.Time{}}
	fp.info.Store(defaultInfo)
	fp.commit = newCommitter(fp)
	fp.resolve = newResolver(fp)
	return fp, nil
}

// run keeps the fast path going until ctx is done: fastpath_info, the
// device scan with one lease keeper per device, the committer and the
// resolver.
func (fp *fastPath) run(ctx context.Context) {
	defer fp.link.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		fp.commit.run(ctx)
	}()
	go func() {
		defer wg.Done()
		fp.resolve.run(ctx)
	}()
	haveInfo := false
	nextInfo, nextScan := time.Time{}, time.Time{}
	tick := time.NewTicker(fpInfoRetry)
	defer tick.Stop()
	for {
		now := time.Now()
		if !now.Before(nextInfo) {
			if err := fp.refreshInfo(ctx); err != nil {
				fp.log.Warn("fast path: fastpath_info failed", "err", err)
			} else {
				haveInfo = true
			}
			nextInfo = now.Add(fpInfoRetry)
			if in := fp.info.Load(); haveInfo && (in.baseURL != "" || !in.enabled) {
				nextInfo = now.Add(fpInfoEvery)
			} else if haveInfo {
				// Not listed yet (the host is new): ask again soon.
				nextInfo = now.Add(fpScanEvery / 2)
			}
		}
		if !now.Before(nextScan) {
			fp.scan(ctx, &wg)
			nextScan = now.Add(fpScanEvery)
		}
		if haveInfo && fp.info.Load().enabled {
			fp.maybeRefreshClasses(ctx, now)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
	}
}

// refreshInfo asks fastpath_info. A tracker without the fast path
// (unknown_command) counts as disabled.
func (fp *fastPath) refreshInfo(ctx context.Context) error {
	a, err := fp.link.Do(ctx, "fastpath_info", nil)
	if mogclient.IsCode(err, "unknown_command") {
		a, err = wire.Args{"enabled": "0"}, nil
	}
	if err != nil {
		return err
	}
	in := &fpInfo{enabled: a["enabled"] == "1", batchMax: defaultInfo.batchMax, leaseMax: defaultInfo.leaseMax,
		leaseTTL: defaultInfo.leaseTTL, attrs: a["attrs"] == "1"}
	if n, err := strconv.Atoi(a["batch_max"]); err == nil && n > 0 {
		in.batchMax = n
	}
	if n, err := strconv.Atoi(a["lease_max"]); err == nil && n > 0 {
		in.leaseMax = n
	}
	if n, err := strconv.Atoi(a["lease_ttl"]); err == nil && n > 0 {
		in.leaseTTL = time.Duration(n) * time.Second
	}
	hosts, _ := strconv.Atoi(a["host_count"])
	in.hosts = hosts
	for i := 1; i <= hosts; i++ {
		if u := a["host_"+strconv.Itoa(i)]; fp.isSelf(u) {
			in.baseURL = strings.TrimRight(u, "/")
			break
		}
	}
	old := fp.info.Swap(in)
	if old == defaultInfo || old.enabled != in.enabled || old.leaseTTL != in.leaseTTL || old.batchMax != in.batchMax || old.attrs != in.attrs {
		fp.log.Info("fast path: tracker settings", "enabled", in.enabled, "lease_ttl", in.leaseTTL,
			"batch_max", in.batchMax, "lease_max", in.leaseMax, "attrs", in.attrs, "self", in.baseURL)
	}
	return nil
}

// isSelf reports whether the base URL u (http://ip:port) names this
// node: the port is ours and the IP is the one we listen on, or one of
// this machine's when we listen on all of them.
func (fp *fastPath) isSelf(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	lip, lport, err := net.SplitHostPort(fp.httpAddr)
	if err != nil || pu.Port() != lport {
		return false
	}
	ip := net.ParseIP(pu.Hostname())
	if ip == nil {
		return false
	}
	if l := net.ParseIP(lip); l != nil && !l.IsUnspecified() {
		return l.Equal(ip)
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// scan starts a lease keeper for each new device directory and stops
// the keepers of devices that are gone.
func (fp *fastPath) scan(ctx context.Context, wg *sync.WaitGroup) {
	ids, err := fp.root.devices()
	if err != nil {
		fp.log.Warn("fast path: cannot list devices", "err", err)
		return
	}
	fp.mu.Lock()
	defer fp.mu.Unlock()
	present := map[int]bool{}
	for _, id := range ids {
		present[id] = true
		if fp.keepers[id] != nil {
			continue
		}
		kctx, cancel := context.WithCancel(ctx)
		k := newLeaseKeeper(fp, id, cancel)
		fp.keepers[id] = k
		wg.Add(1)
		go func() {
			defer wg.Done()
			k.run(kctx)
		}()
	}
	for id, k := range fp.keepers {
		if !present[id] {
			k.stop()
			delete(fp.keepers, id)
		}
	}
}

// keeper returns the lease keeper of device devid, or nil.
func (fp *fastPath) keeper(devid int) *leaseKeeper {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.keepers[devid]
}

// readyDevices lists the devices holding usable leased fids, sorted,
// and the peer devices of those fids.
func (fp *fastPath) readyDevices(now time.Time) (ids, peers []int) {
	if !fp.info.Load().enabled {
		return nil, nil
	}
	fp.mu.Lock()
	ks := make([]*leaseKeeper, 0, len(fp.keepers))
	for _, k := range fp.keepers {
		ks = append(ks, k)
	}
	fp.mu.Unlock()
	for _, k := range ks {
		if n, p := k.usable(now); n > 0 {
			ids = append(ids, k.devid)
			peers = append(peers, p...)
		}
	}
	slices.Sort(ids)
	slices.Sort(peers)
	return ids, slices.Compact(peers)
}

// take picks the device with leased fids and the most free space and
// takes the next fid of it, of a lease with peers when withPeers.
func (fp *fastPath) take(now time.Time, withPeers bool) (devid int, fid int64, peers []leasePeer, ok bool) {
	if !fp.info.Load().enabled {
		return 0, 0, nil, false
	}
	fp.mu.Lock()
	ks := make([]*leaseKeeper, 0, len(fp.keepers))
	for _, k := range fp.keepers {
		ks = append(ks, k)
	}
	fp.mu.Unlock()
	slices.SortFunc(ks, func(a, b *leaseKeeper) int {
		fa, fb := a.free.Load(), b.free.Load()
		switch {
		case fa > fb:
			return -1
		case fa < fb:
			return 1
		}
		return a.devid - b.devid
	})
	for _, k := range ks {
		if fid, peers, ok := k.take(now, withPeers); ok {
			return k.devid, fid, peers, true
		}
	}
	return 0, 0, nil, false
}

// fpLeaseWait bounds how long an upload that found no leased fid waits
// for the lease its keeper is asking for. Answering 503 at once would send
// the client the three-step way for every upload that arrives while a
// refill is on its way (a lease takes milliseconds, more on a loaded
// database), although the fids are about to be there.
const fpLeaseWait = time.Second

// leaseSignal returns a channel closed when the next lease is added.
func (fp *fastPath) leaseSignal() <-chan struct{} {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.leased
}

// noteLeased wakes the uploads waiting for a lease.
func (fp *fastPath) noteLeased() {
	fp.mu.Lock()
	close(fp.leased)
	fp.leased = make(chan struct{})
	fp.mu.Unlock()
}

// takeWait is take, waiting up to fpLeaseWait for a lease when none is
// usable but a keeper is leasing (not backing off after a failure).
func (fp *fastPath) takeWait(withPeers bool) (devid int, fid int64, peers []leasePeer, ok bool) {
	var timer *time.Timer
	for {
		signal := fp.leaseSignal()
		if devid, fid, peers, ok = fp.take(time.Now(), withPeers); ok || !fp.leasing() {
			break
		}
		if timer == nil {
			timer = time.NewTimer(fpLeaseWait)
			defer timer.Stop()
		}
		select {
		case <-signal:
		case <-timer.C:
			return fp.take(time.Now(), withPeers)
		}
	}
	return devid, fid, peers, ok
}

// leasing reports whether some keeper may soon hold fids: its last
// lease did not fail.
func (fp *fastPath) leasing() bool {
	if !fp.info.Load().enabled {
		return false
	}
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for _, k := range fp.keepers {
		if !k.failing.Load() {
			return true
		}
	}
	return false
}

// errNotSent marks a tracker command that reached no tracker.
func notSent(err error) bool { return errors.Is(err, mogclient.ErrNoTracker) }
