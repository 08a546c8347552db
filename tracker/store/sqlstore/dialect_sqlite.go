package sqlstore

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect: modernc.org/sqlite, one writer connection, a read pool,
// named locks in the lock table.
type sqliteDialect struct {
	mu   sync.Mutex
	held map[string]bool // locks this store holds
}

func (*sqliteDialect) backend() Backend { return SQLite }

var sqliteReplacer = strings.NewReplacer(
	"{now}", "CAST(strftime('%s','now') AS INTEGER)",
	"{ignore}", "INSERT OR IGNORE",
	"{forupdate}", "",
)

func (*sqliteDialect) replacer() *strings.Replacer { return sqliteReplacer }
func (*sqliteDialect) prepared() bool              { return true }

func sqliteCode(err error) (int, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

// duplicate: a UNIQUE or PRIMARY KEY constraint failed.
func (*sqliteDialect) duplicate(err error) bool {
	code, ok := sqliteCode(err)
	return ok && (code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// retryable: SQLITE_BUSY or SQLITE_LOCKED (any extended form).
func (*sqliteDialect) retryable(err error) bool {
	code, ok := sqliteCode(err)
	return ok && (code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED)
}

// keyMatch: GLOB is case-sensitive, LIKE (case_sensitive_like off, the
// default we never change) is not, for ASCII letters as in the original.
func (*sqliteDialect) keyMatch(prefix string, caseSensitive bool) (string, []any) {
	if caseSensitive {
		var b strings.Builder
		for _, c := range prefix {
			switch c {
			case '*', '?', '[':
				b.WriteByte('[')
				b.WriteRune(c)
				b.WriteByte(']')
			default:
				b.WriteRune(c)
			}
		}
		b.WriteByte('*')
		return "dkey GLOB ?", []any{b.String()}
	}
	return `dkey LIKE ? ESCAPE '\'`, []any{likePrefix(prefix)}
}

// likePrefix escapes %, _ and \ and appends %.
func likePrefix(prefix string) string {
	var b strings.Builder
	for _, c := range prefix {
		if c == '%' || c == '_' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('%')
	return b.String()
}

func sqliteDSN(t Target, create, readOnly bool) string {
	pragmas := []string{"busy_timeout(10000)", "foreign_keys(0)", "synchronous(NORMAL)"}
	var base string
	q := url.Values{}
	switch {
	case t.Memory():
		base = ":memory:"
		pragmas = pragmas[:2]
	case t.URI:
		u, err := url.Parse(t.Path)
		if err == nil {
			q = u.Query()
		}
		base, _, _ = strings.Cut(t.Path, "?")
	default:
		base = "file:" + (&url.URL{Path: filepath.Clean(t.Path)}).EscapedPath()
		if !create {
			q.Set("mode", "rw")
		}
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
		if !t.Memory() {
			q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walAutoCheckpoint)+")")
		}
	}
	if t.Memory() {
		return base + "?" + q.Encode()
	}
	return base + "?" + q.Encode()
}

func openSQLite(ctx context.Context, s *Store, create bool) error {
	t := s.target
	s.d = &sqliteDialect{held: map[string]bool{}}
	if !t.URI && !t.Memory() && !create {
		if _, err := os.Stat(t.Path); err != nil {
			return fmt.Errorf("sqlstore: %s: %w", t.Where(), err)
		}
	}
	w, err := sql.Open("sqlite", sqliteDSN(t, create, false))
	if err != nil {
		return fmt.Errorf("sqlstore: open %s: %w", t.Where(), err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if t.Memory() {
		// An in-memory database lives in its one connection, which the
		// writer owns: it does the reads too.
		s.wdb = w
	} else {
		// WAL is switched on by Open, not by Setup: Setup must not write
		// to a file it is about to refuse.
		if !create {
			if _, err := w.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
				w.Close()
				return fmt.Errorf("sqlstore: open %s: %w", t.Where(), err)
			}
		}
		r, err := sql.Open("sqlite", sqliteDSN(t, false, true))
		if err != nil {
			w.Close()
			return fmt.Errorf("sqlstore: open %s: %w", t.Where(), err)
		}
		r.SetMaxOpenConns(4)
		r.SetMaxIdleConns(4)
		r.SetConnMaxIdleTime(0)
		sc, err := sql.Open("sqlite", sqliteDSN(t, false, true))
		if err != nil {
			w.Close()
			r.Close()
			return fmt.Errorf("sqlstore: open %s: %w", t.Where(), err)
		}
		n := scanConns(SQLite, s.cfg)
		sc.SetMaxOpenConns(n)
		sc.SetMaxIdleConns(n)
		sc.SetConnMaxIdleTime(0)
		s.wdb, s.rdb, s.sdb = w, r, sc
		if !create {
			ck, err := sql.Open("sqlite", sqliteDSN(t, false, false))
			if err != nil {
				w.Close()
				r.Close()
				sc.Close()
				return fmt.Errorf("sqlstore: open %s: %w", t.Where(), err)
			}
			ck.SetMaxOpenConns(1)
			ck.SetMaxIdleConns(1)
			ck.SetConnMaxIdleTime(0)
			s.ckpt = startCheckpointer(ck, s.log)
		}
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		s.wdb.Close()
		if s.rdb != nil {
			s.rdb.Close()
			s.sdb.Close()
		}
		return fmt.Errorf("sqlstore: open %s: %w", t.Where(), err)
	}
	return nil
}

// lockID is the original's lock table key: the first 4 bytes of MD5(name)
// as a big-endian number, masked to 31 bits.
func lockID(name string) int64 {
	sum := md5.Sum([]byte(name))
	return int64(binary.BigEndian.Uint32(sum[:4]) & 0x7fffffff)
}

const lockMaxAge = 3600 // seconds after which any lock row is stale

func (d *sqliteDialect) lock(ctx context.Context, s *Store, name string, timeout int) (bool, error) {
	if name == "" {
		return false, errors.New("sqlstore: empty lock name")
	}
	id := lockID(name)
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	wait := 10 * time.Millisecond
	for {
		var got bool
		err := s.write(ctx, func(r *runner) error {
			got = false
			_, err := r.exec("INSERT INTO lock (lockid, hostname, pid, acquiredat) VALUES (?, ?, ?, {now})", id, s.hostname, s.pid)
			if err == nil {
				got = true
				return nil
			}
			if !s.dup(err) {
				return err
			}
			stale, err := d.holderGone(r, s, id)
			if err != nil || !stale {
				return err
			}
			if _, err := r.exec("DELETE FROM lock WHERE lockid = ?", id); err != nil {
				return err
			}
			_, err = r.exec("INSERT INTO lock (lockid, hostname, pid, acquiredat) VALUES (?, ?, ?, {now})", id, s.hostname, s.pid)
			got = err == nil
			return err
		})
		if err != nil {
			return false, fmt.Errorf("sqlstore: lock %q: %w", name, err)
		}
		if got {
			d.mu.Lock()
			d.held[name] = true
			d.mu.Unlock()
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		sleep := min(wait, time.Until(deadline))
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(sleep):
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// holderGone reports whether the row holding lock id is stale: older than
// lockMaxAge, or held by a process of this host that no longer exists.
func (d *sqliteDialect) holderGone(r *runner, s *Store, id int64) (bool, error) {
	var host string
	var pid, at, now int64
	err := r.queryRow("SELECT hostname, pid, acquiredat, {now} FROM lock WHERE lockid = ?", id).Scan(&host, &pid, &at, &now)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil // released meanwhile
	}
	if err != nil {
		return false, err
	}
	if at+lockMaxAge < now {
		return true, nil
	}
	if host != s.hostname || pid == int64(s.pid) {
		return false, nil
	}
	return !processAlive(int(pid)), nil
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (d *sqliteDialect) unlock(ctx context.Context, s *Store, name string) error {
	d.mu.Lock()
	held := d.held[name]
	delete(d.held, name)
	d.mu.Unlock()
	if !held {
		return nil
	}
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM lock WHERE lockid = ? AND pid = ? AND hostname = ?", lockID(name), s.pid, s.hostname)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: unlock %q: %w", name, err)
	}
	return nil
}

func (d *sqliteDialect) releaseAll(s *Store) {
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
}

func (d *sqliteDialect) clearFsckLog(ctx context.Context, s *Store) error {
	return s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM fsck_log")
		return err
	})
}
