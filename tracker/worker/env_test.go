package worker_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/monitor"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
	"github.com/mogilefs-go/mogilefs/tracker/worker"
)

// node is one storage node: a real mogstored process on its own loopback
// address.
type node struct {
	ip     string
	root   string
	hostid int
	devids []int
	proc   *mogtest.Proc
	args   []string
}

// env is a tracker's worth of parts, all real: a SQL store (SQLite file or
// MariaDB), mogstored processes, the cluster view kept fresh by the real
// monitor, and the workers under test.
type env struct {
	t        testing.TB
	ctx      context.Context
	cfg      sqlstore.Config
	st       *sqlstore.Store
	cl       *cluster.Cluster
	nodes    *nodeclient.Client
	w        *worker.Workers
	hosts    []*node
	dmid     int
	class    map[string]int
	httpPort int
	stream   int
	hc       *http.Client
	log      *slog.Logger
	logs     *logWriter
	// runTimeout bounds a whole fsck run.
	runTimeout time.Duration
	// mysql is the MariaDB database, when the env uses one.
	mysql *mogtest.MySQL
	// hooks records what the workers report to the tracker.
	hooks *hookLog
}

// hookLog records the workers' OnFileChanged and CountStat calls.
type hookLog struct {
	mu      sync.Mutex
	changed map[int64]int
	stats   map[string]int64
}

func (h *hookLog) fileChanged(fid int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changed[fid]++
}

func (h *hookLog) countStat(name string, n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats[name] += n
}

// changes returns how often fid was reported changed.
func (h *hookLog) changes(fid int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed[fid]
}

// stat returns a counter and whether it was ever reported.
func (h *hookLog) stat(name string) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, ok := h.stats[name]
	return n, ok
}

type envOpts struct {
	mysql     bool
	hosts     [][]int // device ids per host
	cfg       *worker.Config
	noWorkers bool
	// lateDevs have their directories made but no device row yet.
	lateDevs []int
}

// logWriter sends log lines to the test log while the test runs (and
// drops them after, when goroutines may still be winding down).
// It also keeps the lines, for tests that wait for an event only the log
// shows.
type logWriter struct {
	mu      sync.Mutex
	t       testing.TB
	done    bool
	verbose bool
	lines   []string
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := strings.TrimRight(string(p), "\n")
	if len(l.lines) < 100000 {
		l.lines = append(l.lines, line)
	}
	if !l.done && (l.verbose || strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN")) {
		l.t.Log(line)
	}
	return len(p), nil
}

func (l *logWriter) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func testLogger(t testing.TB) (*slog.Logger, *logWriter) {
	lw := &logWriter{t: t, verbose: os.Getenv("MOGTEST_VERBOSE") != ""}
	t.Cleanup(func() {
		lw.mu.Lock()
		lw.done = true
		lw.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})), lw
}

var ipMu sync.Mutex
var nextIP = 1

// loopbackIP hands out distinct 127.0.x.y addresses so that every test's
// nodes can share one side-channel port, as the original requires.
func loopbackIP() string {
	ipMu.Lock()
	defer ipMu.Unlock()
	n := nextIP
	nextIP++
	return fmt.Sprintf("127.0.%d.%d", 10+n/200, 1+n%200)
}

// fastConfig is the workers' configuration for tests: the original's
// counts, short pauses.
func fastConfig() worker.Config {
	c := worker.Defaults()
	c.Hostname = "tracker-a"
	c.JobMasterIdle = 100 * time.Millisecond
	c.FsckIdle = 100 * time.Millisecond
	c.DeleteMaxSleep = 200 * time.Millisecond
	c.ReaperScan = 100 * time.Millisecond
	c.ReaperStartDelay = 200 * time.Millisecond
	c.ReaperInterval = 100 * time.Millisecond
	c.ReaperBackoffMin = 300 * time.Millisecond
	c.ReaperBackoffMax = 2 * time.Second
	c.TempfileTooOld = time.Hour
	c.CopyTimeout = 20 * time.Second
	return c
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	limit := 4 * time.Minute
	if _, ok := t.(*testing.B); ok {
		limit = 40 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, class: map[string]int{}, hc: &http.Client{Timeout: 30 * time.Second},
		hooks: &hookLog{changed: map[int64]int{}, stats: map[string]int64{}}}
	e.log, e.logs = testLogger(t)
	e.runTimeout = time.Minute
	if _, ok := t.(*testing.B); ok {
		e.runTimeout = 30 * time.Minute
	}
	if o.mysql {
		m := mogtest.NewMySQL(t)
		e.mysql = &m
		e.cfg = sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
	} else {
		e.cfg = sqlstore.Config{DSN: mogtest.SQLiteDSN(t)}
	}
	if err := sqlstore.Setup(ctx, e.cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatalf("store setup: %v", err)
	}
	e.st = e.openStore("tracker-a")

	e.httpPort = mogtest.FreePort(t, "127.0.0.1")
	e.stream = mogtest.FreePort(t, "127.0.0.1")
	bin := mogtest.Binary(t, "mogstored")
	for i, devids := range o.hosts {
		n := &node{ip: loopbackIP(), root: t.TempDir(), devids: devids}
		for _, d := range devids {
			if err := os.Mkdir(filepath.Join(n.root, "dev"+strconv.Itoa(d)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		n.args = []string{"--skipconfig", "--noiostat",
			"--httplisten=" + n.ip + ":" + strconv.Itoa(e.httpPort),
			"--mgmtlisten=" + n.ip + ":" + strconv.Itoa(e.stream),
			"--docroot=" + n.root}
		e.startNode(n, bin)
		h, err := e.st.CreateHost(ctx, store.Host{Name: fmt.Sprintf("host%d", i+1), IP: n.ip, HTTPPort: e.httpPort, Status: "alive"})
		if err != nil {
			t.Fatal(err)
		}
		n.hostid = h.ID
		for _, d := range devids {
			if slices.Contains(o.lateDevs, d) {
				continue
			}
			if err := e.st.CreateDevice(ctx, store.Device{ID: d, HostID: h.ID, Status: "alive"}); err != nil {
				t.Fatal(err)
			}
		}
		e.hosts = append(e.hosts, n)
	}
	dom, err := e.st.CreateDomain(ctx, "testdom")
	if err != nil {
		t.Fatal(err)
	}
	e.dmid = dom.ID
	for _, c := range []store.Class{
		{Name: "2copies", MinDevCount: 2},
		{Name: "1copy", MinDevCount: 1},
		{Name: "md5", MinDevCount: 2, HashType: store.HashMD5},
		{Name: "3devs", MinDevCount: 3, ReplPolicy: "MultipleDevices()"},
	} {
		c.DomainID = dom.ID
		got, err := e.st.CreateClass(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		e.class[c.Name] = got.ID
	}

	e.cl = cluster.New(cluster.Options{Source: e.st, MinFreeMB: 1, DefaultMinDevCount: 2, Logger: e.log})
	e.nodes = nodeclient.New(nodeclient.Options{StreamPort: e.stream, NodeTimeout: 5 * time.Second, Logger: e.log})
	t.Cleanup(e.nodes.Close)
	e.startMonitor(e.cl, e.st)
	e.waitWriteable(e.cl)
	if !o.noWorkers {
		cfg := fastConfig()
		if o.cfg != nil {
			cfg = *o.cfg
		}
		e.w = e.startWorkers(e.st, e.cl, cfg)
	}
	return e
}

func (e *env) openStore(hostname string) *sqlstore.Store {
	cfg := e.cfg
	cfg.Hostname = hostname
	cfg.Logger = e.log
	st, err := sqlstore.Open(e.ctx, cfg)
	if err != nil {
		e.t.Fatalf("store open: %v", err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) startNode(n *node, bin string) {
	n.proc = mogtest.Start(e.t, bin, n.args...)
	n.proc.WaitPort(e.t, n.ip+":"+strconv.Itoa(e.httpPort), 10*time.Second)
	n.proc.WaitPort(e.t, n.ip+":"+strconv.Itoa(e.stream), 10*time.Second)
}

// startMonitor runs a real monitor for cl until the test ends.
func (e *env) startMonitor(cl *cluster.Cluster, st *sqlstore.Store) {
	if err := cl.Reload(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	mon := monitor.New(monitor.Options{
		Cluster: cl, Store: st, Nodes: e.nodes, StreamPort: e.stream,
		ConnTimeout: 2 * time.Second, ReloadEvery: 250 * time.Millisecond,
		RoundEvery: 200 * time.Millisecond, TestWriteEvery: 300 * time.Millisecond,
		Logger: e.log,
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitWriteable waits until cl sees every alive device writeable.
func (e *env) waitWriteable(cl *cluster.Cluster) {
	e.waitFor("every device writeable", 30*time.Second, func() (bool, string) {
		snap := cl.Snapshot()
		var bad []int
		for _, d := range snap.Devices {
			if d.Status == "alive" && !d.ShouldGetNewFiles() {
				bad = append(bad, d.ID)
			}
		}
		return len(snap.Devices) > 0 && len(bad) == 0, fmt.Sprintf("not writeable: %v", bad)
	})
}

func (e *env) startWorkers(st *sqlstore.Store, cl *cluster.Cluster, cfg worker.Config) *worker.Workers {
	w, err := worker.Start(e.ctx, worker.Deps{Store: st, Cluster: cl, Nodes: e.nodes, Logger: e.log, Config: cfg,
		OnFileChanged: e.hooks.fileChanged, CountStat: e.hooks.countStat})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Stop)
	return w
}

// waitFor polls cond until it holds, failing the test at the deadline
// with cond's last explanation.
func (e *env) waitFor(what string, timeout time.Duration, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, why)
		}
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("context ended waiting for %s: %s", what, why)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (e *env) hostOf(devid int) *node {
	for _, n := range e.hosts {
		if slices.Contains(n.devids, devid) {
			return n
		}
	}
	e.t.Fatalf("no host has dev%d", devid)
	return nil
}

func (e *env) url(devid int, fid int64) string {
	return fmt.Sprintf("http://%s:%d%s", e.hostOf(devid).ip, e.httpPort, nodeproto.FIDPath(devid, fid))
}

// diskPath is where fid's copy on devid lives on disk.
func (e *env) diskPath(devid int, fid int64) string {
	return filepath.Join(e.hostOf(devid).root, filepath.FromSlash(nodeproto.FIDPath(devid, fid)))
}

func (e *env) httpPut(url string, data []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, "PUT", url, bytes.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("PUT %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

// upload stores data as key of class on devid the way create_open, the
// client's PUT and create_close do, and returns the fid. With withSum the
// MD5 is stored too (create_close with checksum=MD5:...).
func (e *env) upload(key, class string, data []byte, devid int, withSum bool) int64 {
	e.t.Helper()
	classid, ok := e.class[class]
	if !ok {
		e.t.Fatalf("no class %q", class)
	}
	fid, err := e.st.RegisterTempfile(e.ctx, store.Tempfile{DomainID: e.dmid, Key: key, ClassID: classid, DevIDs: []int{devid}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.httpPut(e.url(devid, fid), data)
	cf := store.CloseFile{FID: fid, DevID: devid, DomainID: e.dmid, Key: key, ClassID: classid, Length: int64(len(data))}
	if withSum {
		sum := md5.Sum(data)
		cf.Checksum = &store.Checksum{FID: fid, HashType: store.HashMD5, Sum: sum[:]}
	}
	if _, err := e.st.CommitFile(e.ctx, cf); err != nil {
		e.t.Fatal(err)
	}
	return fid
}

func (e *env) devids(fid int64) []int {
	e.t.Helper()
	ids, err := e.st.FileDevIDs(e.ctx, fid)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func (e *env) queueLen(q store.Queue) int64 {
	e.t.Helper()
	n, err := e.st.QueueLength(e.ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// hostsOf returns the distinct hosts of devids.
func (e *env) hostsOf(devids []int) int {
	seen := map[string]bool{}
	for _, d := range devids {
		seen[e.hostOf(d).ip] = true
	}
	return len(seen)
}

// waitCopies waits until every fid has want copies on want distinct hosts
// (MultipleHosts) whose contents on disk are data[fid], with devcount
// matching.
func (e *env) waitCopies(fids []int64, data map[int64][]byte, want int, timeout time.Duration) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("%d files at %d copies", len(fids), want), timeout, func() (bool, string) {
		for _, fid := range fids {
			ids := e.devids(fid)
			if len(ids) != want || e.hostsOf(ids) != want {
				return false, fmt.Sprintf("fid %d on devices %v", fid, ids)
			}
			for _, d := range ids {
				got, err := os.ReadFile(e.diskPath(d, fid))
				if err != nil || !bytes.Equal(got, data[fid]) {
					return false, fmt.Sprintf("fid %d on dev%d: %v (%d bytes)", fid, d, err, len(got))
				}
			}
			f, err := e.st.FileByFID(e.ctx, fid)
			if err != nil || f.DevCount != want {
				return false, fmt.Sprintf("fid %d devcount %d (%v)", fid, f.DevCount, err)
			}
		}
		return true, ""
	})
}

// fidFilesOn lists the .fid files under a device directory.
func (e *env) fidFilesOn(devid int) []string {
	var out []string
	root := filepath.Join(e.hostOf(devid).root, "dev"+strconv.Itoa(devid))
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".fid") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// setStatus changes a device's status and waits until the cluster view
// has it.
func (e *env) setStatus(cl *cluster.Cluster, devid int, status string) {
	e.t.Helper()
	if err := e.st.SetDeviceStatus(e.ctx, devid, status); err != nil {
		e.t.Fatal(err)
	}
	if err := cl.Refresh(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) setting(key string) string {
	s, err := e.st.Settings(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return s[key]
}
