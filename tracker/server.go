package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/fidcache"
	"github.com/mogilefs-go/mogilefs/tracker/monitor"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// fidCacheTTL is how long a noverify get_paths answer may be served from
// memory. Changes made through this tracker or by its workers invalidate
// entries at once; changes by other trackers show up after at most this long.
const fidCacheTTL = 3 * time.Second

// Server is a running tracker.
type Server struct {
	cfg      Config
	st       store.Store
	log      *slog.Logger
	cl       *cluster.Cluster
	mon      *monitor.Monitor
	nodes    *nodeclient.Client
	cache    *fidcache.Cache
	temps    *openTemps   // tempfile rows of uploads opened here (opentemps.go)
	policies policy.Cache // the classes' replpolicy strings, parsed

	start    time.Time
	minFID   int64
	handlers map[string]handler

	slots    *slots
	stats    counters
	recent   recentLog
	watchers *watchers
	jobs     *jobRegistry
	metrics  *trackerMetrics // nil unless RegisterMetrics was called
	reload   reloadState     // what SIGHUP left in force

	connMu   sync.Mutex
	conns    map[*conn]struct{}
	connWG   sync.WaitGroup
	closing  atomic.Bool
	stopping chan struct{} // closed at shutdown: ends sleep commands
	climit   connLimiter   // client connections served at once (connlimit.go)

	listenMu  sync.Mutex
	listeners []net.Listener
	stop      context.CancelFunc // set by Run: !shutdown
}

// New prepares a tracker on store st. It does not touch the network or the
// database; Run does.
func New(cfg Config, st store.Store) (*Server, error) {
	if st == nil {
		return nil, errors.New("tracker: no store")
	}
	if cfg.QueryJobs <= 0 {
		cfg.QueryJobs = 20
	}
	if cfg.DefaultMinDevCount <= 0 {
		cfg.DefaultMinDevCount = 2
	}
	if cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("tracker: hostname: %w", err)
		}
		cfg.Hostname = h
	}
	base := cfg.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	w := newWatchers()
	log := slog.New(teeHandler{inner: base.Handler(), w: w, pid: os.Getpid()})
	s := &Server{
		cfg:      cfg,
		st:       st,
		log:      log,
		start:    time.Now(),
		cache:    fidcache.New(fidCacheTTL, 200000),
		temps:    newOpenTemps(100000),
		slots:    newSlots(cfg.QueryJobs),
		watchers: w,
		conns:    map[*conn]struct{}{},
		stopping: make(chan struct{}),
	}
	s.nodes = nodeclient.New(nodeclient.Options{
		ConnTimeout: cfg.ConnTimeout,
		NodeTimeout: cfg.NodeTimeout,
		StreamPort:  cfg.MogstoredStreamPort,
		PoolSize:    cfg.ConnPoolSize,
		Logger:      log,
	})
	s.cl = cluster.New(cluster.Options{
		Source:             st,
		MinFreeMB:          cfg.MinFreeSpaceMB,
		DefaultMinDevCount: cfg.DefaultMinDevCount,
		FakeUtilization:    cfg.FakeUtilization,
		Logger:             log,
	})
	s.mon = monitor.New(monitor.Options{
		Cluster:     s.cl,
		Store:       st,
		Nodes:       s.nodes,
		ConnTimeout: cfg.ConnTimeout,
		StreamPort:  cfg.MogstoredStreamPort,
		Logger:      log,
	})
	s.jobs = newJobRegistry(s)
	s.handlers = s.commandTable()
	s.guardAdmin(s.handlers)
	return s, nil
}

// Cluster returns the tracker's cluster view (for background workers).
func (s *Server) Cluster() *cluster.Cluster { return s.cl }

// Nodes returns the tracker's storage node client.
func (s *Server) Nodes() *nodeclient.Client { return s.nodes }

// FIDCache returns the get_paths cache; workers that add or remove
// file_on rows invalidate the fid there.
func (s *Server) FIDCache() *fidcache.Cache { return s.cache }

// Logger returns the tracker's logger (whose errors reach !watch).
func (s *Server) Logger() *slog.Logger { return s.log }

// Addrs returns the addresses the tracker listens on (after Run bound
// them).
func (s *Server) Addrs() []net.Addr {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	var out []net.Addr
	for _, l := range s.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// checkSchema refuses a database whose schema_version is not 17.
func (s *Server) checkSchema(ctx context.Context) error {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return fmt.Errorf("tracker: unable to establish connection with the MogileFS database (run mogdbsetup if it is not set up): %w", err)
	}
	if s.cfg.NoSchemaCheck {
		return nil
	}
	v := set["schema_version"]
	if v == "" {
		v = "0"
	}
	if v != strconv.Itoa(store.SchemaVersion) {
		return fmt.Errorf("tracker: server's database schema version of %s doesn't match expected value of %d; please run mogdbsetup to upgrade your schema", v, store.SchemaVersion)
	}
	return nil
}

// Run checks the database, binds the listen addresses, starts the monitor
// and serves until ctx is cancelled (or !shutdown). It then stops
// accepting, lets the commands in flight finish and answer, and returns.
func (s *Server) Run(ctx context.Context) error {
	if err := s.checkSchema(ctx); err != nil {
		return err
	}
	max, err := s.st.MaxFID(ctx)
	if err != nil {
		return fmt.Errorf("tracker: read max fid: %w", err)
	}
	s.minFID = max
	if err := s.cl.Reload(ctx); err != nil {
		return err
	}
	s.startMogfs(ctx)
	s.startS3(ctx)
	var ls []net.Listener
	for _, a := range s.cfg.Listen {
		lc := net.ListenConfig{KeepAlive: 30 * time.Second}
		l, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("tracker: listen on %s: %w", a, err)
		}
		ls = append(ls, l)
	}
	s.listenMu.Lock()
	s.listeners = ls
	s.listenMu.Unlock()

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	s.stop = stop

	// The monitor outlives the listeners: commands in flight at shutdown
	// may still wait for a monitor round.
	monCtx, monStop := context.WithCancel(context.WithoutCancel(ctx))
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		s.mon.Run(monCtx)
	}()

	stopBackground := func() {}
	if s.cfg.Background != nil {
		bstop, err := s.cfg.Background(monCtx, s)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			monStop()
			<-monDone
			return fmt.Errorf("tracker: start background jobs: %w", err)
		}
		if bstop != nil {
			stopBackground = bstop
		}
	}
	for _, l := range ls {
		s.log.Info("listening", "addr", l.Addr().String())
		go s.acceptLoop(l)
	}
	<-ctx.Done()
	s.log.Info("shutting down: finishing commands in flight")
	s.closing.Store(true)
	close(s.stopping)
	s.slots.close()
	for _, l := range ls {
		l.Close()
	}
	s.connMu.Lock()
	for c := range s.conns {
		c.wake()
	}
	s.connMu.Unlock()
	s.connWG.Wait()
	stopBackground()
	monStop()
	<-monDone
	s.nodes.Close()
	s.log.Info("stopped")
	return nil
}

func (s *Server) acceptLoop(l net.Listener) {
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.closing.Load() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Error("accept failed", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if !s.admit(nc) {
			continue
		}
		c := newConn(s, nc)
		s.connMu.Lock()
		if s.closing.Load() {
			s.connMu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.connMu.Unlock()
		go func() {
			defer s.connWG.Done()
			defer func() {
				if p := recover(); p != nil {
					s.log.Error("connection handler crashed", "client", c.ip, "panic", p)
					c.nc.Close()
				}
				s.connMu.Lock()
				delete(s.conns, c)
				s.connMu.Unlock()
			}()
			c.serve()
		}()
	}
}

// requestShutdown is !shutdown.
func (s *Server) requestShutdown() {
	if s.stop != nil {
		s.stop()
	}
}
