package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// servers are the MySQL/MariaDB servers of one database, in the order the
// configuration gave them (db_dsn repeated, --dsn repeated): the nodes of
// a Galera cluster, typically, each tracker listing its own node first.
//
// New connections go to the first server that is up and, on Galera, ready
// (wsrep_ready ON: a node cut off from the cluster's majority refuses
// queries). A server is marked down when a connection to it fails or it
// refuses a query as not ready; from then on new connections go to the
// next one, and a prober checks the down servers every probeEvery. When
// an earlier server is back, pooled connections to a later one are
// dropped as they come back to the pool (failback), so each tracker
// returns to its own node within a probe interval.
type servers struct {
	log   *slog.Logger
	addrs []string

	mu      sync.Mutex
	down    []bool
	probing bool
	closed  chan struct{}
	once    sync.Once
	// probe connects to server i and checks that it is ready.
	probe func(ctx context.Context, i int) error
}

// probeEvery is how often a down server is tried again.
const probeEvery = time.Second

// erUnknownCom is what a Galera node that is not ready answers to any
// query ("WSREP has not yet prepared node for application use"); the
// statement did not run.
const erUnknownCom = 1047

func newServers(cfgs []*mysql.Config, log *slog.Logger) *servers {
	s := &servers{log: log, down: make([]bool, len(cfgs)), closed: make(chan struct{})}
	conns := make([]driver.Connector, len(cfgs))
	for i, c := range cfgs {
		s.addrs = append(s.addrs, c.Addr)
		conns[i], _ = mysql.NewConnector(c)
	}
	s.probe = func(ctx context.Context, i int) error {
		if conns[i] == nil {
			return errors.New("bad configuration")
		}
		c, err := conns[i].Connect(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		return checkReady(ctx, c)
	}
	return s
}

func (s *servers) close() { s.once.Do(func() { close(s.closed) }) }

// preferred is the first server not marked down (0 when all are).
func (s *servers) preferred() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, d := range s.down {
		if !d {
			return i
		}
	}
	return 0
}

func (s *servers) isDown(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down[i]
}

func (s *servers) markDown(i int, err error) {
	s.mu.Lock()
	was := s.down[i]
	s.down[i] = true
	start := !s.probing
	s.probing = true
	s.mu.Unlock()
	if !was {
		s.log.Warn("sqlstore: database server unavailable, new connections go to the next one",
			"server", s.addrs[i], "err", err)
	}
	if start {
		go s.probeLoop()
	}
}

// probeLoop tries the down servers until every one is back.
func (s *servers) probeLoop() {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		s.mu.Lock()
		var down []int
		for i, d := range s.down {
			if d {
				down = append(down, i)
			}
		}
		if len(down) == 0 {
			s.probing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, i := range down {
			ctx, cancel := context.WithTimeout(context.Background(), probeEvery)
			err := s.probe(ctx, i)
			cancel()
			if err == nil {
				s.mu.Lock()
				s.down[i] = false
				s.mu.Unlock()
				s.log.Info("sqlstore: database server is back", "server", s.addrs[i])
			}
		}
	}
}

// checkReady fails on a Galera node that is not ready for queries. On a
// server without Galera the status variable is absent: ready.
func checkReady(ctx context.Context, c driver.Conn) error {
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return nil
	}
	rows, err := q.QueryContext(ctx, "SHOW STATUS LIKE 'wsrep_ready'", nil)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	v := fmt.Sprint(vals[1])
	if b, ok := vals[1].([]byte); ok {
		v = string(b)
	}
	if v != "ON" {
		return fmt.Errorf("galera node not ready (wsrep_ready %s)", v)
	}
	return nil
}

// connector makes one pool's connections over servers; each pool has its
// own mysql configuration (multi statements or not) for every server.
type connector struct {
	s     *servers
	conns []driver.Connector
}

func (s *servers) connector(cfgs []*mysql.Config) (*connector, error) {
	c := &connector{s: s}
	for _, cfg := range cfgs {
		mc, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		c.conns = append(c.conns, mc)
	}
	return c, nil
}

func (c *connector) Driver() driver.Driver { return mysql.MySQLDriver{} }

// Connect returns a connection to the first server up, trying the ones
// marked down last (they may be back before the prober noticed).
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	order := make([]int, 0, len(c.conns))
	for i := range c.conns {
		if !c.s.isDown(i) {
			order = append(order, i)
		}
	}
	for i := range c.conns {
		if c.s.isDown(i) {
			order = append(order, i)
		}
	}
	var errs []error
	for _, i := range order {
		conn, err := c.conns[i].Connect(ctx)
		if err == nil && len(c.conns) > 1 {
			if err = checkReady(ctx, conn); err != nil {
				conn.Close()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			if len(c.conns) > 1 {
				c.s.markDown(i, err)
			}
			errs = append(errs, fmt.Errorf("%s: %w", c.s.addrs[i], err))
			continue
		}
		if len(c.conns) == 1 {
			return conn, nil
		}
		return &conn1{Conn: conn, c: c, i: i}, nil
	}
	return nil, errors.Join(errs...)
}

// conn1 is a pooled connection to server i. Errors that mean the server is
// gone or not ready mark it down; a connection lost inside a transaction
// before its commit is reported as errTxLost, which the store retries (the
// server rolled the transaction back), while a lost commit is not retried:
// its outcome is unknown.
type conn1 struct {
	driver.Conn
	c    *connector
	i    int
	inTx bool
	dead bool
}

// errTxLost: the connection died inside a transaction before COMMIT was
// sent, so nothing of it was applied and it may run again.
var errTxLost = errors.New("connection lost inside a transaction (rolled back)")

func (cn *conn1) check(err error) error {
	if err == nil {
		return nil
	}
	refused := false
	if n, ok := mysqlCode(err); ok {
		refused = n == erUnknownCom
		if !refused {
			return err
		}
	}
	var ne net.Error
	lost := errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
	if !refused && !lost {
		return err
	}
	cn.dead = true
	cn.c.s.markDown(cn.i, err)
	if refused && !cn.inTx {
		return driver.ErrBadConn // nothing ran: database/sql retries elsewhere
	}
	if cn.inTx {
		return fmt.Errorf("%w: %w", errTxLost, err)
	}
	return err
}

func (cn *conn1) Prepare(query string) (driver.Stmt, error) {
	st, err := cn.Conn.Prepare(query)
	return st, cn.check(err)
}

func (cn *conn1) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := cn.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	return st, cn.check(err)
}

func (cn *conn1) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := cn.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	return r, cn.check(err)
}

func (cn *conn1) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := cn.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	return r, cn.check(err)
}

func (cn *conn1) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := cn.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, cn.check(err)
	}
	cn.inTx = true
	return &tx1{Tx: tx, cn: cn}, nil
}

func (cn *conn1) Ping(ctx context.Context) error {
	return cn.check(cn.Conn.(driver.Pinger).Ping(ctx))
}

func (cn *conn1) ResetSession(ctx context.Context) error {
	if cn.dead {
		return driver.ErrBadConn
	}
	return cn.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// IsValid drops a connection to a server that is down or, for failback,
// to one after the preferred server.
func (cn *conn1) IsValid() bool {
	if cn.dead || cn.c.s.isDown(cn.i) || cn.i > cn.c.s.preferred() {
		return false
	}
	return cn.Conn.(driver.Validator).IsValid()
}

func (cn *conn1) CheckNamedValue(nv *driver.NamedValue) error {
	return cn.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

type tx1 struct {
	driver.Tx
	cn *conn1
}

func (t *tx1) Commit() error {
	t.cn.inTx = false
	err := t.Tx.Commit()
	if err != nil {
		// A lost commit is not errTxLost: it may have been applied.
		if e := t.cn.check(err); errors.Is(e, driver.ErrBadConn) {
			return err
		}
	}
	return err
}

func (t *tx1) Rollback() error {
	t.cn.inTx = false
	return t.cn.check(t.Tx.Rollback())
}
