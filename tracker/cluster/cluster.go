package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Source is the part of the store the cluster reads.
type Source interface {
	Domains(ctx context.Context) ([]store.Domain, error)
	Classes(ctx context.Context) ([]store.Class, error)
	Hosts(ctx context.Context) ([]store.Host, error)
	Devices(ctx context.Context) ([]store.Device, error)
	Settings(ctx context.Context) (map[string]string, error)
}

// Options configure a Cluster.
type Options struct {
	Source Source
	// MinFreeMB is the tracker's min_free_space (MB a device must keep
	// free to get new files).
	MinFreeMB int64
	// DefaultMinDevCount is the mindevcount of an implicit default class.
	DefaultMinDevCount int
	// FakeUtilization replaces the observed utilization of the listed
	// devices (the original's T_FAKE_IO_DEV<n> under TESTING).
	FakeUtilization map[int]string
	Logger          *slog.Logger
}

// Cluster holds the current Snapshot and the monitor's observations.
type Cluster struct {
	opts Options
	log  *slog.Logger
	snap atomic.Pointer[Snapshot]

	reloadMu sync.Mutex // serializes Reload

	mu       sync.Mutex
	db       *dbData
	obsHosts map[int]string
	obsDevs  map[int]Observed

	roundMu  sync.Mutex
	started  uint64        // rounds begun
	finished uint64        // rounds completed
	roundCh  chan struct{} // closed when a round completes, then replaced
	kick     chan struct{}
	paused   bool          // "!want 0 monitor": no round will come
	resumed  chan struct{} // closed when the monitor resumes
}

// New returns a Cluster with an empty snapshot; call Reload to fill it.
func New(opts Options) *Cluster {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultMinDevCount == 0 {
		opts.DefaultMinDevCount = 2
	}
	c := &Cluster{
		opts:     opts,
		log:      opts.Logger,
		db:       &dbData{settings: map[string]string{}},
		obsHosts: map[int]string{},
		obsDevs:  map[int]Observed{},
		roundCh:  make(chan struct{}),
		kick:     make(chan struct{}, 1),
	}
	c.rebuildLocked()
	return c
}

// Snapshot returns the current view.
func (c *Cluster) Snapshot() *Snapshot { return c.snap.Load() }

func (c *Cluster) rebuildLocked() {
	c.snap.Store(build(c.db, buildParams{
		minFreeMB:          c.opts.MinFreeMB,
		defaultMinDevCount: c.opts.DefaultMinDevCount,
		fakeUtil:           c.opts.FakeUtilization,
		obsHosts:           c.obsHosts,
		obsDevs:            c.obsDevs,
	}))
}

// Reload reads domains, classes, hosts, devices and settings from the
// database and publishes a new snapshot.
func (c *Cluster) Reload(ctx context.Context) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	src := c.opts.Source
	d := &dbData{loaded: time.Now()}
	var err error
	if d.domains, err = src.Domains(ctx); err != nil {
		return fmt.Errorf("cluster: load domains: %w", err)
	}
	if d.classes, err = src.Classes(ctx); err != nil {
		return fmt.Errorf("cluster: load classes: %w", err)
	}
	if d.hosts, err = src.Hosts(ctx); err != nil {
		return fmt.Errorf("cluster: load hosts: %w", err)
	}
	if d.devices, err = src.Devices(ctx); err != nil {
		return fmt.Errorf("cluster: load devices: %w", err)
	}
	if d.settings, err = src.Settings(ctx); err != nil {
		return fmt.Errorf("cluster: load settings: %w", err)
	}
	c.mu.Lock()
	c.db = d
	c.rebuildLocked()
	c.mu.Unlock()
	return nil
}

// Observation is a batch of monitor results applied by Observe.
type Observation struct {
	Hosts   map[int]string   // hostid -> Reachable/Unreachable
	Devices map[int]Observed // devid -> full observed state
}

// Observe merges the monitor's results and publishes a new snapshot.
// Devices listed replace their previous observed state entirely.
func (c *Cluster) Observe(o Observation) {
	if len(o.Hosts) == 0 && len(o.Devices) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	hosts := maps.Clone(c.obsHosts)
	maps.Copy(hosts, o.Hosts)
	devs := maps.Clone(c.obsDevs)
	maps.Copy(devs, o.Devices)
	c.obsHosts, c.obsDevs = hosts, devs
	c.rebuildLocked()
}

// Observed returns the monitor's last observation of devid and whether
// there is one.
func (c *Cluster) Observed(devid int) (Observed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.obsDevs[devid]
	return o, ok
}

// BeginRound is called by the monitor when a round over the devices
// starts; it returns the round's sequence number for EndRound.
func (c *Cluster) BeginRound() uint64 {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	c.started++
	return c.started
}

// EndRound is called by the monitor when round seq has completed.
func (c *Cluster) EndRound(seq uint64) {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	if seq > c.finished {
		c.finished = seq
	}
	close(c.roundCh)
	c.roundCh = make(chan struct{})
}

// Kicks delivers requests for an immediate monitor round (the monitor
// reads it).
func (c *Cluster) Kicks() <-chan struct{} { return c.kick }

// Kick asks the monitor for a round now, without waiting for it.
func (c *Cluster) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// RoundsCompleted is the number of completed monitor rounds.
func (c *Cluster) RoundsCompleted() uint64 {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	return c.finished
}

// SetMonitorPaused records that the monitor stops (true) or resumes its
// rounds ("!want 0|1 monitor"). While it is paused, waits for a round
// return at once (after the first round ever): the view keeps what the
// last round saw.
func (c *Cluster) SetMonitorPaused(p bool) {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	if p == c.paused {
		return
	}
	c.paused = p
	if p {
		c.resumed = make(chan struct{})
		close(c.roundCh)
		c.roundCh = make(chan struct{})
	} else {
		close(c.resumed)
	}
}

// MonitorPaused reports whether the monitor is paused.
func (c *Cluster) MonitorPaused() bool {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	return c.paused
}

// WaitMonitorResumed blocks while the monitor is paused (the monitor
// calls it before each round).
func (c *Cluster) WaitMonitorResumed(ctx context.Context) error {
	c.roundMu.Lock()
	paused, ch := c.paused, c.resumed
	c.roundMu.Unlock()
	if !paused {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cluster) waitRound(ctx context.Context, want uint64) error {
	for {
		c.roundMu.Lock()
		done, ch := c.finished >= want || (c.paused && c.finished > 0), c.roundCh
		c.roundMu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for monitor round: %w", ctx.Err())
		}
	}
}

// WaitFirstRound blocks until the monitor has completed a round.
func (c *Cluster) WaitFirstRound(ctx context.Context) error { return c.waitRound(ctx, 1) }

// WaitForMonitorRound asks the monitor for a round now and blocks until a
// round that started after the call has completed, so that the snapshot
// then reflects the database and the nodes as they were at the call.
func (c *Cluster) WaitForMonitorRound(ctx context.Context) error {
	c.roundMu.Lock()
	want := c.started + 1
	c.roundMu.Unlock()
	c.Kick()
	return c.waitRound(ctx, want)
}

// Refresh reloads the database part now and then waits for a fresh monitor
// round (the original's clear_cache).
func (c *Cluster) Refresh(ctx context.Context) error {
	if err := c.Reload(ctx); err != nil {
		return err
	}
	return c.WaitForMonitorRound(ctx)
}
