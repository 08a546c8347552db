package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Store is the part of the metadata store the workers use (store.Store
// has it all).
type Store interface {
	Now(ctx context.Context) (int64, error)
	Settings(ctx context.Context) (map[string]string, error)
	SetSetting(ctx context.Context, key, value string) error
	DeleteSetting(ctx context.Context, key string) error
	SetDeviceStatus(ctx context.Context, devid int, status string) error

	Tempfile(ctx context.Context, fid int64) (store.Tempfile, error)
	OldTempfiles(ctx context.Context, before int64, limit int) ([]store.Tempfile, error)
	DiscardTempfile(ctx context.Context, fid int64, devids []int) error
	FileByFID(ctx context.Context, fid int64) (store.File, error)
	FileDevIDs(ctx context.Context, fid int64) ([]int, error)
	FileCopies(ctx context.Context, fid int64) (store.File, []int, *store.Checksum, error)
	ListFiles(ctx context.Context, after int64, limit int) ([]store.File, error)
	MaxFID(ctx context.Context) (int64, error)
	AddFileOn(ctx context.Context, fid int64, devid int, skipDevcount bool) error
	RemoveFileOn(ctx context.Context, fid int64, devid int, skipDevcount bool) error
	UpdateDevcount(ctx context.Context, fid int64) error
	FIDsOnDevice(ctx context.Context, devid int, after int64, limit int) ([]int64, error)
	Checksum(ctx context.Context, fid int64) (store.Checksum, error)
	SetChecksum(ctx context.Context, c store.Checksum) error
	DeleteChecksum(ctx context.Context, fid int64) error

	Enqueue(ctx context.Context, q store.Queue, item store.QueueItem, delay int64) error
	Grab(ctx context.Context, q store.Queue, limit int) ([]store.QueueItem, error)
	Retry(ctx context.Context, q store.Queue, fid int64, delay int64, failCount int) error
	Dequeue(ctx context.Context, q store.Queue, fid int64) error
	QueueLength(ctx context.Context, q store.Queue) (int64, error)

	AddFsckEvent(ctx context.Context, e store.FsckEvent) error
	MaxFsckLogID(ctx context.Context) (int64, error)
	FsckEventCounts(ctx context.Context, afterLogID, upTo int64) (map[string]int64, error)

	Lock(ctx context.Context, name string, timeout int) (bool, error)
	Unlock(ctx context.Context, name string) error
	LockContext(ctx context.Context, name string) (context.Context, context.CancelFunc)
	TakeLease(ctx context.Context, name, holder string, ttl int) (store.Lease, error)
	ReleaseLease(ctx context.Context, name, holder string) error

	DeleteTempfile(ctx context.Context, fid int64) error
	FIDsOnDeviceDesc(ctx context.Context, devid int, before int64, limit int) ([]int64, error)
	EnqueueMany(ctx context.Context, q store.Queue, items []store.QueueItem, delay int64) error
	DrainLegacyDeletes(ctx context.Context, limit int) (int64, error)
	FsckFiles(ctx context.Context, fids []int64) (map[int64]store.FsckFile, error)
	DequeueMany(ctx context.Context, q store.Queue, fids []int64) error
}

// store.Store has everything the workers need.
var _ Store = (store.Store)(nil)

// View is the tracker's cluster view (*cluster.Cluster).
type View interface {
	Snapshot() *cluster.Snapshot
	WaitFirstRound(ctx context.Context) error
}

// Nodes talks to storage nodes (*nodeclient.Client). Size answers -1 and
// an error wrapping nodeclient.ErrMissing for a missing file; so does
// Digest.
type Nodes interface {
	Size(ctx context.Context, url string) (int64, error)
	MkcolAll(ctx context.Context, devid int, base string, dirs []string) error
	Digest(ctx context.Context, ip, uri, url, alg, reason string, size int64) ([]byte, error)
}

// Config is the tracker configuration the workers follow. Zero durations
// take the original's values.
type Config struct {
	// Worker counts: replicate_jobs, delete_jobs, fsck_jobs, reaper_jobs
	// and job_master (0 or 1). Zero means none; Defaults has the
	// original's counts.
	ReplicateJobs int
	DeleteJobs    int
	FsckJobs      int
	ReaperJobs    int
	JobMaster     int
	// Hostname names this tracker in its job-master log lines and lease
	// (the fsck/rebalance injection runs on the job master, whichever
	// tracker the fsck_host and rebal_host settings name).
	Hostname string
	// RebalanceIgnoreMissing: a rebalance source copy already gone (404)
	// counts as deleted (rebalance_ignore_missing).
	RebalanceIgnoreMissing bool
	// ReplUseGetPort: replication reads sources on the get port
	// (repl_use_get_port).
	ReplUseGetPort bool
	// TempfileTooOld is the age after which an unclosed upload is
	// reaped (3600 s; T_TEMPFILE_TOO_OLD in the test suite).
	TempfileTooOld time.Duration
	// CopyTimeout is the I/O inactivity limit of a replication copy (45 s).
	CopyTimeout time.Duration
	// Testing is the original's TESTING=1 test mode: a delayed
	// replication enqueue is due in 1 s at most.
	Testing bool
	// Timings, for tests; zero means the original's value.
	JobMasterIdle    time.Duration // pause of an idle job master (1 s)
	FsckIdle         time.Duration // pause of an idle fsck worker (2 s)
	DeleteMaxSleep   time.Duration // longest pause of an idle delete worker (5 s)
	ReaperScan       time.Duration // how often the reaper looks for dead devices (5 s)
	ReaperStartDelay time.Duration // wait before reaping a newly dead device (16 s)
	ReaperInterval   time.Duration // pause between reaping passes that found fids (5 s)
	ReaperBackoffMin time.Duration // first back-off once a device looks empty (60 s)
	ReaperBackoffMax time.Duration // reaping stops when the back-off passes this (7200 s)
	LegacyDeleteScan time.Duration // how often an idle delete worker looks at the legacy delete queues (300 s)
	// JobMasterLease is the lifetime of the job-master lease (30 s,
	// whole seconds, at least 3 s; see master.go).
	JobMasterLease time.Duration
}

// Defaults are the original's worker counts: one of each.
func Defaults() Config {
	return Config{ReplicateJobs: 1, DeleteJobs: 1, FsckJobs: 1, ReaperJobs: 1, JobMaster: 1}
}

func (c *Config) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.TempfileTooOld, time.Hour)
	def(&c.CopyTimeout, 45*time.Second)
	def(&c.JobMasterIdle, time.Second)
	def(&c.FsckIdle, 2*time.Second)
	def(&c.DeleteMaxSleep, 5*time.Second)
	def(&c.ReaperScan, 5*time.Second)
	def(&c.ReaperStartDelay, 16*time.Second)
	def(&c.ReaperInterval, 5*time.Second)
	def(&c.ReaperBackoffMin, 60*time.Second)
	def(&c.ReaperBackoffMax, 7200*time.Second)
	def(&c.LegacyDeleteScan, 300*time.Second)
	def(&c.JobMasterLease, 30*time.Second)
}

// Deps is what the workers need from the tracker.
type Deps struct {
	Store   Store
	Cluster View
	Nodes   Nodes
	// HTTP carries replication copies and deletes; nil gets a client of
	// its own with keep-alive connections.
	HTTP   *http.Client
	Logger *slog.Logger
	Config Config
	// OnFileChanged, if set, is called with a fid after the workers
	// added or removed one of its file_on rows (the tracker drops the
	// fid from its get_paths cache).
	OnFileChanged func(fid int64)
	// CountStat, if set, adds n to a "!stats" counter: the workers keep
	// work_queue_for_<queue> at the number of leased rows waiting in this
	// tracker and count work_sent_to_<queue> for each row a worker took
	// (queues replicate, delete, fsck, rebalance).
	CountStat func(name string, n int64)
}

// Job names, as "!want" and "!jobs" spell them.
const (
	JobJobMaster = "job_master"
	JobReplicate = "replicate"
	JobDelete    = "delete"
	JobFsck      = "fsck"
	JobReaper    = "reaper"
)

var jobOrder = []string{JobJobMaster, JobReplicate, JobDelete, JobFsck, JobReaper}

// JobCount is one line of "!jobs".
type JobCount struct {
	Name    string
	Count   int // goroutines running (not counting those winding down)
	Desired int
	Started bool // a goroutine of the job ever ran
}

// Workers is the set of running background jobs of one tracker.
type Workers struct {
	d    Deps
	cfg  Config
	log  *slog.Logger
	http *http.Client
	ctx  context.Context
	stop context.CancelFunc

	replQ, delQ, fsckQ, rebalQ *workQueue
	// refill wakes the job master when a local queue runs low.
	refill chan struct{}

	policies policy.Cache
	settings settingsCache

	// role is the job-master role (master.go); holder names this
	// Workers in its lease; countStat is Deps.CountStat or a no-op.
	role      *role
	holder    string
	countStat func(name string, n int64)

	mu     sync.Mutex
	pools  map[string]*pool
	closed bool
	wg     sync.WaitGroup
}

type pool struct {
	name    string
	needsJM bool // runs only while a job_master is wanted
	max     int
	desired int
	run     func(ctx context.Context, wake <-chan struct{})
	live    []*runner
	started bool
}

type runner struct {
	cancel   context.CancelFunc
	wake     chan struct{}
	stopping bool
	told     bool // stopped by "!to <job> :shutdown", not by "!want"
}

// Start starts the jobs and returns at once; workers wait for the
// monitor's first round before they do anything. They run until ctx ends
// or Stop is called.
func Start(ctx context.Context, d Deps) (*Workers, error) {
	if d.Store == nil || d.Cluster == nil || d.Nodes == nil {
		return nil, errors.New("worker: Store, Cluster and Nodes are required")
	}
	cfg := d.Config
	cfg.fill()
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	hc := d.HTTP
	if hc == nil {
		hc = newHTTPClient()
	}
	wctx, cancel := context.WithCancel(ctx)
	count := d.CountStat
	if count == nil {
		count = func(string, int64) {}
	}
	refill := make(chan struct{}, 1)
	w := &Workers{
		d: d, cfg: cfg, log: d.Logger, http: hc, ctx: wctx, stop: cancel, refill: refill,
		role: newRole(), holder: holderID(cfg.Hostname), countStat: count,
		replQ: newWorkQueue("replicate", count, refill), delQ: newWorkQueue("delete", count, refill),
		fsckQ: newWorkQueue("fsck", count, refill), rebalQ: newWorkQueue("rebalance", count, refill),
	}
	w.pools = map[string]*pool{
		JobJobMaster: {name: JobJobMaster, max: 1, desired: clampJobs(cfg.JobMaster, 1), run: w.runJobMaster},
		JobReplicate: {name: JobReplicate, needsJM: true, max: 500, desired: clampJobs(cfg.ReplicateJobs, 500), run: w.runReplicate},
		JobDelete:    {name: JobDelete, needsJM: true, max: 500, desired: clampJobs(cfg.DeleteJobs, 500), run: w.runDelete},
		JobFsck:      {name: JobFsck, needsJM: true, max: 500, desired: clampJobs(cfg.FsckJobs, 500), run: w.runFsck},
		JobReaper:    {name: JobReaper, max: 500, desired: clampJobs(cfg.ReaperJobs, 500), run: w.runReaper},
	}
	w.mu.Lock()
	for _, name := range jobOrder {
		w.reconcileLocked(w.pools[name])
	}
	w.mu.Unlock()
	go func() {
		<-wctx.Done()
		w.Stop()
	}()
	return w, nil
}

func clampJobs(n, limit int) int {
	return min(max(n, 0), limit)
}

func newHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       25 * time.Second,
			ResponseHeaderTimeout: 45 * time.Second,
			DisableCompression:    true,
			// Room for a small copy's headers and body in one write.
			WriteBufferSize: 32 << 10,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Want sets how many goroutines do job (the tracker's "!want N job"):
// job_master at most 1, the others at most 500.
func (w *Workers) Want(job string, n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pools[job]
	if p == nil {
		return fmt.Errorf("worker: unknown job %q", job)
	}
	if n < 0 || n > p.max {
		return fmt.Errorf("worker: job %s takes 0 to %d workers, not %d", job, p.max, n)
	}
	p.desired = n
	if w.closed {
		return nil
	}
	if job == JobJobMaster {
		for _, name := range jobOrder {
			w.reconcileLocked(w.pools[name])
		}
	} else {
		w.reconcileLocked(p)
	}
	w.returnIdleLeasesLocked()
	return nil
}

// returnIdleLeasesLocked gives back the leased rows of every local queue
// no worker will take any more (due now, so another tracker, or this one
// later, takes them at once instead of after the lease).
func (w *Workers) returnIdleLeasesLocked() {
	for job, qs := range map[string][]struct {
		q  store.Queue
		wq *workQueue
	}{
		JobReplicate: {{store.QueueReplicate, w.replQ}, {store.QueueRebalance, w.rebalQ}},
		JobDelete:    {{store.QueueDelete, w.delQ}},
		JobFsck:      {{store.QueueFsck, w.fsckQ}},
	} {
		if w.target(w.pools[job]) > 0 {
			continue
		}
		for _, q := range qs {
			items := q.wq.drain()
			if len(items) == 0 {
				continue
			}
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.returnLeases(q.q, items)
			}()
		}
	}
}

func (w *Workers) returnLeases(q store.Queue, items []store.QueueItem) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 10*time.Second)
	defer cancel()
	for _, it := range items {
		if err := w.d.Store.Retry(ctx, q, it.FID, 0, it.FailCount); err != nil {
			w.log.Warn("worker: could not return leased queue row", "queue", queueName(q), "fid", it.FID, "err", err)
		}
	}
}

// Jobs reports every job's running and desired counts, job_master first.
func (w *Workers) Jobs() []JobCount {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]JobCount, 0, len(jobOrder))
	for _, name := range jobOrder {
		p := w.pools[name]
		n := 0
		for _, r := range p.live {
			if !r.stopping {
				n++
			}
		}
		out = append(out, JobCount{Name: name, Count: n, Desired: p.desired, Started: p.started})
	}
	return out
}

// Tell sends message to every goroutine of job (the tracker's "!to"):
// ":wake_up" ends their pause at once, ":shutdown" stops them (each is
// replaced once it has ended, while the job is still wanted, as the
// original restarts a worker process after it exited). The original's
// other generic commands (":stay_alive", ":monitor_has_run", ...) change
// nothing here; anything else each worker reports, as the original's do,
// with "Unrecognized command from parent: <message>". It returns how many
// got it.
func (w *Workers) Tell(job, message string) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pools[job]
	if p == nil {
		return 0, fmt.Errorf("worker: unknown job %q", job)
	}
	n := 0
	for _, r := range p.live {
		if r.stopping {
			continue
		}
		switch {
		case message == ":wake_up":
			select {
			case r.wake <- struct{}{}:
			default:
			}
		case message == ":shutdown":
			r.stopping, r.told = true, true
			r.cancel()
		case genericCommand(message):
		default:
			w.log.Error("Unrecognized command from parent: "+message, watchlog.Job(job))
		}
		n++
	}
	return n, nil
}

// genericCommand reports whether message is one of the original's
// commands every worker takes from its parent (besides ":wake_up" and
// ":shutdown"), which a goroutine has no use for.
func genericCommand(message string) bool {
	for _, c := range []string{":stay_alive", ":monitor_events", ":monitor_has_run", ":set_config_from_parent ", ":queue_depth ", ":queue_todo "} {
		if strings.HasPrefix(message, c) {
			return true
		}
	}
	return false
}

// Stop stops every job, waits for them, and gives the queue rows leased
// but not yet worked on back to the database (due now) so another tracker
// or the next run takes them at once.
func (w *Workers) Stop() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.wg.Wait()
		return
	}
	w.closed = true
	for _, p := range w.pools {
		for _, r := range p.live {
			r.stopping = true
			r.cancel()
		}
	}
	w.mu.Unlock()
	w.stop()
	w.wg.Wait()
	for q, wq := range map[store.Queue]*workQueue{
		store.QueueReplicate: w.replQ, store.QueueDelete: w.delQ,
		store.QueueFsck: w.fsckQ, store.QueueRebalance: w.rebalQ,
	} {
		w.returnLeases(q, wq.drain())
	}
}

func queueName(q store.Queue) string {
	switch q {
	case store.QueueReplicate:
		return "file_to_replicate"
	case store.QueueDelete:
		return "file_to_delete2"
	case store.QueueFsck:
		return "fsck"
	case store.QueueRebalance:
		return "rebalance"
	}
	return "unknown"
}

func (w *Workers) target(p *pool) int {
	if p.needsJM && w.pools[JobJobMaster].desired == 0 {
		return 0
	}
	return p.desired
}

// reconcileLocked starts or stops goroutines of p to reach its target,
// with the original's "!watch" line before it starts some.
func (w *Workers) reconcileLocked(p *pool) {
	active := 0
	for _, r := range p.live {
		if !r.stopping {
			active++
		}
	}
	want := w.target(p)
	if active < want {
		w.log.Info(watchlog.Starting(p.name, active, want), watchlog.Tracker())
	}
	for ; active < want; active++ {
		w.startLocked(p)
	}
	for i := len(p.live) - 1; i >= 0 && active > want; i-- {
		if r := p.live[i]; !r.stopping {
			r.stopping = true
			r.cancel()
			active--
		}
	}
}

func (w *Workers) startLocked(p *pool) {
	ctx, cancel := context.WithCancel(w.ctx)
	r := &runner{cancel: cancel, wake: make(chan struct{}, 1)}
	p.live = append(p.live, r)
	p.started = true
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		crashed := w.runGuarded(ctx, p, r)
		cancel()
		w.mu.Lock()
		p.live = slices.DeleteFunc(p.live, func(x *runner) bool { return x == r })
		w.mu.Unlock()
		// The original notices that a worker process ended at its
		// once-a-second check, then reports it and starts a replacement;
		// so do we, a second later (which also keeps a worker that keeps
		// crashing from spinning).
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-w.ctx.Done():
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.closed {
			return
		}
		// The original's line when it reaps a worker process: exit status
		// 0, or a die's 65280; "expected" when "!want" asked it to go.
		status := 0
		if crashed {
			status = 65280
		}
		expected := r.stopping && !r.told && !crashed
		w.log.Info(watchlog.Died(os.Getpid(), p.name, status, expected), watchlog.Tracker())
		w.reconcileLocked(p)
	}()
}

// runGuarded runs one worker and turns a panic into a log line; it
// reports whether the worker crashed.
func (w *Workers) runGuarded(ctx context.Context, p *pool, r *runner) (crashed bool) {
	defer func() {
		if v := recover(); v != nil {
			w.log.Error("worker crashed", "job", p.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			crashed = true
		}
	}()
	if err := w.d.Cluster.WaitFirstRound(ctx); err != nil {
		return false
	}
	p.run(ctx, r.wake)
	return false
}

// sleep pauses for d, or until ctx ends or a wake-up; it reports whether
// ctx is still live.
func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	return sleepRefill(ctx, wake, nil, d)
}

// workQueue is a job's local queue of leased rows (the original's
// pending work of the job master). It reports its depth and what it
// handed out to the "!stats" counters.
type workQueue struct {
	mu     sync.Mutex
	items  []store.QueueItem
	signal chan struct{}
	// refill is signalled when a pop takes the queue below lowMark (the
	// depth at which the job master fetches more), so that busy workers
	// never wait out the master's idle pause with nothing to do.
	refill  chan struct{}
	lowMark int

	count          func(name string, n int64)
	queued, handed string // counter names
}

func newWorkQueue(name string, count func(string, int64), refill chan struct{}) *workQueue {
	return &workQueue{signal: make(chan struct{}, 1), refill: refill, count: count,
		queued: "work_queue_for_" + name, handed: "work_sent_to_" + name}
}

// setLowMark sets the depth below which a pop wakes the job master.
func (q *workQueue) setLowMark(n int) {
	q.mu.Lock()
	q.lowMark = n
	q.mu.Unlock()
}

func (q *workQueue) push(items []store.QueueItem) {
	if len(items) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, items...)
	// Counted under the lock, so !stats never sees a pop before its push.
	q.count(q.queued, int64(len(items)))
	q.mu.Unlock()
	q.notify()
}

func (q *workQueue) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *workQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *workQueue) pop() (store.QueueItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return store.QueueItem{}, false
	}
	it := q.items[0]
	q.items[0] = store.QueueItem{}
	q.items = q.items[1:]
	if len(q.items) > 0 {
		q.notify()
	}
	if len(q.items) == q.lowMark-1 || len(q.items) == 0 {
		select {
		case q.refill <- struct{}{}:
		default:
		}
	}
	q.count(q.queued, -1)
	q.count(q.handed, 1)
	return it, true
}

func (q *workQueue) drain() []store.QueueItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	if len(out) > 0 {
		q.count(q.queued, -int64(len(out)))
	}
	return out
}

// fileChanged tells the tracker that fid's file_on rows changed.
func (w *Workers) fileChanged(fid int64) {
	if w.d.OnFileChanged != nil {
		w.d.OnFileChanged(fid)
	}
}

// enqueueReplication queues fid for replication in delay seconds (now
// when delay <= 0); in Testing mode a delayed one is due in 1 s, as the
// original's FID enqueue_for_replication does under TESTING.
func (w *Workers) enqueueReplication(ctx context.Context, fid int64, delay int64) error {
	if w.cfg.Testing && delay > 1 {
		delay = 1
	}
	return w.d.Store.Enqueue(ctx, store.QueueReplicate, store.QueueItem{FID: fid}, delay)
}

// withLock runs fn holding the named database lock (waiting up to timeout
// seconds), under the lock's context (holdLock); got is false when the
// lock was not obtained.
func (w *Workers) withLock(ctx context.Context, name string, timeout int, fn func(ctx context.Context) error) (got bool, err error) {
	lctx, release, ok, err := w.holdLock(ctx, name, timeout)
	if err != nil || !ok {
		return false, err
	}
	defer release()
	return true, fn(lctx)
}

// holdLock takes the named database lock, waiting up to timeout seconds.
// When it got it, lctx is the context for the work under the lock: it ends
// with ctx, or when the lock may pass to another tracker (on Galera, a
// lease not renewed in time: Store.LockContext), and the work stops.
// release ends lctx and unlocks; it logs, with the lock's name, when the
// lock was lost first.
func (w *Workers) holdLock(ctx context.Context, name string, timeout int) (lctx context.Context, release func(), got bool, err error) {
	ok, err := w.d.Store.Lock(ctx, name, timeout)
	if err != nil {
		return ctx, func() {}, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		return ctx, func() {}, false, nil
	}
	lctx, cancel := w.d.Store.LockContext(ctx, name)
	return lctx, func() {
		if lctx.Err() != nil && ctx.Err() == nil {
			w.log.Warn("worker: lock may have passed to another tracker: the work under it stopped",
				"lock", name, "reason", context.Cause(lctx))
		}
		cancel()
		w.unlock(name)
	}, true, nil
}

// unlock releases a named lock even when the worker's context has ended.
func (w *Workers) unlock(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.d.Store.Unlock(ctx, name); err != nil {
		w.log.Warn("worker: unlock failed", "lock", name, "err", err)
	}
}

func fidLock(fid int64) string { return fmt.Sprintf("mgfs:fid:%d:replicate", fid) }
