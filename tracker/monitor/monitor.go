// Package monitor is the tracker's monitor: it keeps the cluster view
// (package cluster) fresh and finds out which storage devices work.
//
// Every 4 s it reloads domains, classes, hosts, devices and settings from
// the database. Every 2.5 s (or at once when asked through the cluster's
// kicks; a round never overlaps the previous one) it checks every device
// whose host is alive or readonly and whose status allows reads:
//
//   - GET /dev<N>/usage on the host's get port (timeout conn_timeout). An
//     error within 0.5 s marks the device unreachable; a slower one (a
//     timeout) marks the host unreachable and skips its other devices this
//     round. A good answer marks the host reachable and gives the device's
//     usage (the file's "used" and "total" KiB).
//   - At most every 15 s per device: a device that cannot be deleted from
//     (readonly, or host not alive) is readable; otherwise MKCOL
//     /dev<N>/test-write/, PUT /dev<N>/test-write/test-write-<0..99> with
//     "time=<unix> rand=<n>", GET it back on the get port: equal means
//     writeable (one retry with a new file on a mismatch), anything else
//     readable. A writeable device then gets a PUT of test-write/test-md5
//     with a wrong Content-MD5: refusing it sets reject_bad_md5.
//   - The tracker holding the named lock "mgfs:device_update" writes
//     mb_total, mb_used and mb_asof to the device table, at most every
//     15 s per device.
//
// "!want 0 monitor" pauses the rounds and the reloads (SetPaused) until
// "!want 1 monitor".
//
// It also keeps one "watch" connection to the side channel of every host
// it polls, for the devices' I/O utilization (reconnecting a minute after
// an error).
package monitor

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Store is the part of the metadata store the monitor writes.
type Store interface {
	Devices(ctx context.Context) ([]store.Device, error)
	SetDeviceUsage(ctx context.Context, devid int, mbTotal, mbUsed, asOf int64) error
	Lock(ctx context.Context, name string, timeout int) (bool, error)
	Unlock(ctx context.Context, name string) error
	LockContext(ctx context.Context, name string) (context.Context, context.CancelFunc)
}

// Options configure a Monitor. Zero durations take the original's values.
type Options struct {
	Cluster *cluster.Cluster
	Store   Store
	Nodes   *nodeclient.Client
	// ConnTimeout bounds every request of the monitor (conn_timeout).
	ConnTimeout time.Duration
	// StreamPort is the nodes' side-channel port, for "watch".
	StreamPort int
	// ReloadEvery: database reload period (4 s).
	ReloadEvery time.Duration
	// RoundEvery: device check period (2.5 s).
	RoundEvery time.Duration
	// TestWriteEvery: write test period per device (15 s); also the
	// minimum age of mb_asof before the usage is written again.
	TestWriteEvery time.Duration
	// WatchRetry: delay before reconnecting a failed watch (60 s).
	WatchRetry time.Duration
	Logger     *slog.Logger
}

// Monitor runs the checks.
type Monitor struct {
	o   Options
	log *slog.Logger

	mu        sync.Mutex
	lastWrite map[int]time.Time // devid -> last write test
	util      map[int]string    // devid -> utilization from watch
	watches   map[string]context.CancelFunc

	connTO atomic.Int64 // conn_timeout; SetConnTimeout changes it
}

// New returns a Monitor; call Run.
func New(o Options) *Monitor {
	if o.ConnTimeout <= 0 {
		o.ConnTimeout = 2 * time.Second
	}
	if o.ReloadEvery <= 0 {
		o.ReloadEvery = 4 * time.Second
	}
	if o.RoundEvery <= 0 {
		o.RoundEvery = 2500 * time.Millisecond
	}
	if o.TestWriteEvery <= 0 {
		o.TestWriteEvery = 15 * time.Second
	}
	if o.WatchRetry <= 0 {
		o.WatchRetry = time.Minute
	}
	if o.StreamPort == 0 {
		o.StreamPort = 7501
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{
		o:         o,
		log:       o.Logger,
		lastWrite: map[int]time.Time{},
		util:      map[int]string{},
		watches:   map[string]context.CancelFunc{},
	}
	m.connTO.Store(int64(o.ConnTimeout))
	return m
}

// SetConnTimeout changes the bound of the monitor's requests
// (conn_timeout) from the next request on; d <= 0 is ignored.
func (m *Monitor) SetConnTimeout(d time.Duration) {
	if d > 0 {
		m.connTO.Store(int64(d))
	}
}

func (m *Monitor) connTimeout() time.Duration { return time.Duration(m.connTO.Load()) }

// Run reloads and checks until ctx is done.
func (m *Monitor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.reloadLoop(ctx)
	}()
	m.roundLoop(ctx)
	m.mu.Lock()
	for ip, cancel := range m.watches {
		cancel()
		delete(m.watches, ip)
	}
	m.mu.Unlock()
	wg.Wait()
}

func (m *Monitor) reloadLoop(ctx context.Context) {
	t := time.NewTicker(m.o.ReloadEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.Paused() {
			continue
		}
		if err := m.o.Cluster.Reload(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				m.log.Error("Cannot connect to master database!", "err", err, watchlog.Job("monitor"))
			}
			failing = true
			continue
		}
		if failing {
			m.log.Info("database readable again")
		}
		failing = false
	}
}

// SetPaused stops (true) or resumes (false) the rounds and the database
// reloads: "!want 0|1 monitor". A round in progress finishes.
func (m *Monitor) SetPaused(p bool) { m.o.Cluster.SetMonitorPaused(p) }

// Paused reports whether SetPaused(true) is in force.
func (m *Monitor) Paused() bool { return m.o.Cluster.MonitorPaused() }

func (m *Monitor) roundLoop(ctx context.Context) {
	for {
		if m.o.Cluster.WaitMonitorResumed(ctx) != nil {
			return
		}
		start := time.Now()
		m.Round(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := time.Until(start.Add(m.o.RoundEvery))
		if wait < 0 {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-m.o.Cluster.Kicks():
			t.Stop()
		}
	}
}

// devResult is the outcome of checking one device.
type devResult struct {
	devid    int
	obs      cluster.Observed
	changed  bool
	hostUp   bool // usage answered
	hostDown bool // slow failure: host unreachable
}

// Round checks every readable device once and publishes the results.
func (m *Monitor) Round(ctx context.Context) {
	c := m.o.Cluster
	seq := c.BeginRound()
	defer c.EndRound(seq)
	snap := c.Snapshot()

	// The usage write-back is done by one tracker at a time, under the
	// lock's context: it stops if the lock may pass to another tracker.
	var dbRows map[int]store.Device
	const lock = "mgfs:device_update"
	locked, err := m.o.Store.Lock(ctx, lock, 0)
	if err != nil && ctx.Err() == nil {
		m.log.Warn("cannot take lock "+lock, "err", err)
	}
	lctx := ctx
	if locked {
		var cancel context.CancelFunc
		lctx, cancel = m.o.Store.LockContext(ctx, lock)
		defer func() {
			if lctx.Err() != nil && ctx.Err() == nil {
				m.log.Warn("lock may have passed to another tracker: usage write-back stopped", "lock", lock, "reason", context.Cause(lctx))
			}
			cancel()
			m.o.Store.Unlock(context.WithoutCancel(ctx), lock)
		}()
		rows, err := m.o.Store.Devices(lctx)
		if err != nil {
			m.log.Warn("cannot read devices for usage update", "err", err)
		} else {
			dbRows = make(map[int]store.Device, len(rows))
			for _, r := range rows {
				dbRows[r.ID] = r
			}
		}
	}

	byHost := map[int][]*cluster.Device{}
	var hostOrder []*cluster.Host
	for _, d := range snap.Devices {
		if !d.CanReadFrom() {
			continue
		}
		if _, ok := byHost[d.HostID]; !ok {
			hostOrder = append(hostOrder, d.Host)
		}
		byHost[d.HostID] = append(byHost[d.HostID], d)
	}

	var (
		mu      sync.Mutex
		results []devResult
		hostObs = map[int]string{}
		wg      sync.WaitGroup
	)
	for _, h := range hostOrder {
		wg.Add(1)
		go func(h *cluster.Host, devs []*cluster.Device) {
			defer wg.Done()
			state := ""
			for _, d := range devs {
				if ctx.Err() != nil {
					return
				}
				r := m.checkDevice(ctx, d)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.hostUp {
					state = cluster.Reachable
				}
				if r.hostDown {
					state = cluster.Unreachable
					break
				}
			}
			if state != "" {
				mu.Lock()
				hostObs[h.ID] = state
				mu.Unlock()
			}
		}(h, byHost[h.ID])
	}
	wg.Wait()

	obs := cluster.Observation{Hosts: hostObs, Devices: map[int]cluster.Observed{}}
	for _, r := range results {
		if r.changed {
			obs.Devices[r.devid] = r.obs
		}
	}
	// Utilization from the watch connections, for every device.
	m.mu.Lock()
	for _, d := range snap.Devices {
		u := m.util[d.ID]
		o, ok := obs.Devices[d.ID]
		if !ok {
			o = d.Obs
		}
		if o.Utilization != u {
			o.Utilization = u
			obs.Devices[d.ID] = o
		}
	}
	m.mu.Unlock()
	c.Observe(obs)

	if dbRows != nil {
		m.writeUsage(lctx, results, dbRows)
	}
	m.setWatchHosts(ctx, hostOrder)
}

func (m *Monitor) writeUsage(ctx context.Context, results []devResult, rows map[int]store.Device) {
	now := time.Now().Unix()
	every := int64(m.o.TestWriteEvery / time.Second)
	for _, r := range results {
		if !r.obs.HaveUsage || !r.changed {
			continue
		}
		row, ok := rows[r.devid]
		if !ok {
			continue
		}
		last := int64(0)
		if row.MBAsOf.Valid {
			last = row.MBAsOf.Int64
		}
		if last+every >= now {
			continue
		}
		if err := m.o.Store.SetDeviceUsage(ctx, r.devid, r.obs.MBTotal, r.obs.MBUsed, now); err != nil {
			m.log.Warn("cannot write device usage", "devid", r.devid, "err", err)
		}
	}
}

// checkDevice runs the usage fetch and, when due, the write test.
func (m *Monitor) checkDevice(ctx context.Context, d *cluster.Device) devResult {
	r := devResult{devid: d.ID, obs: d.Obs}
	h := d.Host
	z := cluster.Zone{}
	usageURL := h.BaseURL(z, false) + "/dev" + strconv.Itoa(d.ID) + "/usage"
	start := time.Now()
	code, body, err := m.o.Nodes.Simple(ctx, "GET", usageURL, nil, nil, m.connTimeout(), 64<<10)
	if err == nil && (code < 200 || code > 299) {
		err = fmt.Errorf("status %d", code)
	}
	if err != nil {
		if ctx.Err() != nil {
			return r
		}
		if time.Since(start) < 500*time.Millisecond {
			if r.obs.State != cluster.Unreachable {
				r.obs.State = cluster.Unreachable
				r.changed = true
			}
			m.log.Error(fmt.Sprintf("Port %d not listening on %s (%s)?  Error was: %v", h.GetPort(), h.IP(z), usageURL, err),
				"devid", d.ID, "host", h.Name, watchlog.Job("monitor"))
		} else {
			r.hostDown = true
			// The original tells its watchers nothing here.
			m.log.Info("host unreachable", "host", h.Name, "ip", h.IP(z), "devid", d.ID, "url", usageURL, "err", err)
		}
		return r
	}
	r.hostUp = true
	used, total, ok := parseUsage(body)
	if !ok {
		m.log.Error(fmt.Sprintf("dev%d reports used = %s, total = %s, content-length: %d, error?", d.ID, usageField(body, "used"), usageField(body, "total"), len(body)), "devid", d.ID, watchlog.Job("monitor"))
		return r
	}
	if !r.obs.HaveUsage || r.obs.MBTotal != total/1024 || r.obs.MBUsed != used/1024 {
		r.obs.HaveUsage, r.obs.MBTotal, r.obs.MBUsed = true, total/1024, used/1024
		r.changed = true
	}
	// The usage write-back looks at changed results only; mark usage as
	// worth writing whenever it was read.
	r.changed = true

	now := time.Now()
	m.mu.Lock()
	last := m.lastWrite[d.ID]
	due := now.Sub(last) >= m.o.TestWriteEvery
	if due {
		m.lastWrite[d.ID] = now
	}
	m.mu.Unlock()
	if !due {
		return r
	}
	state := m.writeTest(ctx, d)
	if state == "" {
		return r
	}
	r.obs.State = state
	if state == cluster.Writeable {
		r.obs.RejectBadMD5 = m.badMD5Probe(ctx, d)
	}
	return r
}

// writeTest returns Writeable or Readable ("" if ctx ended).
func (m *Monitor) writeTest(ctx context.Context, d *cluster.Device) string {
	if !d.CanDeleteFrom() {
		return cluster.Readable
	}
	z := cluster.Zone{}
	put := d.Host.BaseURL(z, true)
	get := d.Host.BaseURL(z, false)
	dir := "/dev" + strconv.Itoa(d.ID) + "/test-write/"
	if err := m.o.Nodes.Mkcol(ctx, d.ID, put, dir); err != nil {
		m.log.Debug("test-write MKCOL failed", "devid", d.ID, "err", err)
	}
	for try := 0; try < 2; try++ {
		num := rand.IntN(100)
		path := dir + "test-write-" + strconv.Itoa(num)
		content := "time=" + strconv.FormatInt(time.Now().Unix(), 10) + " rand=" + strconv.Itoa(num)
		code, _, err := m.o.Nodes.Simple(ctx, "PUT", put+path, []byte(content), nil, m.connTimeout(), 4096)
		if ctx.Err() != nil {
			return ""
		}
		if err != nil || code < 200 || code > 299 {
			m.log.Debug("test write failed", "devid", d.ID, "code", code, "err", err)
			return cluster.Readable
		}
		code, body, err := m.o.Nodes.Simple(ctx, "GET", get+path, nil, nil, m.connTimeout(), 4096)
		if ctx.Err() != nil {
			return ""
		}
		if err != nil || code < 200 || code > 299 {
			return cluster.Readable
		}
		if string(body) == content {
			return cluster.Writeable
		}
	}
	return cluster.Readable
}

// badMD5Probe uploads a body with a wrong Content-MD5: 1 if refused.
func (m *Monitor) badMD5Probe(ctx context.Context, d *cluster.Device) int {
	sum := md5.Sum([]byte("!"))
	hdr := http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}}
	url := d.Host.BaseURL(cluster.Zone{}, true) + "/dev" + strconv.Itoa(d.ID) + "/test-write/test-md5"
	code, _, err := m.o.Nodes.Simple(ctx, "PUT", url, []byte("."), hdr, m.connTimeout(), 4096)
	if err == nil && code >= 200 && code <= 299 {
		return 0
	}
	return 1
}

// parseUsage reads "key: value" lines; used and total (KiB) must be
// present and non-zero.
func parseUsage(b []byte) (used, total int64, ok bool) {
	u, t := usageField(b, "used"), usageField(b, "total")
	used, err1 := strconv.ParseInt(u, 10, 64)
	total, err2 := strconv.ParseInt(t, 10, 64)
	if err1 != nil || err2 != nil || used == 0 || total == 0 {
		return 0, 0, false
	}
	return used, total, true
}

func usageField(b []byte, key string) string {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		return strings.TrimSpace(v)
	}
	return "<undef>"
}
