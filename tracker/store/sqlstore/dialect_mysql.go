package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mogilefs-go/mogilefs/internal/fence"
)

// mysqlDialect: go-sql-driver/mysql, one pool, GET_LOCK named locks each
// on a pinned connection.
type mysqlDialect struct {
	// locks is a pool of its own for the connections pinned by held
	// locks, so that lock holders can never starve the query pool.
	locks *sql.DB
	// multi is the pool for batched statements (fastpath_mysql.go).
	multi *sql.DB
	mu    sync.Mutex
	held  map[string]*sql.Conn
	// servers are the database's servers in failover order (failover.go).
	servers *servers
	// galera: the server is a Galera node, where GET_LOCK is local to one
	// node: named locks also take a lease row (galera.go).
	galera     bool
	leaseTable bool                    // tracker_lock exists
	leases     map[string]*fence.Fence // fences of held leases (galera.go)
}

func (*mysqlDialect) backend() Backend { return MySQL }

var mysqlReplacer = strings.NewReplacer(
	"{now}", "UNIX_TIMESTAMP()",
	"{ignore}", "INSERT IGNORE",
	"{forupdate}", " FOR UPDATE",
)

func (*mysqlDialect) replacer() *strings.Replacer { return mysqlReplacer }
func (*mysqlDialect) prepared() bool              { return false }

// MySQL/MariaDB server error numbers.
const (
	erDupEntry        = 1062
	erLockWaitTimeout = 1205
	erLockDeadlock    = 1213
)

func mysqlCode(err error) (uint16, bool) {
	var e *mysql.MySQLError
	if errors.As(err, &e) {
		return e.Number, true
	}
	return 0, false
}

func (*mysqlDialect) duplicate(err error) bool {
	n, ok := mysqlCode(err)
	return ok && n == erDupEntry
}

func (*mysqlDialect) retryable(err error) bool {
	n, ok := mysqlCode(err)
	// On Galera a transaction that lost certification fails with 1213
	// at COMMIT and was not applied; a node that is not ready refused the
	// statement (1047); errTxLost: the connection died before COMMIT.
	return ok && (n == erLockDeadlock || n == erLockWaitTimeout || n == erUnknownCom) ||
		errors.Is(err, errTxLost)
}

// keyMatch: LIKE follows the column collation (case-insensitive with the
// usual *_ci defaults); LIKE BINARY compares bytes.
func (*mysqlDialect) keyMatch(prefix string, caseSensitive bool) (string, []any) {
	if caseSensitive {
		return "dkey LIKE BINARY ? ESCAPE ?", []any{likePrefix(prefix), `\`}
	}
	return "dkey LIKE ? ESCAPE ?", []any{likePrefix(prefix), `\`}
}

func openMySQL(ctx context.Context, s *Store) error {
	d := &mysqlDialect{held: map[string]*sql.Conn{}, leases: map[string]*fence.Fence{}}
	s.d = d
	var cfgs []*mysql.Config
	for _, t := range append([]Target{s.target}, s.failover...) {
		cfgs = append(cfgs, t.MySQL.Clone())
	}
	// Use the connection character set of the file table's keys so key
	// bytes are stored and compared exactly as the original tracker's
	// (which sends raw bytes) would. Asked of the first server that answers,
	// with whether it is a Galera node.
	for _, cfg := range cfgs {
		cs, galera, ok := probeServer(ctx, cfg)
		if !ok {
			continue
		}
		d.galera = galera
		for _, c := range cfgs {
			if cs != "" {
				if err := c.Apply(mysql.Charset(cs, "")); err != nil {
					return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
				}
			}
			if galera {
				// Reads wait until the node has applied every write the
				// cluster committed before them: an upload acknowledged
				// through one tracker is seen by the next command
				// through another.
				c.Params = maps.Clone(c.Params)
				if c.Params == nil {
					c.Params = map[string]string{}
				}
				c.Params["wsrep_sync_wait"] = "1"
			}
		}
		break
	}
	d.servers = newServers(cfgs, s.log)
	db, err := mysqlPool(ctx, d.servers, cfgs, s.target)
	if err != nil {
		d.servers.close()
		return err
	}
	conn, err := d.servers.connector(cfgs)
	if err != nil {
		db.Close()
		d.servers.close()
		return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
	}
	d.locks = sql.OpenDB(conn)
	d.locks.SetMaxIdleConns(4)
	d.locks.SetConnMaxLifetime(time.Hour)
	if d.multi, err = openMultiPool(d.servers, cfgs); err != nil {
		db.Close()
		d.locks.Close()
		d.servers.close()
		return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
	}
	sconn, err := d.servers.connector(cfgs)
	if err != nil {
		db.Close()
		d.locks.Close()
		d.multi.Close()
		d.servers.close()
		return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
	}
	s.sdb = sql.OpenDB(sconn)
	s.sdb.SetMaxOpenConns(scanConns(MySQL, s.cfg))
	s.sdb.SetMaxIdleConns(scanConns(MySQL, s.cfg))
	s.sdb.SetConnMaxLifetime(time.Hour)
	s.wdb, s.rdb = db, db
	if d.galera {
		s.log.Info("sqlstore: Galera cluster: named locks also take a lease row in tracker_lock; reads wait for causality (wsrep_sync_wait=1)",
			"server", s.target.Where())
	}
	return nil
}

func mysqlPool(ctx context.Context, sv *servers, cfgs []*mysql.Config, t Target) (*sql.DB, error) {
	conn, err := sv.connector(cfgs)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", t.Where(), err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(time.Hour)
	pctx, cancel := context.WithTimeout(ctx, cfgs[0].Timeout*time.Duration(len(cfgs)))
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: cannot connect to %s database %s as %q: %w", t.Where(), cfgs[0].DBName, cfgs[0].User, err)
	}
	return db, nil
}

// probeServer returns the character set of file.dkey ("" when it cannot
// be told: no such table yet) and whether the server is a Galera node
// (MariaDB's wsrep_on; MySQL has no such variable). ok is false when the
// server does not answer (the pool reports that).
func probeServer(ctx context.Context, cfg *mysql.Config) (charset string, galera, ok bool) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return "", false, false
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if db.PingContext(cctx) != nil {
		return "", false, false
	}
	var cs, on sql.NullString
	err = db.QueryRowContext(cctx, `SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'file' AND COLUMN_NAME = 'dkey'`).Scan(&cs)
	if err != nil || !cs.Valid {
		err = db.QueryRowContext(cctx, "SELECT @@character_set_database").Scan(&cs)
	}
	if err != nil || !cs.Valid {
		cs.String = ""
	}
	if db.QueryRowContext(cctx, "SELECT @@wsrep_on").Scan(&on) == nil {
		galera = on.String == "1" || on.String == "ON"
	}
	return cs.String, galera, true
}

func (d *mysqlDialect) lock(ctx context.Context, s *Store, name string, timeout int) (bool, error) {
	if name == "" {
		return false, errors.New("sqlstore: empty lock name")
	}
	conn, err := d.locks.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: lock %q: %w", name, err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, timeout).Scan(&got); err != nil {
		conn.Close()
		return false, fmt.Errorf("sqlstore: lock %q: %w", name, err)
	}
	if !got.Valid || got.Int64 != 1 {
		conn.Close()
		return false, nil
	}
	if d.galera {
		ok, err := d.lease(ctx, s, name, timeout)
		if err != nil || !ok {
			conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&got)
			conn.Close()
			if err != nil {
				return false, fmt.Errorf("sqlstore: lock %q: %w", name, err)
			}
			return false, nil
		}
	}
	d.mu.Lock()
	d.held[name] = conn
	d.mu.Unlock()
	return true, nil
}

func (d *mysqlDialect) unlock(ctx context.Context, s *Store, name string) error {
	d.mu.Lock()
	conn := d.held[name]
	delete(d.held, name)
	d.mu.Unlock()
	if conn == nil {
		return nil
	}
	if d.galera {
		d.unlease(ctx, s, name)
	}
	var rel sql.NullInt64
	err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&rel)
	if err != nil {
		// The session is in an unknown state: drop it, which releases
		// its locks on the server.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
		return fmt.Errorf("sqlstore: unlock %q: %w", name, err)
	}
	return conn.Close()
}

func (d *mysqlDialect) releaseAll(s *Store) {
	d.mu.Lock()
	names := make([]string, 0, len(d.held))
	for n := range d.held {
		names = append(names, n)
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range names {
		d.unlock(ctx, s, n)
	}
	d.locks.Close()
	if d.multi != nil {
		d.multi.Close()
	}
	d.servers.close()
}

// clearFsckLog uses TRUNCATE as the original does on MySQL (it also
// restarts logid at 1).
func (d *mysqlDialect) clearFsckLog(ctx context.Context, s *Store) error {
	return s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("TRUNCATE TABLE fsck_log")
		return err
	})
}
