package sqlstore

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The mogfs commands (docs/mogfs.md §8) on SQL: the mogfs_attr table and
// byte-ordered directory operations on file.dkey.
//
// # Collations
//
// Keys compare as bytes, but file.dkey is compared by the database in its
// collation, and the (dmid, dkey) index is ordered by it. SQLite's BINARY
// and MySQL's binary, *_nopad_bin and *_0900_bin collations order as bytes
// do: there the commands use the index directly (a listing page is one
// range read plus one seek per directory entry). MySQL's usual collations
// (latin1_swedish_ci, the default of a database made by the original
// mogdbsetup, utf8mb4_*_ci) fold case, and even the PAD SPACE *_bin ones
// order "a\x01" before "a": no index seek can jump exactly past a
// subtree or start exactly after a key. There every condition is a
// collation range that contains all the wanted keys (a LIKE prefix, which
// the index serves and which ignores no byte) narrowed by a byte
// comparison on CAST(dkey AS BINARY), and a listing page reads every key
// under its prefix once (inside the server) to sort the level by bytes.
// Both paths give the same answers; mogfsState.bytewise says which one a
// store takes.

//go:embed mogfs_attr.mysql.sql
var mogfsAttrMySQL string

//go:embed mogfs_attr.sqlite.sql
var mogfsAttrSQLite string

var _ store.MogfsStore = (*Store)(nil)

// mogfsState is what a Store learned about mogfs_attr and the collation
// of file.dkey; the zero value knows nothing yet.
type mogfsState struct {
	mu       sync.Mutex
	probed   bool
	bytewise bool
	// padBin: the collation of dkey (when it has one only) is a PAD
	// SPACE *_bin one; charset is its character set (listkeys.go).
	padBin  bool
	charset string
	// noTable: SetupMogfs could not create mogfs_attr.
	noTable bool
}

// mogfsAttrDDL returns the CREATE TABLE IF NOT EXISTS of mogfs_attr.
func mogfsAttrDDL(b Backend) string {
	ddl := mogfsAttrMySQL
	if b == SQLite {
		ddl = mogfsAttrSQLite
	}
	var lines []string
	for _, l := range strings.Split(ddl, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// setupMogfsTable creates mogfs_attr unless it exists; status gets the
// statement run (Setup's Status).
func (s *Store) setupMogfsTable(ctx context.Context, status func(string)) error {
	var exists bool
	err := s.read(ctx, func(r *runner) error {
		q := "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'mogfs_attr'"
		if s.target.Backend == SQLite {
			q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'mogfs_attr'"
		}
		var n int
		if err := r.queryRow(q).Scan(&n); err != nil {
			return err
		}
		exists = n > 0
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: %s: look for table mogfs_attr: %w", s.target.Where(), err)
	}
	if exists {
		return s.addMogfsColumns(ctx, status)
	}
	ddl := mogfsAttrDDL(s.target.Backend)
	if status != nil {
		status("Running SQL: " + ddl + ";")
	}
	// No transaction of its own: MySQL commits DDL implicitly; SQLite
	// runs it as a step of the writer's transaction.
	err = s.autocommit(ctx, func(r *runner) error {
		_, err := r.ex.ExecContext(ctx, ddl)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: %s: create table mogfs_attr: %w", s.target.Where(), err)
	}
	return nil
}

// mogfsLaterColumns are the columns of mogfs_attr that a table made by
// an earlier tracker lacks, with their definitions on MySQL and SQLite.
var mogfsLaterColumns = []struct{ name, mysql, sqlite string }{
	{"uid", "INT UNSIGNED NULL", "INTEGER"},
	{"gid", "INT UNSIGNED NULL", "INTEGER"},
	{"atime", "BIGINT NULL", "INTEGER"},
	{"atime_nsec", "INT UNSIGNED NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"},
	{"ctime", "BIGINT NULL", "INTEGER"},
	{"ctime_nsec", "INT UNSIGNED NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"},
	{"rdev", "BIGINT UNSIGNED NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0"},
}

// addMogfsColumns adds the columns an earlier tracker's mogfs_attr lacks
// (owner, atime, ctime, rdev). Two trackers starting at once may both
// try: a column found present afterwards is not an error.
func (s *Store) addMogfsColumns(ctx context.Context, status func(string)) error {
	have := map[string]bool{}
	cols := func() error {
		return s.read(ctx, func(r *runner) error {
			q := "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'mogfs_attr'"
			if s.target.Backend == SQLite {
				q = "SELECT name FROM pragma_table_info('mogfs_attr')"
			}
			rows, err := r.ex.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					return err
				}
				have[strings.ToLower(n)] = true
			}
			return rows.Err()
		})
	}
	if err := cols(); err != nil {
		return fmt.Errorf("sqlstore: %s: columns of mogfs_attr: %w", s.target.Where(), err)
	}
	for _, c := range mogfsLaterColumns {
		if have[c.name] {
			continue
		}
		def := c.mysql
		if s.target.Backend == SQLite {
			def = c.sqlite
		}
		ddl := "ALTER TABLE mogfs_attr ADD COLUMN " + c.name + " " + def
		if status != nil {
			status("Running SQL: " + ddl + ";")
		}
		err := s.autocommit(ctx, func(r *runner) error {
			_, err := r.ex.ExecContext(ctx, ddl)
			return err
		})
		if err != nil {
			clear(have)
			if cerr := cols(); cerr == nil && have[c.name] {
				continue // another tracker added it
			}
			return fmt.Errorf("sqlstore: %s: add column mogfs_attr.%s: %w", s.target.Where(), c.name, err)
		}
	}
	return nil
}

// SetupMogfs creates the mogfs_attr table when it is missing and learns
// the collation of file.dkey. A tracker calls it at start; on failure it
// should not offer the mogfs commands.
func (s *Store) SetupMogfs(ctx context.Context) error {
	err := s.setupMogfsTable(ctx, nil)
	if err == nil {
		err = s.setupMogfsNames(ctx, nil)
	}
	s.mogfs.mu.Lock()
	s.mogfs.noTable = err != nil
	s.mogfs.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = s.keysBytewise(ctx)
	return err
}

// keysBytewise reports whether the database orders and compares file.dkey
// exactly as bytes (asked once per store).
func (s *Store) keysBytewise(ctx context.Context) (bool, error) {
	s.mogfs.mu.Lock()
	defer s.mogfs.mu.Unlock()
	if s.mogfs.probed {
		return s.mogfs.bytewise, nil
	}
	var colls []string
	err := s.read(ctx, func(r *runner) error {
		colls = colls[:0]
		q := `SELECT COALESCE(COLLATION_NAME, 'binary') FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'file' AND COLUMN_NAME = 'dkey'`
		if s.target.Backend == SQLite {
			// The collation of dkey in the unique (dmid, dkey) index,
			// which is the column's unless the index names another.
			q = `SELECT x.coll FROM pragma_index_list('file') AS l, pragma_index_xinfo(l.name) AS x
				WHERE l."unique" = 1 AND x.name = 'dkey'`
		}
		rows, err := r.ex.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c sql.NullString
			if err := rows.Scan(&c); err != nil {
				return err
			}
			colls = append(colls, c.String)
		}
		return rows.Err()
	})
	if err != nil {
		return false, fmt.Errorf("sqlstore: %s: collation of file.dkey: %w", s.target.Where(), err)
	}
	s.mogfs.bytewise = len(colls) > 0
	if len(colls) == 1 && s.target.Backend == MySQL {
		c := strings.ToLower(colls[0])
		s.mogfs.padBin = strings.HasSuffix(c, "_bin") && !bytewiseCollation(MySQL, c)
		s.mogfs.charset, _, _ = strings.Cut(c, "_")
	}
	for _, c := range colls {
		if !bytewiseCollation(s.target.Backend, c) {
			s.mogfs.bytewise = false
		}
	}
	s.mogfs.probed = true
	return s.mogfs.bytewise, nil
}

// bytewiseCollation reports whether a collation orders strings as their
// bytes, with no padding: SQLite's BINARY; MySQL's binary strings and
// the NO PAD binary collations (a PAD SPACE *_bin collation orders
// "a\x01" before "a" and deems "a" equal to "a ").
func bytewiseCollation(b Backend, coll string) bool {
	c := strings.ToLower(coll)
	if b == SQLite {
		return c == "binary"
	}
	return c == "binary" || strings.HasSuffix(c, "_nopad_bin") || strings.HasSuffix(c, "_0900_bin")
}

// ---- SQL pieces ----

// mogfsFileCols and mogfsFileFrom read a file row with its attributes.
const (
	mogfsFileCols = "f.dkey, f.fid, f.dmid, f.length, f.classid, f.devcount, a.mtime, a.mtime_nsec, a.mode," +
		" a.uid, a.gid, a.atime, a.atime_nsec, a.ctime, a.ctime_nsec, a.rdev"
	mogfsFileFrom = " FROM file f LEFT JOIN mogfs_attr a ON a.fid = f.fid"
)

func scanMogfsFile(sc interface{ Scan(...any) error }) (store.MogfsFile, error) {
	var f store.MogfsFile
	var key sql.NullString
	var length, mtime, nsec, mode, uid, gid, atime, ansec, ctime, cnsec, rdev sql.NullInt64
	if err := sc.Scan(&key, &f.FID, &f.DomainID, &length, &f.ClassID, &f.DevCount, &mtime, &nsec, &mode,
		&uid, &gid, &atime, &ansec, &ctime, &cnsec, &rdev); err != nil {
		return f, err
	}
	f.Key, f.Length = key.String, length.Int64
	if mtime.Valid {
		f.Attr = &store.MogfsAttr{Mtime: mtime.Int64, MtimeNsec: int(nsec.Int64), Mode: int(mode.Int64),
			UID: uint32(uid.Int64), HasUID: uid.Valid, GID: uint32(gid.Int64), HasGID: gid.Valid,
			Atime: atime.Int64, AtimeNsec: int(ansec.Int64), HasAtime: atime.Valid,
			Ctime: ctime.Int64, CtimeNsec: int(cnsec.Int64), HasCtime: ctime.Valid,
			Rdev: rdev.Int64}
		if !atime.Valid {
			f.Attr.AtimeNsec = 0
		}
		if !ctime.Valid {
			f.Attr.CtimeNsec = 0
		}
	}
	return f, nil
}

// replaceMogfsAttr writes a fid's whole attribute row; mogfsAttrValues
// are its arguments.
const replaceMogfsAttr = "REPLACE INTO mogfs_attr (fid, mtime, mtime_nsec, mode, uid, gid, atime, atime_nsec, ctime, ctime_nsec, rdev)" +
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

func mogfsAttrValues(fid int64, a store.MogfsAttr) []any {
	null := func(v int64, ok bool) any {
		if !ok {
			return nil
		}
		return v
	}
	return []any{fid, a.Mtime, a.MtimeNsec, a.Mode, null(int64(a.UID), a.HasUID), null(int64(a.GID), a.HasGID),
		null(a.Atime, a.HasAtime), a.AtimeNsec, null(a.Ctime, a.HasCtime), a.CtimeNsec, a.Rdev}
}

// keyBytes is dkey as a byte string, which compares byte by byte.
func (s *Store) keyBytes() string {
	if s.target.Backend == SQLite {
		return "CAST(dkey AS BLOB)"
	}
	return "CAST(dkey AS BINARY)"
}

// paramBytes is a string parameter as a byte string.
func (s *Store) paramBytes() string {
	if s.target.Backend == SQLite {
		return "CAST(? AS BLOB)"
	}
	return "CAST(? AS BINARY)"
}

// headBytes returns the first ? bytes of a byte string expression.
func (s *Store) headBytes(expr string) string {
	if s.target.Backend == SQLite {
		return "substr(" + expr + ", 1, ?)"
	}
	return "LEFT(" + expr + ", ?)"
}

// underPrefix is the condition "dkey starts with the bytes of prefix" for
// a collation that does not order as bytes: an index range that holds
// every such key (and others, which the collation deems equal or which
// sort between) narrowed by a byte comparison. Its arguments follow.
//
// For a prefix Q + "/" the range is dkey > Q AND dkey < Q + "0": every key
// Q + "/" + r is decided against both bounds at the "/" (space < "/" <
// "0" in every collation), whatever r holds. A LIKE range is narrower but
// not safe: MariaDB's index range for LIKE 'a/%' under the PAD SPACE
// latin1_bin leaves out "a/\x01".
func (s *Store) underPrefix(prefix string) (string, []any) {
	exact := s.headBytes(s.keyBytes()) + " = " + s.paramBytes()
	if q, ok := strings.CutSuffix(prefix, "/"); ok {
		return "dkey > ? AND dkey < ? AND " + exact, []any{q, q + "0", len(prefix), prefix}
	}
	return "dkey LIKE ? ESCAPE ? AND " + exact, []any{likePrefix(prefix), `\`, len(prefix), prefix}
}

// prefixEnd is the first key after every key starting with prefix (which
// ends in "/"): the prefix with its last "/" made "0".
func prefixEnd(prefix string) string {
	return prefix[:len(prefix)-1] + "0"
}

// fileExact reads the row of exactly key (bytes), with its attributes;
// ok is false when there is none. Under a collation that deems other
// strings equal, the row found may be another key: it does not count.
func (r *runner) fileExact(dmid int, key string, lock bool) (store.MogfsFile, bool, error) {
	q := "SELECT " + mogfsFileCols + mogfsFileFrom + " WHERE f.dmid = ? AND f.dkey = ?"
	if lock {
		q += "{forupdate}"
	}
	f, err := scanMogfsFile(r.queryRow(q, dmid, key))
	if errors.Is(err, sql.ErrNoRows) || err == nil && f.Key != key {
		return store.MogfsFile{}, false, nil
	}
	return f, err == nil, err
}

// filesExact reads the rows of exactly these keys, by key.
func (r *runner) filesExact(dmid int, keys []string) (map[string]store.MogfsFile, error) {
	out := make(map[string]store.MogfsFile, len(keys))
	const chunk = 1000
	for len(keys) > 0 {
		n := min(len(keys), chunk)
		args := make([]any, 0, n+1)
		args = append(args, dmid)
		for _, k := range keys[:n] {
			args = append(args, k)
		}
		q := "SELECT " + mogfsFileCols + mogfsFileFrom + " WHERE f.dmid = ? AND f.dkey IN (?" + strings.Repeat(", ?", n-1) + ")"
		rows, err := r.ex.QueryContext(r.ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			f, err := scanMogfsFile(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[f.Key] = f
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

// firstUnder returns the first key (in the index's order) that starts
// with the bytes of prefix, other than skip when skip is set; "" when
// there is none.
func (s *Store) firstUnder(r *runner, bytewise bool, dmid int, prefix, skip string, lock bool) (string, error) {
	var q string
	var args []any
	if bytewise {
		q = "SELECT dkey FROM file WHERE dmid = ? AND dkey >= ? AND dkey < ?"
		args = []any{dmid, prefix, prefixEnd(prefix)}
		if skip != "" {
			q = "SELECT dkey FROM file WHERE dmid = ? AND dkey > ? AND dkey < ?"
			args[1] = skip
		}
		q += " ORDER BY dkey LIMIT 1"
	} else {
		cond, cargs := s.underPrefix(prefix)
		q = "SELECT dkey FROM file WHERE dmid = ? AND " + cond
		args = append([]any{dmid}, cargs...)
		if skip != "" {
			q += " AND " + s.keyBytes() + " <> " + s.paramBytes()
			args = append(args, skip)
		}
		q += " LIMIT 1"
	}
	if lock {
		q += "{forupdate}"
	}
	var k string
	err := r.queryRow(q, args...).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return k, err
}

// ---- commands ----

// MogfsLookup finds the key's file row and whether it is a directory.
func (s *Store) MogfsLookup(ctx context.Context, dmid int, key string) (store.MogfsLookup, error) {
	bytewise, err := s.keysBytewise(ctx)
	if err != nil {
		return store.MogfsLookup{}, err
	}
	dir := key + "/"
	var out store.MogfsLookup
	// A key without a file row may be a name of mogfs_name (a hard
	// link), and a directory whose only keys are such names is known
	// there too.
	namesDir := func(r *runner) error {
		if out.File == nil {
			f, ok, err := r.named(dmid, key, false)
			if err != nil {
				return err
			}
			if ok {
				if err := r.withNlink(dmid, &f); err != nil {
					return err
				}
				out.File = &f
			}
		}
		if out.File != nil || out.Dir {
			return nil
		}
		var err error
		out.Dir, out.DirAttr, err = r.nameDir(dmid, dir)
		return err
	}
	if len(key) > store.MaxKeyLen {
		err = s.read(ctx, func(r *runner) error {
			out = store.MogfsLookup{}
			f, ok, err := r.resolve(dmid, key, false)
			if err != nil {
				return err
			}
			if ok {
				if err := r.withNlink(dmid, &f); err != nil {
					return err
				}
				out.File = &f
			}
			out.Dir, out.DirAttr, err = r.nameDir(dmid, dir)
			return err
		})
		if err != nil {
			return store.MogfsLookup{}, fmt.Errorf("sqlstore: mogfs lookup %q in domain %d: %w", key, dmid, err)
		}
		return out, nil
	}
	if bytewise {
		err = s.read(ctx, func(r *runner) error {
			out, err = r.lookupBytewise(dmid, key)
			if err != nil {
				return err
			}
			return namesDir(r)
		})
		if err != nil {
			return store.MogfsLookup{}, fmt.Errorf("sqlstore: mogfs lookup %q in domain %d: %w", key, dmid, err)
		}
		return out, nil
	}
	err = s.read(ctx, func(r *runner) error {
		out = store.MogfsLookup{}
		found, err := r.filesExact(dmid, []string{key, dir})
		if err != nil {
			return err
		}
		if f, ok := found[key]; ok {
			out.File = &f
		}
		if m, ok := found[dir]; ok {
			out.Dir, out.DirAttr = true, m.Attr
			return nil
		}
		first, err := s.firstUnder(r, bytewise, dmid, dir, "", false)
		out.Dir = first != ""
		if err != nil {
			return err
		}
		return namesDir(r)
	})
	if err != nil {
		return store.MogfsLookup{}, fmt.Errorf("sqlstore: mogfs lookup %q in domain %d: %w", key, dmid, err)
	}
	return out, nil
}

// mogfsLookupBytewise reads, in one statement (one prepared statement,
// one implicit read transaction), the row of the key (first argument
// pair) and the first row under the key's directory prefix (the range
// [key+"/", key+"0"), whose first key is the marker when there is one),
// for a collation that orders as bytes.
const mogfsLookupBytewise = "SELECT * FROM (SELECT " + mogfsFileCols + mogfsFileFrom + " WHERE f.dmid = ? AND f.dkey = ?) k" +
	" UNION ALL SELECT * FROM (SELECT " + mogfsFileCols + mogfsFileFrom +
	" WHERE f.dmid = ? AND f.dkey >= ? AND f.dkey < ? ORDER BY f.dkey LIMIT 1) d"

// lookupBytewise is MogfsLookup where the collation orders as bytes.
func (r *runner) lookupBytewise(dmid int, key string) (store.MogfsLookup, error) {
	var out store.MogfsLookup
	dir := key + "/"
	rows, err := r.query(mogfsLookupBytewise, dmid, key, dmid, dir, prefixEnd(dir))
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanMogfsFile(rows)
		if err != nil {
			return out, err
		}
		switch {
		case f.Key == key:
			out.File = &f
		case f.Key == dir:
			out.Dir, out.DirAttr = true, f.Attr
		case strings.HasPrefix(f.Key, dir):
			out.Dir = true
		}
	}
	return out, rows.Err()
}

// MogfsSetAttr sets fields of the attribute row of the key's current fid.
// The file row is read with a locking read (on MySQL; SQLite has one
// writer), so two updates of one key at once lose neither's fields.
func (s *Store) MogfsSetAttr(ctx context.Context, dmid int, key string, u store.MogfsAttrUpdate) (int64, error) {
	var fid int64
	err := s.write(ctx, func(r *runner) error {
		fid = 0
		f, ok, err := r.resolve(dmid, key, true)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		row := u.Default
		if f.Attr != nil {
			row = *f.Attr
		}
		if _, err := r.exec(replaceMogfsAttr, mogfsAttrValues(f.FID, u.Apply(row))...); err != nil {
			return err
		}
		fid = f.FID
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mogfs set attributes of %q in domain %d: %w", key, dmid, err)
	}
	return fid, nil
}

// DeleteMogfsAttr drops the attribute row of fid. It does nothing when
// SetupMogfs found it could not create the table.
func (s *Store) DeleteMogfsAttr(ctx context.Context, fid int64) error {
	s.mogfs.mu.Lock()
	noTable := s.mogfs.noTable
	s.mogfs.mu.Unlock()
	if noTable {
		return nil
	}
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM mogfs_attr WHERE fid = ?", fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete mogfs attributes of fid %d: %w", fid, err)
	}
	return nil
}
