package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
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
	return ok && (n == erLockDeadlock || n == erLockWaitTimeout)
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
	d := &mysqlDialect{held: map[string]*sql.Conn{}}
	s.d = d
	cfg := s.target.MySQL.Clone()
	// Use the connection character set of the file table's keys so key
	// bytes are stored and compared exactly as the original tracker's
	// (which sends raw bytes) would.
	if cs := keyCharset(ctx, cfg); cs != "" {
		if err := cfg.Apply(mysql.Charset(cs, "")); err != nil {
			return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
		}
	}
	db, err := mysqlPool(ctx, cfg, s.target)
	if err != nil {
		return err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		db.Close()
		return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
	}
	d.locks = sql.OpenDB(conn)
	d.locks.SetMaxIdleConns(4)
	d.locks.SetConnMaxLifetime(time.Hour)
	if d.multi, err = openMultiPool(cfg); err != nil {
		db.Close()
		d.locks.Close()
		return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
	}
	sconn, err := mysql.NewConnector(cfg)
	if err != nil {
		db.Close()
		d.locks.Close()
		d.multi.Close()
		return fmt.Errorf("sqlstore: %s: %w", s.target.Where(), err)
	}
	s.sdb = sql.OpenDB(sconn)
	s.sdb.SetMaxOpenConns(scanConns(MySQL))
	s.sdb.SetMaxIdleConns(scanConns(MySQL))
	s.sdb.SetConnMaxLifetime(time.Hour)
	s.wdb, s.rdb = db, db
	return nil
}

func mysqlPool(ctx context.Context, cfg *mysql.Config, t Target) (*sql.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", t.Where(), err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(time.Hour)
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: cannot connect to %s database %s as %q: %w", t.Where(), cfg.DBName, cfg.User, err)
	}
	return db, nil
}

// keyCharset returns the character set of file.dkey, or "" when it cannot
// be told (no such table yet, no connection: the pool reports that).
func keyCharset(ctx context.Context, cfg *mysql.Config) string {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return ""
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var cs sql.NullString
	err = db.QueryRowContext(cctx, `SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'file' AND COLUMN_NAME = 'dkey'`).Scan(&cs)
	if err != nil || !cs.Valid {
		err = db.QueryRowContext(cctx, "SELECT @@character_set_database").Scan(&cs)
	}
	if err != nil || !cs.Valid {
		return ""
	}
	return cs.String
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
}

// clearFsckLog uses TRUNCATE as the original does on MySQL (it also
// restarts logid at 1).
func (d *mysqlDialect) clearFsckLog(ctx context.Context, s *Store) error {
	return s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("TRUNCATE TABLE fsck_log")
		return err
	})
}
