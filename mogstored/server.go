package mogstored

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/mogstored/httpd"
)

// Server is a storage node: listeners bound, docroot open, ready to Run.
type Server struct {
	cfg      Config
	log      *slog.Logger
	root     *docRoot
	devs     *deviceStates
	httpL    net.Listener // nil unless the built-in HTTP server runs
	mgmtL    net.Listener
	http     *httpd.Server
	side     *sideChannel
	iow      *ioWatcher
	usage    *usageWriter
	shutdown chan shutdownRequest
	nginx    *nginxChild        // with ServerNginx
	stopNgx  context.CancelFunc // stops nginx
	fp       *fastPath          // nil without Config.Trackers
}

// Listen checks cfg, opens the docroot, binds the listeners and writes
// the pid file, so that errors such as a port in use show before the
// caller reports readiness. Run then serves (and removes the pid file).
func Listen(cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	root, err := openDocRoot(cfg.DocRoot)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, root: root, devs: newDeviceStates(log), shutdown: make(chan shutdownRequest, 1)}
	if !root.openat2 {
		log.Warn("openat2 unavailable; using the slower os.Root path for reads", "docroot", cfg.DocRoot)
	}
	if cfg.Server != ServerNone && cfg.Server != ServerNginx {
		if s.httpL, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			root.Close()
			return nil, fmt.Errorf("httplisten: %w", err)
		}
	}
	if s.mgmtL, err = net.Listen("tcp", cfg.MgmtListen); err != nil {
		if s.httpL != nil {
			s.httpL.Close()
		}
		root.Close()
		return nil, fmt.Errorf("mgmtlisten: %w", err)
	}
	if cfg.IOStat {
		s.iow = newIOWatcher(root)
		if !s.iow.available() {
			log.Warn("disk statistics unavailable; watch will answer 'ERR iostat unavailable'", "path", s.iow.stats)
			s.iow = nil
		}
	}
	s.usage = &usageWriter{root: root, devs: s.devs, viaDU: cfg.DevUsageViaDU, now: time.Now, kick: make(chan struct{}, 1)}
	s.side = newSideChannel(root, log, s.iow, s.shutdown)
	if s.httpL != nil && len(cfg.Trackers) > 0 {
		if s.fp, err = newFastPath(cfg, root, s.devs, log); err != nil {
			s.closeListeners()
			root.Close()
			return nil, err
		}
	}
	if s.httpL != nil {
		h := &handler{root: root, fsync: cfg.Fsync, log: log, devs: s.devs, pid: strconv.Itoa(os.Getpid()), fp: s.fp,
			concatHosts: &clusterHosts{}, concatHTTP: newConcatHTTP()}
		if s.fp != nil {
			h.concatHosts.link = s.fp.link
		}
		s.http = &httpd.Server{
			Handler: guardWrites(cfg.WriteAllow, log, h),
			Logger:  log, MaxConns: cfg.MaxConns,
			HeaderTimeout: cfg.HeaderTimeout, IdleTimeout: cfg.IdleTimeout,
			BodyTimeout: cfg.BodyTimeout, WriteTimeout: cfg.WriteTimeout,
		}
	}
	if cfg.Server == ServerNginx {
		// nginx serves the docroot on its own as soon as it answers, so
		// the usage files must exist before it starts (the tracker's
		// monitor reads them first thing).
		s.usage.refresh()
		// nginx is up and answering before Listen returns, like the
		// built-in server's bound port.
		ctx, cancel := context.WithCancel(context.Background())
		ng, err := startNginx(ctx, cfg, root, log)
		if err == nil {
			err = ng.waitListening(cfg.HTTPListen, 15*time.Second)
		}
		if err != nil {
			cancel()
			if ng != nil {
				ng.wait()
			}
			s.closeListeners()
			root.Close()
			return nil, err
		}
		s.nginx, s.stopNgx = ng, cancel
	}
	if cfg.PIDFile != "" {
		if err := os.WriteFile(cfg.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			s.closeAll()
			root.Close()
			return nil, fmt.Errorf("pidfile: %w", err)
		}
	}
	return s, nil
}

// HTTPAddr is the bound HTTP address, or nil without the built-in server.
func (s *Server) HTTPAddr() net.Addr {
	if s.httpL == nil {
		return nil
	}
	return s.httpL.Addr()
}

// MgmtAddr is the bound side-channel address.
func (s *Server) MgmtAddr() net.Addr { return s.mgmtL.Addr() }

// Run serves until ctx is done (then it stops gracefully: no new
// connections, in-flight requests get ShutdownTimeout to finish), until a
// side-channel "shutdown" (immediate) or "shutdown graceful [secs]", or
// until a listener or the nginx child fails (returned as an error).
func (s *Server) Run(ctx context.Context) error {
	defer s.root.Close()
	if s.cfg.PIDFile != "" {
		defer os.Remove(s.cfg.PIDFile)
	}
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stopBG()
		wg.Wait()
	}()
	fatal := make(chan error, 3)
	// Usage files exist before the first request is served: the tracker's
	// monitor reads them first thing.
	s.usage.refresh()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.usage.loop(bg, s.cfg.UsageInterval)
	}()
	s.startTempCleaner(bg, &wg)
	if s.fp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.fp.run(bg)
		}()
	}
	if s.iow != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.iow.run(bg)
		}()
	}
	go func() {
		if err := s.side.serve(s.mgmtL); err != nil {
			fatal <- fmt.Errorf("side channel: %w", err)
		}
	}()
	if s.http != nil {
		go func() {
			if err := s.http.Serve(s.httpL); err != nil && !errors.Is(err, httpd.ErrServerClosed) {
				fatal <- fmt.Errorf("http: %w", err)
			}
		}()
	}
	if s.nginx != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.nginx.wait(); err != nil {
				fatal <- err
			}
		}()
	}
	s.log.Info("mogstored running", "http", addrString(s.HTTPAddr()), "mgmt", s.MgmtAddr().String(),
		"docroot", s.cfg.DocRoot, "server", s.cfg.Server, "fsync", s.cfg.Fsync, "trackers", s.cfg.Trackers)

	select {
	case <-ctx.Done():
		s.log.Info("stopping: finishing in-flight requests", "timeout", s.cfg.ShutdownTimeout)
		s.stopGracefully(s.cfg.ShutdownTimeout)
		return nil
	case req := <-s.shutdown:
		if req.graceful {
			s.stopGracefully(req.timeout)
		} else {
			s.closeAll()
		}
		return nil
	case err := <-fatal:
		s.log.Error("stopping on error", "err", err)
		s.closeAll()
		return err
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return "none"
	}
	return a.String()
}

func (s *Server) stopGracefully(timeout time.Duration) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	s.mgmtL.Close()
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			s.log.Warn("connections cut at the shutdown deadline", "err", err)
		}
	}
	if s.stopNgx != nil {
		s.stopNgx() // SIGQUIT: nginx finishes its requests
	}
	s.side.close()
}

func (s *Server) closeAll() {
	if s.http != nil {
		s.http.Close()
	}
	if s.stopNgx != nil {
		s.stopNgx()
	}
	s.side.close()
	s.closeListeners()
}

func (s *Server) closeListeners() {
	if s.httpL != nil {
		s.httpL.Close()
	}
	s.mgmtL.Close()
}

// Run listens and serves cfg until ctx is done; see Listen and
// (*Server).Run.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	s, err := Listen(cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
