package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"
)

// filler writes file and file_on rows in bulk.
type filler struct {
	db      *sql.DB
	mysql   bool
	dmid    int
	classid int
	devid   int
	// docroot, if set, is the storage node's docroot: each file is also
	// written there (length fid%101) so that it exists on disk.
	docroot string
	files   *fileWriter
}

func openDB(kind, dsn string) (*sql.DB, error) {
	switch kind {
	case "sqlite":
		return sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(30000)&_pragma=synchronous(OFF)")
	case "mysql":
		return sql.Open("mysql", dsn)
	}
	return nil, fmt.Errorf("unknown -db %q (sqlite or mysql)", kind)
}

func newFiller(ctx context.Context, db *sql.DB, mysql bool, domain, class string) (*filler, error) {
	f := &filler{db: db, mysql: mysql}
	if err := db.QueryRowContext(ctx, "SELECT dmid FROM domain WHERE namespace = ?", domain).Scan(&f.dmid); err != nil {
		return nil, fmt.Errorf("domain %q: %w", domain, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT classid FROM class WHERE dmid = ? AND classname = ?", f.dmid, class).Scan(&f.classid); err != nil {
		return nil, fmt.Errorf("class %q: %w", class, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT MIN(devid) FROM device").Scan(&f.devid); err != nil {
		return nil, fmt.Errorf("first device: %w", err)
	}
	return f, nil
}

// keyAt is the i-th of n keys in key order: half of the n-r others are
// "f/%010d", then come the r keys "z/%08d" of the measured range, then the
// other half, "zz/%010d" (so that a listing of z/ has as many keys before
// its range as after it).
func keyAt(i, n, r int) string {
	before := (n - r) / 2
	switch {
	case i < before:
		return fmt.Sprintf("f/%010d", i)
	case i < before+r:
		return fmt.Sprintf("z/%08d", i-before)
	}
	return fmt.Sprintf("zz/%010d", i-before-r)
}

// otherKey is the i-th of the n-r keys outside the measured range.
func otherKey(i, n, r int) string {
	if before := (n - r) / 2; i >= before {
		i += r
	}
	return keyAt(i, n, r)
}

// fill inserts n files, batch rows per statement, in transactions of
// txRows rows, and moves the fid allocator past them.
func (f *filler) fill(ctx context.Context, n, r int) error {
	// Past the tempfile rows too: a storage node offering the fast path
	// already holds a lease of fids there.
	var maxFID int64
	for _, table := range []string{"file", "tempfile"} {
		var m int64
		if err := f.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(fid), 0) FROM "+table).Scan(&m); err != nil {
			return fmt.Errorf("max fid of %s: %w", table, err)
		}
		maxFID = max(maxFID, m)
	}
	const batch, txRows = 500, 100000
	start := time.Now()
	for done := 0; done < n; {
		tx, err := f.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		for end := min(n, done+txRows); done < end; {
			m := min(batch, end-done)
			if err := f.insert(ctx, tx, maxFID+1+int64(done), done, m, n, r); err != nil {
				tx.Rollback()
				return err
			}
			done += m
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if f.files != nil {
			if err := f.files.flush(); err != nil {
				return err
			}
		}
		fmt.Printf("filled %d/%d (%.0f rows/s)\n", done, n, float64(done)/time.Since(start).Seconds())
	}
	return f.moveAllocator(ctx, maxFID+int64(n))
}

func (f *filler) insert(ctx context.Context, tx *sql.Tx, fid0 int64, i0, m, n, r int) error {
	var files, ons strings.Builder
	files.WriteString("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES ")
	ons.WriteString("INSERT INTO file_on (fid, devid) VALUES ")
	for j := range m {
		if j > 0 {
			files.WriteByte(',')
			ons.WriteByte(',')
		}
		fid := fid0 + int64(j)
		length := int64(1024 + j%4096)
		if f.files != nil {
			length = fid % 101
			f.files.add(fid, length)
		}
		fmt.Fprintf(&files, "(%d,%d,'%s',%d,%d,1)", fid, f.dmid, keyAt(i0+j, n, r), length, f.classid)
		fmt.Fprintf(&ons, "(%d,%d)", fid, f.devid)
	}
	if _, err := tx.ExecContext(ctx, files.String()); err != nil {
		return fmt.Errorf("insert files at %d: %w", i0, err)
	}
	if _, err := tx.ExecContext(ctx, ons.String()); err != nil {
		return fmt.Errorf("insert file_on at %d: %w", i0, err)
	}
	return nil
}

// moveAllocator makes the next fid tempfile hands out larger than top.
func (f *filler) moveAllocator(ctx context.Context, top int64) error {
	var err error
	if f.mysql {
		_, err = f.db.ExecContext(ctx, fmt.Sprintf("ALTER TABLE tempfile AUTO_INCREMENT = %d", top+1))
	} else {
		var res sql.Result
		res, err = f.db.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'tempfile'", top)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				_, err = f.db.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('tempfile', ?)", top)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("fid allocator: %w", err)
	}
	return nil
}
