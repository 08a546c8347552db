package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Config says which database Open connects to.
type Config struct {
	DSN string // see ParseDSN
	// Failover lists more DSNs of the same MySQL/MariaDB database on other
	// servers (the nodes of a Galera cluster), tried in order after DSN
	// (failover.go).
	Failover []string
	User     string // db_user (DBI DSNs carry no credentials)
	Password string // db_pass
	// NoSchemaCheck skips the schema_version check (config
	// no_schema_check); the tables must still exist.
	NoSchemaCheck bool
	// ListConns is how many long range reads (list_keys) run at once on
	// MySQL/MariaDB (default 1, see scanConns); more wait for one of them.
	// SQLite ignores it.
	ListConns int
	// Hostname is written into SQLite lock rows (default os.Hostname()).
	Hostname string
	// Logger gets one line per retried deadlock and similar events
	// (default slog.Default()).
	Logger *slog.Logger
	// LockLeaseTTL is the lifetime of the lease a named lock takes on
	// Galera (galera.go): default 30 s, at least 3 s (tests shorten it).
	LockLeaseTTL time.Duration
}

// Store implements store.Store on a SQL database.
type Store struct {
	cfg    Config
	d      dialect
	target Target
	// failover are the further servers of a MySQL database (Config.Failover).
	failover []Target
	wdb      *sql.DB // MySQL: the pool; SQLite: the writer's one connection
	rdb      *sql.DB // reads; MySQL: wdb; in-memory SQLite: nil (the writer reads)
	// sdb runs long range reads (list_keys) on connections of their own,
	// at most scanConns at a time, so that however many listings run,
	// point reads keep every connection of rdb (scan); nil with rdb.
	sdb    *sql.DB
	wcache *stmtCache
	rcache *stmtCache
	scache *stmtCache
	w      *writer       // SQLite: the group-committing writer, once Open started it
	ckpt   *checkpointer // SQLite file: the WAL checkpointer (checkpoint.go)
	log    *slog.Logger

	hostname string
	pid      int
	nonce    string // tells this store's lease rows from another's (galera.go)
	// minFID is MAX(file.fid) when the store was opened: a newly
	// allocated fid must be above it (the original's min_fidid guard
	// against an auto-increment counter that went backwards).
	minFID int64

	mogfs mogfsState // mogfs_attr and the key collation (mogfs.go)
	// s3Ready: SetupS3 made or found s3_meta (s3meta.go).
	s3Ready atomic.Bool
	// leaseReady: tracker_lock exists, for TakeLease (lease.go).
	leaseReady atomic.Bool

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
	if t.Backend == SQLite {
		w, err := startWriter(ctx, s)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.w = w
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
	s := &Store{cfg: cfg, target: t, log: cfg.Logger, hostname: cfg.Hostname, pid: os.Getpid(),
		nonce: strconv.FormatUint(rand.Uint64(), 36)}
	for _, dsn := range cfg.Failover {
		ft, err := ParseDSN(dsn, cfg.User, cfg.Password)
		if err != nil {
			return nil, err
		}
		if t.Backend != MySQL || ft.Backend != MySQL {
			return nil, fmt.Errorf("sqlstore: several DSNs are for the servers of one MySQL/MariaDB database (Galera), not %v", ft.Backend)
		}
		s.failover = append(s.failover, ft)
	}
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
	s.wcache = newStmtCache(nil, s.d) // MySQL; SQLite writes go through the writer
	if s.rdb != nil {
		s.rcache = newStmtCache(s.rdb, s.d)
	}
	if s.sdb != nil {
		s.scache = newStmtCache(s.sdb, s.d)
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
		if s.ckpt != nil {
			s.ckpt.stop()
		}
		if s.w != nil {
			s.w.stop()
		}
		if s.rcache != nil {
			s.rcache.close()
		}
		if s.scache != nil {
			s.scache.close()
		}
		err := s.wdb.Close()
		for _, db := range []*sql.DB{s.rdb, s.sdb} {
			if db != nil && db != s.wdb {
				if err2 := db.Close(); err == nil {
					err = err2
				}
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

// execer is what runs SQL: a pool, a transaction or a pinned connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// preparer makes prepared statements on a pool or a pinned connection.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmtCache renders query templates for the dialect and, when the dialect
// wants it, keeps one prepared statement per template.
type stmtCache struct {
	prep  preparer // nil: never prepare
	d     dialect
	mu    sync.Mutex
	text  map[string]string
	stmts map[string]*sql.Stmt
}

func newStmtCache(prep preparer, d dialect) *stmtCache {
	if !d.prepared() {
		prep = nil
	}
	return &stmtCache{prep: prep, d: d, text: map[string]string{}, stmts: map[string]*sql.Stmt{}}
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

// stmt returns the prepared statement of a template, or nil when this
// cache does not prepare.
func (c *stmtCache) stmt(ctx context.Context, tmpl string) (*sql.Stmt, error) {
	if c.prep == nil {
		return nil, nil
	}
	c.mu.Lock()
	st, ok := c.stmts[tmpl]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := c.prep.PrepareContext(ctx, c.render(tmpl))
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

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
}

// runner runs query templates on an execer, through prepared statements
// when its cache has them.
type runner struct {
	ctx   context.Context
	ex    execer
	cache *stmtCache
	sctx  context.Context // see stmtContext
}

func (r *runner) exec(tmpl string, args ...any) (sql.Result, error) {
	ctx, err := r.stmtContext()
	if err != nil {
		return nil, err
	}
	st, err := r.cache.stmt(ctx, tmpl)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.ExecContext(ctx, args...)
	}
	return r.ex.ExecContext(ctx, r.cache.render(tmpl), args...)
}

// execDynamic runs a one-off statement (an IN list) without preparing it.
func (r *runner) execDynamic(tmpl string, args ...any) (sql.Result, error) {
	ctx, err := r.stmtContext()
	if err != nil {
		return nil, err
	}
	return r.ex.ExecContext(ctx, r.cache.d.replacer().Replace(tmpl), args...)
}

// queryDynamic runs a one-off query (an IN list) without preparing it.
func (r *runner) queryDynamic(tmpl string, args ...any) (*sql.Rows, error) {
	ctx, err := r.stmtContext()
	if err != nil {
		return nil, err
	}
	return r.ex.QueryContext(ctx, r.cache.d.replacer().Replace(tmpl), args...)
}

func (r *runner) query(tmpl string, args ...any) (*sql.Rows, error) {
	ctx, err := r.stmtContext()
	if err != nil {
		return nil, err
	}
	st, err := r.cache.stmt(ctx, tmpl)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.ex.QueryContext(ctx, r.cache.render(tmpl), args...)
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

const maxAttempts = 12

// write runs fn atomically: on SQLite as one step of a group-committed
// write transaction on the one writer connection (see writer), on MySQL
// in its own transaction. Deadlocks, lock wait timeouts and
// SQLITE_BUSY/LOCKED are retried here, and only here; fn may run more than
// once and must set its results afresh each time.
func (s *Store) write(ctx context.Context, fn func(r *runner) error) error {
	return s.retry(ctx, func() error {
		if s.w != nil {
			return s.w.do(ctx, fn)
		}
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(&runner{ctx: ctx, ex: tx, cache: s.wcache}); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// writeReadCommitted is write with, on MySQL, the transaction in READ
// COMMITTED: its reads see what other transactions committed meanwhile
// and its locking reads lock the rows found, never the gaps between them
// (SQLite's one writer needs neither).
func (s *Store) writeReadCommitted(ctx context.Context, fn func(r *runner) error) error {
	if s.w != nil {
		return s.write(ctx, fn)
	}
	return s.retry(ctx, func() error {
		tx, err := s.wdb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return err
		}
		if err := fn(&runner{ctx: ctx, ex: tx, cache: s.wcache}); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// autocommit runs fn's statements without a transaction of their own
// (SQLite: still through the writer, which always batches).
func (s *Store) autocommit(ctx context.Context, fn func(r *runner) error) error {
	if s.w != nil {
		return s.write(ctx, fn)
	}
	return s.retry(ctx, func() error {
		return fn(&runner{ctx: ctx, ex: s.wdb, cache: s.wcache})
	})
}

// read runs fn on the read pool without a transaction, with the same
// retries as write. An in-memory SQLite database has only the writer.
func (s *Store) read(ctx context.Context, fn func(r *runner) error) error {
	if s.rdb == nil {
		return s.write(ctx, fn)
	}
	return s.retry(ctx, func() error {
		return fn(&runner{ctx: ctx, ex: s.rdb, cache: s.rcache})
	})
}

// scanConns is how many long range reads run at once (the connections of
// sdb): on SQLite, whose queries run on the tracker's own CPUs, half of
// them, so that listings can never take every CPU from point reads; on
// MySQL Config.ListConns, by default 1. A page of list_keys keeps one of
// the server's cores busy for its 1–3 ms, so listings running side by
// side take that many cores from the point reads (get_paths), whose
// latency then grows with them (docs/scale.md); queued, they share one.
func scanConns(b Backend, cfg Config) int {
	if b == SQLite {
		return max(1, runtime.GOMAXPROCS(0)/2)
	}
	if cfg.ListConns > 0 {
		return cfg.ListConns
	}
	return 1
}

// scan runs fn like read, on the scan pool: a listing waits there for a
// connection when scanConns of them run, while point reads go on.
func (s *Store) scan(ctx context.Context, fn func(r *runner) error) error {
	if s.sdb == nil {
		return s.read(ctx, fn)
	}
	return s.retry(ctx, func() error {
		return fn(&runner{ctx: ctx, ex: s.sdb, cache: s.scache})
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
		// Jitter keeps transactions that collided from colliding again.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		if backoff < 500*time.Millisecond {
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
