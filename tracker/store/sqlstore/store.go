package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Config says which database Open connects to.
type Config struct {
	DSN      string // see ParseDSN
	User     string // db_user (DBI DSNs carry no credentials)
	Password string // db_pass
	// NoSchemaCheck skips the schema_version check (config
	// no_schema_check); the tables must still exist.
	NoSchemaCheck bool
	// Hostname is written into SQLite lock rows (default os.Hostname()).
	Hostname string
	// Logger gets one line per retried deadlock and similar events
	// (default slog.Default()).
	Logger *slog.Logger
}

// Store implements store.Store on a SQL database.
type Store struct {
	cfg    Config
	d      dialect
	target Target
	wdb    *sql.DB // write transactions (SQLite: one connection)
	rdb    *sql.DB // reads (MySQL: the same pool as wdb)
	wcache *stmtCache
	rcache *stmtCache
	log    *slog.Logger

	hostname string
	pid      int
	// minFID is MAX(file.fid) when the store was opened: a newly
	// allocated fid must be above it (the original's min_fidid guard
	// against an auto-increment counter that went backwards).
	minFID int64

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// dialect is what differs between MySQL and SQLite.
type dialect interface {
	backend() Backend
	// replacer renders the {now}, {ignore} and {forupdate} placeholders of
	// a query template.
	replacer() *strings.Replacer
	// prepared: cache prepared statements per connection (SQLite); MySQL
	// interpolates parameters client side instead.
	prepared() bool
	duplicate(err error) bool
	retryable(err error) bool
	// keyMatch returns the WHERE condition and argument that select keys
	// starting with prefix.
	keyMatch(prefix string, caseSensitive bool) (cond string, args []any)
	lock(ctx context.Context, s *Store, name string, timeout int) (bool, error)
	unlock(ctx context.Context, s *Store, name string) error
	releaseAll(s *Store)
	clearFsckLog(ctx context.Context, s *Store) error
}

// Open connects to the database named by cfg, checks that it holds the
// MogileFS schema version 17 (unless cfg.NoSchemaCheck) and returns the
// store. It never creates a database or changes one, except that an
// in-memory SQLite database (":memory:") starts empty and gets the schema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	t, err := ParseDSN(cfg.DSN, cfg.User, cfg.Password)
	if err != nil {
		return nil, err
	}
	s, err := openTarget(ctx, t, cfg, false)
	if err != nil {
		return nil, err
	}
	if t.Memory() {
		if err := s.setup(ctx, SetupOptions{}); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.checkSchema(ctx, cfg.NoSchemaCheck); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadMinFID(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openTarget opens the connection pools; create allows SQLite to create
// the file (Setup).
func openTarget(ctx context.Context, t Target, cfg Config, create bool) (*Store, error) {
	s := &Store{cfg: cfg, target: t, log: cfg.Logger, hostname: cfg.Hostname, pid: os.Getpid()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		s.hostname = h
	}
	var err error
	switch t.Backend {
	case SQLite:
		err = openSQLite(ctx, s, create)
	case MySQL:
		err = openMySQL(ctx, s)
	default:
		err = fmt.Errorf("sqlstore: unknown backend %v", t.Backend)
	}
	if err != nil {
		return nil, err
	}
	s.wcache = newStmtCache(s.wdb, s.d)
	s.rcache = s.wcache
	if s.rdb != s.wdb {
		s.rcache = newStmtCache(s.rdb, s.d)
	}
	return s, nil
}

// Reopen opens a second, independent Store on the same database, as a
// second tracker would (storetest.Reopener). An in-memory database cannot
// be shared: Reopen returns nil, nil.
func (s *Store) Reopen(ctx context.Context) (store.Store, error) {
	if s.target.Memory() {
		return nil, nil
	}
	return Open(ctx, s.cfg)
}

// Backend reports which database engine the store uses.
func (s *Store) Backend() Backend { return s.target.Backend }

// Close releases held named locks and closes the connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.d.releaseAll(s)
		s.wcache.close()
		if s.rcache != s.wcache {
			s.rcache.close()
		}
		err := s.wdb.Close()
		if s.rdb != s.wdb {
			if err2 := s.rdb.Close(); err == nil {
				err = err2
			}
		}
		s.closeErr = err
	})
	return s.closeErr
}

// Now returns the database clock in Unix seconds.
func (s *Store) Now(ctx context.Context) (int64, error) {
	var now int64
	err := s.read(ctx, func(r *runner) error {
		return r.queryRow("SELECT {now}").Scan(&now)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: database time: %w", err)
	}
	return now, nil
}

func (s *Store) loadMinFID(ctx context.Context) error {
	max, err := s.MaxFID(ctx)
	if err != nil {
		return err
	}
	s.minFID = max
	return nil
}

// ---- statement plumbing ----

// stmtCache renders query templates for the dialect and, when the dialect
// wants it, keeps one prepared statement per query.
type stmtCache struct {
	db      *sql.DB
	d       dialect
	mu      sync.Mutex
	text    map[string]string
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

func newStmtCache(db *sql.DB, d dialect) *stmtCache {
	return &stmtCache{db: db, d: d, text: map[string]string{}, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) render(tmpl string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.text[tmpl]
	if !ok {
		q = c.d.replacer().Replace(tmpl)
		c.text[tmpl] = q
	}
	return q
}

// stmt returns the prepared statement for a template, or nil when the
// dialect does not prepare or the statement is not prepared yet. Inside a
// transaction nothing is prepared (on SQLite the one writer connection is
// busy with the transaction); the template is remembered and prepared by
// preparePending once the transaction is over.
func (c *stmtCache) stmt(ctx context.Context, tmpl string, inTx bool) (*sql.Stmt, error) {
	if !c.d.prepared() {
		return nil, nil
	}
	c.mu.Lock()
	st, ok := c.stmts[tmpl]
	if !ok && inTx {
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[tmpl] = true
	}
	c.mu.Unlock()
	if ok || inTx {
		return st, nil
	}
	return c.prepare(ctx, tmpl)
}

func (c *stmtCache) prepare(ctx context.Context, tmpl string) (*sql.Stmt, error) {
	st, err := c.db.PrepareContext(ctx, c.render(tmpl))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.stmts[tmpl]; ok {
		st.Close()
		return old, nil
	}
	c.stmts[tmpl] = st
	return st, nil
}

// preparePending prepares the templates first seen inside a transaction.
func (c *stmtCache) preparePending(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	todo := c.pending
	c.pending = nil
	c.mu.Unlock()
	for tmpl := range todo {
		// A failure only means the statement runs unprepared next time.
		c.prepare(ctx, tmpl)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
}

// runner runs query templates in a transaction or on a pool.
type runner struct {
	ctx   context.Context
	tx    *sql.Tx // nil: autocommit on db
	db    *sql.DB
	cache *stmtCache
}

func (r *runner) exec(tmpl string, args ...any) (sql.Result, error) {
	st, err := r.cache.stmt(r.ctx, tmpl, r.tx != nil)
	if err != nil {
		return nil, err
	}
	switch {
	case st != nil && r.tx != nil:
		return r.tx.StmtContext(r.ctx, st).ExecContext(r.ctx, args...)
	case st != nil:
		return st.ExecContext(r.ctx, args...)
	case r.tx != nil:
		return r.tx.ExecContext(r.ctx, r.cache.render(tmpl), args...)
	}
	return r.db.ExecContext(r.ctx, r.cache.render(tmpl), args...)
}

// execDynamic runs a one-off statement (an IN list) without preparing it.
func (r *runner) execDynamic(tmpl string, args ...any) (sql.Result, error) {
	q := r.cache.d.replacer().Replace(tmpl)
	if r.tx != nil {
		return r.tx.ExecContext(r.ctx, q, args...)
	}
	return r.db.ExecContext(r.ctx, q, args...)
}

func (r *runner) query(tmpl string, args ...any) (*sql.Rows, error) {
	st, err := r.cache.stmt(r.ctx, tmpl, r.tx != nil)
	if err != nil {
		return nil, err
	}
	switch {
	case st != nil && r.tx != nil:
		return r.tx.StmtContext(r.ctx, st).QueryContext(r.ctx, args...)
	case st != nil:
		return st.QueryContext(r.ctx, args...)
	case r.tx != nil:
		return r.tx.QueryContext(r.ctx, r.cache.render(tmpl), args...)
	}
	return r.db.QueryContext(r.ctx, r.cache.render(tmpl), args...)
}

// row is a single-row result; Scan reports sql.ErrNoRows as is.
type row struct {
	rows *sql.Rows
	err  error
}

func (r *runner) queryRow(tmpl string, args ...any) row {
	rows, err := r.query(tmpl, args...)
	return row{rows, err}
}

func (w row) Scan(dest ...any) error {
	if w.err != nil {
		return w.err
	}
	defer w.rows.Close()
	if !w.rows.Next() {
		if err := w.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := w.rows.Scan(dest...); err != nil {
		return err
	}
	return w.rows.Close()
}

// affected returns the matched/changed row count of an exec result.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

const maxAttempts = 8

// write runs fn in a write transaction (SQLite: BEGIN IMMEDIATE on the one
// writer connection), committing if fn returns nil. Deadlocks, lock wait
// timeouts and SQLITE_BUSY/LOCKED are retried here, and only here; fn must
// therefore only set its results on success paths it recomputes.
func (s *Store) write(ctx context.Context, fn func(r *runner) error) error {
	return s.retry(ctx, func() error {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		err = fn(&runner{ctx: ctx, tx: tx, db: s.wdb, cache: s.wcache})
		if err != nil {
			tx.Rollback()
		} else {
			err = tx.Commit()
		}
		s.wcache.preparePending(ctx)
		return err
	})
}

// read runs fn on the read pool without a transaction, with the same
// retries as write.
func (s *Store) read(ctx context.Context, fn func(r *runner) error) error {
	return s.retry(ctx, func() error {
		return fn(&runner{ctx: ctx, db: s.rdb, cache: s.rcache})
	})
}

// autocommit runs fn on the writer pool without a transaction.
func (s *Store) autocommit(ctx context.Context, fn func(r *runner) error) error {
	return s.retry(ctx, func() error {
		return fn(&runner{ctx: ctx, db: s.wdb, cache: s.wcache})
	})
}

func (s *Store) retry(ctx context.Context, once func() error) error {
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := once()
		if err == nil || attempt >= maxAttempts || !s.d.retryable(err) {
			return err
		}
		s.log.Info("sqlstore: retrying transaction", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		if backoff < 200*time.Millisecond {
			backoff *= 2
		}
	}
}

// ---- value helpers ----

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullHash(h store.HashType) any {
	if h == store.HashNone {
		return nil
	}
	return int(h)
}

func (s *Store) dup(err error) bool { return err != nil && s.d.duplicate(err) }

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
