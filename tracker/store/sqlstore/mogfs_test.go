package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/mogilefs-go/mogilefs/internal/mogtest/mysqltest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/storetest"
)

func mogfsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mogfsOpen sets up a database and opens a store on it, with mogfs_attr.
func mogfsOpen(t *testing.T, cfg Config) *Store {
	t.Helper()
	ctx := mogfsCtx(t)
	if err := Setup(ctx, cfg, SetupOptions{}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetupMogfs(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// mogfsSQLiteDSN names a new SQLite file. (This package's own tests cannot use
// mogtest, which imports it.)
func mogfsSQLiteDSN(t *testing.T) string {
	return "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "mogilefs.sqlite")
}

// mysqlWithCollation makes a MariaDB database, on the server named by
// MOGTEST_MYSQL_DSN as mogtest.NewMySQL does, whose default (and so
// file.dkey's) character set and collation are the given ones; charset
// "binary" makes dkey a VARBINARY column.
func mysqlWithCollation(t *testing.T, charset, collation string) (Config, *sql.DB) {
	t.Helper()
	m := mysqltest.New(t, charset, collation)
	mc, err := mysql.ParseDSN(m.GoDSN)
	if err != nil {
		t.Fatal(err)
	}
	mc.InterpolateParams = true // as the store's pool: EXPLAIN sees the values
	raw, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}, raw
}

// forceCollated makes a store take the path for collations that do not
// order as bytes, whatever its database's collation.
func forceCollated(s *Store) {
	s.mogfs.mu.Lock()
	s.mogfs.probed, s.mogfs.bytewise = true, false
	s.mogfs.mu.Unlock()
}

// mogfsCollations are the MariaDB collations the mogfs tests run on,
// besides the server default (which sqlstore_test's conformance run
// covers), and whether each orders keys as bytes.
var mogfsCollations = []struct {
	charset, collation string
	bytewise           bool
}{
	{"latin1", "latin1_nopad_bin", true},
	{"latin1", "latin1_bin", false}, // PAD SPACE
	{"utf8mb4", "utf8mb4_general_ci", false},
	{"utf8mb4", "utf8mb4_nopad_bin", true},
	{"binary", "", true}, // dkey is VARBINARY
}

// emptyFiles deletes the rows the mogfs tests write, so that one database
// serves several tests (setting up a MariaDB database takes seconds).
func emptyFiles(t *testing.T, raw *sql.DB) {
	t.Helper()
	for _, table := range []string{"file", "file_on", "tempfile", "file_to_replicate", "file_to_delete2", "file_to_queue", "checksum", "mogfs_attr"} {
		if _, err := raw.Exec("DELETE FROM " + table); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMogfsCollations runs the mogfs conformance tests on databases whose
// file.dkey has another collation than the server default: binary ones,
// where keys differing only in case coexist, PAD SPACE and other
// case-insensitive ones. It also checks which path each one takes.
func TestMogfsCollations(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := mogfsOpen(t, Config{DSN: mogfsSQLiteDSN(t)})
		if b, err := s.keysBytewise(mogfsCtx(t)); err != nil || !b {
			t.Fatalf("SQLite BINARY: bytewise %v, %v", b, err)
		}
	})
	for _, c := range mogfsCollations {
		t.Run(c.charset+"_"+c.collation, func(t *testing.T) {
			t.Parallel()
			cfg, raw := mysqlWithCollation(t, c.charset, c.collation)
			s := mogfsOpen(t, cfg)
			if b, err := s.keysBytewise(mogfsCtx(t)); err != nil || b != c.bytewise {
				t.Fatalf("bytewise %v, %v; want %v", b, err, c.bytewise)
			}
			storetest.RunMogfs(t, func(t *testing.T) store.Store {
				emptyFiles(t, raw)
				return s
			})
		})
	}
}

// TestMogfsCollatedPath runs the conformance tests through the path for
// collations that do not order as bytes on databases that do, so that
// both paths are checked on both engines.
func TestMogfsCollatedPath(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		storetest.RunMogfs(t, func(t *testing.T) store.Store {
			s := mogfsOpen(t, Config{DSN: mogfsSQLiteDSN(t)})
			forceCollated(s)
			return s
		})
	})
	t.Run("mariadb_nopad_bin", func(t *testing.T) {
		cfg, raw := mysqlWithCollation(t, "latin1", "latin1_nopad_bin")
		s := mogfsOpen(t, cfg)
		forceCollated(s)
		storetest.RunMogfs(t, func(t *testing.T) store.Store {
			emptyFiles(t, raw)
			return s
		})
	})
}

// TestMogfsCaseBothExist checks on binary collations that keys differing
// only in case are both kept and listed (the conformance test adapts to
// what the database holds; this one insists).
func TestMogfsCaseBothExist(t *testing.T) {
	check := func(t *testing.T, s *Store) {
		ctx := mogfsCtx(t)
		for _, k := range []string{"a/X", "a/x", "A/x"} {
			fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: k, DevIDs: []int{1}})
			if err == nil {
				_, err = s.CommitFile(ctx, store.CloseFile{FID: fid, DevID: 1, DomainID: 1, Key: k, Length: 1})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.MogfsListDir(ctx, 1, "a/", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 2 || p.Entries[0].Name != "X" || p.Entries[1].Name != "x" {
			t.Fatalf("a/ lists %+v", p.Entries)
		}
		p, err = s.MogfsListDir(ctx, 1, "", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 2 || p.Entries[0].Name != "A" || p.Entries[1].Name != "a" {
			t.Fatalf("top lists %+v", p.Entries)
		}
		res, err := s.MogfsRenamePrefix(ctx, 1, "a/", "A/")
		if err == nil {
			t.Fatalf("rename a/ onto non-empty A/: %+v", res)
		}
		res, err = s.MogfsRenamePrefix(ctx, 1, "A/", "b/")
		if err != nil || res.Count != 1 {
			t.Fatalf("rename A/ to b/: %+v %v", res, err)
		}
		l, err := s.MogfsLookup(ctx, 1, "A")
		if err != nil || l.Dir || l.File != nil {
			t.Fatalf("lookup A after moving it: %+v %v", l, err)
		}
		l, err = s.MogfsLookup(ctx, 1, "a")
		if err != nil || !l.Dir {
			t.Fatalf("lookup a: %+v %v", l, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { check(t, mogfsOpen(t, Config{DSN: mogfsSQLiteDSN(t)})) })
	t.Run("latin1_nopad_bin", func(t *testing.T) {
		cfg, _ := mysqlWithCollation(t, "latin1", "latin1_nopad_bin")
		check(t, mogfsOpen(t, cfg))
	})
	t.Run("latin1_bin", func(t *testing.T) {
		cfg, _ := mysqlWithCollation(t, "latin1", "latin1_bin")
		check(t, mogfsOpen(t, cfg))
	})
}

// fillFiles inserts n file rows (fids from firstFID) under keys made by
// key(i), straight into the table, many per statement.
func fillFiles(t *testing.T, db *sql.DB, dmid int, firstFID, n int, key func(i int) string) {
	t.Helper()
	const batch = 500
	for i := 0; i < n; i += batch {
		var vals []string
		var args []any
		for j := i; j < min(n, i+batch); j++ {
			vals = append(vals, "(?, ?, ?, 1, 0, 1)")
			args = append(args, firstFID+j, dmid, key(j))
		}
		if _, err := db.Exec("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES "+strings.Join(vals, ", "), args...); err != nil {
			t.Fatal(err)
		}
	}
}

// explainKey is a plan summary: per table, its access type and index.
type explainRow struct {
	table, typ, key, extra string
}

func explainMySQL(t *testing.T, db *sql.DB, q string, args ...any) []explainRow {
	t.Helper()
	rows, err := db.Query("EXPLAIN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []explainRow
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var r explainRow
		for i, c := range cols {
			switch c {
			case "table":
				r.table = vals[i].String
			case "type":
				r.typ = vals[i].String
			case "key":
				r.key = vals[i].String
			case "Extra":
				r.extra = vals[i].String
			}
		}
		out = append(out, r)
	}
	return out
}

// TestMogfsPlanMySQL checks with EXPLAIN on MariaDB that the listing of a
// byte-ordered collation is an index range read of file joined to
// mogfs_attr by primary key, with no sort, and counts the index reads of
// a whole listing (one seek per directory entry); and that the collated
// path and the prefix rename read a range of the index, not the table.
func TestMogfsPlanMySQL(t *testing.T) {
	ctx := mogfsCtx(t)
	const rows, subdirs = 20000, 50
	run := func(t *testing.T, charset, collation string, bytewise bool) {
		cfg, raw := mysqlWithCollation(t, charset, collation)
		s := mogfsOpen(t, cfg)
		// d00/ .. d49/, each with 50 subdirectories of 8 files.
		fillFiles(t, raw, 1, 1000000, rows, func(i int) string {
			return fmt.Sprintf("d%02d/sub%03d/f%05d", i%50, (i/50)%subdirs, i)
		})
		fillFiles(t, raw, 2, 2000000, rows, func(i int) string { return fmt.Sprintf("other/%05d", i) })
		if _, err := raw.Exec("ANALYZE TABLE file"); err != nil {
			t.Fatal(err)
		}
		if b, _ := s.keysBytewise(ctx); b != bytewise {
			t.Fatalf("bytewise %v", b)
		}
		if bytewise {
			for _, strict := range []bool{false, true} {
				checkListPlan(t, explainMySQL(t, raw, listQuery(strict, true), 1, "d07/", "d070", 16))
				checkListPlan(t, explainMySQL(t, raw, listQuery(strict, false), 1, "d07/", 16))
				checkListPlan(t, explainMySQL(t, raw, listQuery(strict, false), 1, "", 16))
			}
		} else {
			cond, cargs := s.underPrefix("d07/")
			q := "SELECT " + s.keyBytes() + " AS p FROM file WHERE dmid = ? AND " + cond + " GROUP BY p"
			plan := explainMySQL(t, raw, q, append([]any{1}, cargs...)...)
			if len(plan) != 1 || plan[0].typ != "range" || plan[0].key != "dkey" {
				t.Fatalf("collated listing plan %+v, want a range of index dkey", plan)
			}
		}
		// The prefix rename's UPDATE reads a range of the index.
		cond, cargs := "dkey >= ? AND dkey < ?", []any{"d07/", "d070"}
		if !bytewise {
			cond, cargs = s.underPrefix("d07/")
		}
		plan := explainMySQL(t, raw, "UPDATE file SET dkey = CONCAT(CAST(? AS BINARY), SUBSTRING(CAST(dkey AS BINARY), ?)) WHERE dmid = ? AND "+cond,
			append([]any{"e/", 5, 1}, cargs...)...)
		if len(plan) != 1 || plan[0].typ != "range" || plan[0].key != "dkey" {
			t.Fatalf("rename prefix plan %+v, want a range of index dkey", plan)
		}

		// Count the index reads of whole listings on one connection.
		s.rdb.SetMaxOpenConns(1)
		reads := func(f func()) (key, next int) {
			if _, err := s.rdb.Exec("FLUSH STATUS"); err != nil {
				t.Fatal(err)
			}
			f()
			rows, err := s.rdb.Query("SHOW SESSION STATUS LIKE 'Handler_read_%'")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				var n int
				rows.Scan(&name, &n)
				switch name {
				case "Handler_read_key":
					key = n
				case "Handler_read_next":
					next = n
				}
			}
			return key, next
		}
		var page store.MogfsDirPage
		key, next := reads(func() {
			var err error
			page, err = s.MogfsListDir(ctx, 1, "d07/", "", 1000)
			if err != nil {
				t.Fatal(err)
			}
		})
		if len(page.Entries) != subdirs || page.Next != "" {
			t.Fatalf("d07/ lists %d entries next %q, want %d directories", len(page.Entries), page.Next, subdirs)
		}
		under := rows / 50
		t.Logf("%s: listing d07/ (%d directories, %d keys under it) read the index with %d seeks and %d next reads", collation, subdirs, under, key, next)
		// Seeks: one per statement (a first read, then one per directory
		// entry) plus one primary key lookup in mogfs_attr per row read
		// (a row per directory entry, and the first read's batch), and
		// the read of mogfs_name's range of the prefix (its long keys
		// and links; the optimizer's index dives of a prefix index
		// count too: namesReads).
		const namesReads = 16
		if maxSeeks := 2*(subdirs+1) + listBatch + namesReads; bytewise && (key > maxSeeks || next > 2*listBatch) {
			t.Fatalf("listing d07/: %d seeks and %d next reads, want at most %d and %d", key, next, maxSeeks, 2*listBatch)
		}
		if !bytewise && next > under+10 {
			t.Fatalf("listing d07/: %d next reads, want about the %d keys under it", next, under)
		}
		key, next = reads(func() {
			p, err := s.MogfsListDir(ctx, 1, "", "", 10)
			if err != nil || len(p.Entries) != 10 || p.Next != "d09/" {
				t.Fatalf("top page: %+v %v", p, err)
			}
		})
		t.Logf("%s: first page of the top level (10 of 50 directories over %d keys): %d seeks and %d next reads", collation, rows, key, next)
		if bytewise && (key > 2*11+listBatch || next > 2*listBatch) {
			t.Fatalf("top page: %d seeks and %d next reads", key, next)
		}
		key, next = reads(func() {
			p, err := s.MogfsListDir(ctx, 1, "", "d40/", 5)
			if err != nil || len(p.Entries) != 5 || p.Entries[0].Name != "d41" || p.Next != "d45/" {
				t.Fatalf("top page after d40/: %+v %v", p, err)
			}
		})
		t.Logf("%s: a top level page from d40/ on: %d seeks and %d next reads", collation, key, next)
		if bytewise && (key > 2*6+listBatch || next > 2*listBatch) {
			t.Fatalf("top page after d40/: %d seeks and %d next reads", key, next)
		}
	}
	t.Run("latin1_nopad_bin", func(t *testing.T) { run(t, "latin1", "latin1_nopad_bin", true) })
	t.Run("latin1_swedish_ci", func(t *testing.T) { run(t, "latin1", "latin1_swedish_ci", false) })
}

// checkListPlan: f read through index dkey in its order (EXPLAIN may say
// "ref" on dmid when the range holds most of the domain: MariaDB still
// seeks to the range's start then, which the Handler_read counts of
// TestMogfsPlanMySQL show), mogfs_attr by primary key.
func checkListPlan(t *testing.T, plan []explainRow) {
	t.Helper()
	if len(plan) != 2 || plan[0].table != "f" || plan[0].typ != "range" && plan[0].typ != "ref" || plan[0].key != "dkey" ||
		strings.Contains(plan[0].extra, "filesort") || strings.Contains(plan[0].extra, "temporary") ||
		plan[1].table != "a" || plan[1].typ != "eq_ref" || plan[1].key != "PRIMARY" {
		t.Fatalf("listing plan %+v: want a range of f's index dkey without a sort, and a by primary key", plan)
	}
}

// TestMogfsPlanSQLite checks the same with EXPLAIN QUERY PLAN on SQLite.
func TestMogfsPlanSQLite(t *testing.T) {
	dsn := mogfsSQLiteDSN(t)
	s := mogfsOpen(t, Config{DSN: dsn})
	path := strings.TrimPrefix(dsn, "DBI:SQLite:dbname=")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = s
	for _, strict := range []bool{false, true} {
		for _, bounded := range []bool{false, true} {
			args := []any{1, "d07/"}
			if bounded {
				args = append(args, "d070")
			}
			args = append(args, 16)
			rows, err := raw.Query("EXPLAIN QUERY PLAN "+listQuery(strict, bounded), args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			all := strings.Join(plan, "; ")
			wantRange := "dkey>?"
			if bounded {
				wantRange = "dkey>? AND dkey<?"
			}
			if len(plan) != 2 || !strings.HasPrefix(plan[0], "SEARCH f USING INDEX") || !strings.Contains(plan[0], "(dmid=? AND "+wantRange+")") ||
				!strings.HasPrefix(plan[1], "SEARCH a USING INTEGER PRIMARY KEY") || strings.Contains(all, "TEMP B-TREE") {
				t.Fatalf("plan of %s: %q", listQuery(strict, bounded), plan)
			}
		}
	}
}

// TestMogfsAttrUpgrade starts on a mogfs_attr made by an earlier tracker
// (mtime and mode only): SetupMogfs adds the later columns, the old row
// reads with them unrecorded, and a second SetupMogfs changes nothing.
func TestMogfsAttrUpgrade(t *testing.T) {
	run := func(t *testing.T, cfg Config, db *sql.DB, oldTable string) {
		ctx := mogfsCtx(t)
		if err := Setup(ctx, cfg, SetupOptions{}); err != nil {
			t.Fatalf("setup: %v", err)
		}
		for _, q := range []string{oldTable,
			"INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (7, 1, 'k', 3, 0, 1)",
			"INSERT INTO mogfs_attr (fid, mtime, mtime_nsec, mode) VALUES (7, 1000, 5, 384)"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		for range 2 {
			if err := s.SetupMogfs(ctx); err != nil {
				t.Fatalf("SetupMogfs over the old table: %v", err)
			}
		}
		l, err := s.MogfsLookup(ctx, 1, "k")
		if err != nil || l.File == nil || l.File.Attr == nil {
			t.Fatalf("lookup: %+v %v", l, err)
		}
		if *l.File.Attr != (store.MogfsAttr{Mtime: 1000, MtimeNsec: 5, Mode: 384}) {
			t.Fatalf("old row after the upgrade: %+v", *l.File.Attr)
		}
		u := store.MogfsAttrUpdate{SetUID: true, SetCtime: true, Attr: store.MogfsAttr{UID: 42, Ctime: 9, CtimeNsec: 1}}
		if _, err := s.MogfsSetAttr(ctx, 1, "k", u); err != nil {
			t.Fatal(err)
		}
		l, _ = s.MogfsLookup(ctx, 1, "k")
		want := store.MogfsAttr{Mtime: 1000, MtimeNsec: 5, Mode: 384, UID: 42, HasUID: true, Ctime: 9, CtimeNsec: 1, HasCtime: true}
		if *l.File.Attr != want {
			t.Fatalf("after setting uid and ctime: %+v", *l.File.Attr)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mogilefs.sqlite")
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		run(t, Config{DSN: "DBI:SQLite:dbname=" + path}, db,
			"CREATE TABLE mogfs_attr (fid INTEGER NOT NULL PRIMARY KEY, mtime INTEGER NOT NULL, mtime_nsec INTEGER NOT NULL DEFAULT 0, mode INTEGER NOT NULL)")
	})
	t.Run("mariadb", func(t *testing.T) {
		cfg, raw := mysqlWithCollation(t, "latin1", "latin1_swedish_ci")
		run(t, cfg, raw, "CREATE TABLE mogfs_attr (fid BIGINT UNSIGNED NOT NULL, mtime BIGINT NOT NULL, mtime_nsec INT UNSIGNED NOT NULL DEFAULT 0,"+
			" mode SMALLINT UNSIGNED NOT NULL, PRIMARY KEY (fid)) ENGINE=InnoDB")
	})
}
