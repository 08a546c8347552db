// Package mysqltest makes a fresh database on the test MariaDB server for
// one test. It stands apart from mogtest, which re-exports it, so that the
// SQL store's own (in-package) tests can use it: mogtest imports the store.
package mysqltest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// MySQL describes a fresh database on the test MariaDB server.
type MySQL struct {
	GoDSN    string // go-sql-driver DSN naming the database
	DBIDSN   string // DBI:mysql:database=…;host=…;port=…
	User     string
	Password string
	Host     string
	Port     string
	Name     string
}

// New creates an empty database on the server named by
// MOGTEST_MYSQL_DSN (a go-sql-driver DSN of a user that may create
// databases, e.g. "root@tcp(127.0.0.1:3306)/") and drops it at cleanup.
// Without MOGTEST_MYSQL_DSN the test is skipped, loudly; with CI=true it
// fails instead, so CI can never pass without running the MariaDB tests.
//
// charset (and collation, when not empty) set the database's defaults,
// which the tables then take; "" keeps the server's.
func New(t testing.TB, charset, collation string) MySQL {
	t.Helper()
	server := os.Getenv("MOGTEST_MYSQL_DSN")
	if server == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MOGTEST_MYSQL_DSN is not set but CI=true: the MariaDB tests must run in CI")
		}
		t.Skip("SKIPPING MariaDB test: set MOGTEST_MYSQL_DSN (scripts/mariadb.sh start DIR prints one)")
	}
	cfg, err := mysql.ParseDSN(server)
	if err != nil {
		t.Fatalf("MOGTEST_MYSQL_DSN: %v", err)
	}
	root, err := sql.Open("mysql", server)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	name := fmt.Sprintf("mogtest_%d", rand.Uint64()%1e12)
	q := "CREATE DATABASE " + name
	if charset != "" {
		q += " CHARACTER SET " + charset
	}
	if collation != "" {
		q += " COLLATE " + collation
	}
	if _, err := root.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", server)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP DATABASE IF EXISTS " + name)
	})
	cfg.DBName = name
	host, port, _ := strings.Cut(cfg.Addr, ":")
	if port == "" {
		port = "3306"
	}
	return MySQL{
		GoDSN:    cfg.FormatDSN(),
		DBIDSN:   fmt.Sprintf("DBI:mysql:database=%s;host=%s;port=%s", name, host, port),
		User:     cfg.User,
		Password: cfg.Passwd,
		Host:     host,
		Port:     port,
		Name:     name,
	}
}

// Account creates an account that has only privileges (e.g. "SELECT, INSERT,
// UPDATE, DELETE") on m's database, and drops it at cleanup. It returns
// the account's name and password.
func (m MySQL) Account(t testing.TB, privileges string) (user, password string) {
	t.Helper()
	root, err := sql.Open("mysql", m.GoDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	user, password = "u"+strings.TrimPrefix(m.Name, "mogtest_"), "pw"
	for _, q := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + password + "'",
		"GRANT " + privileges + " ON " + m.Name + ".* TO '" + user + "'@'%'",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", m.GoDSN)
		if err == nil {
			db.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
			db.Close()
		}
	})
	return user, password
}
