package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
	"github.com/mogilefs-go/mogilefs/tracker/store/storetest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// setupOpen makes the schema with Setup and opens a store on it.
func setupOpen(t *testing.T, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	ctx := testCtx(t)
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func setupOpenB(b *testing.B, cfg sqlstore.Config) *sqlstore.Store {
	b.Helper()
	ctx := b.Context()
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		b.Fatalf("setup: %v", err)
	}
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func sqliteConfigB(b *testing.B) sqlstore.Config {
	return sqlstore.Config{DSN: mogtest.SQLiteDSN(b)}
}

func mysqlConfigB(b *testing.B) sqlstore.Config {
	m := mogtest.NewMySQL(b)
	return sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
}

func sqliteConfig(t *testing.T) sqlstore.Config {
	return sqlstore.Config{DSN: mogtest.SQLiteDSN(t)}
}

func mysqlConfig(t *testing.T) sqlstore.Config {
	m := mogtest.NewMySQL(t)
	return sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return setupOpen(t, sqliteConfig(t)) })
}

// TestConformanceSQLiteOriginalFileTables runs the store on a database
// whose file and checksum tables are the original's (fid not the rowid),
// as a site moving from the Perl tracker has.
func TestConformanceSQLiteOriginalFileTables(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		cfg := sqliteConfig(t)
		db, _ := openRawSQLite(t, cfg.DSN)
		for _, q := range originalFileTables {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		return setupOpen(t, cfg)
	})
}

func TestConformanceSQLiteMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.Open(testCtx(t), sqlstore.Config{DSN: ":memory:"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformanceMySQL(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return setupOpen(t, mysqlConfig(t)) })
}
