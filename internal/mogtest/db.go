package mogtest

import (
	"path/filepath"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest/mysqltest"
)

// SQLiteDSN returns a DBI DSN for a new SQLite file in a temp dir.
func SQLiteDSN(t testing.TB) string {
	return "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "mogilefs.sqlite")
}

// MySQL describes a fresh database on the test MariaDB server.
type MySQL = mysqltest.MySQL

// NewMySQL creates an empty database on the server named by
// MOGTEST_MYSQL_DSN (a go-sql-driver DSN of a user that may create
// databases, e.g. "root@tcp(127.0.0.1:3306)/") and drops it at cleanup.
// Without MOGTEST_MYSQL_DSN the test is skipped, loudly; with CI=true it
// fails instead, so CI can never pass without running the MariaDB tests.
func NewMySQL(t testing.TB) MySQL { return mysqltest.New(t, "", "") }
