// Package mogtest is the shared integration-test harness: it builds the
// project's binaries once per test process, starts them as real processes
// on free 127.0.0.1 ports, waits for them to answer, and hands out fresh
// databases (a SQLite file in a temp dir, or a new database on the MariaDB
// server named by MOGTEST_MYSQL_DSN).
//
// Only _test.go files import it.
package mogtest
