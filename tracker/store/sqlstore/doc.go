// Package sqlstore is the tracker's metadata store over database/sql: one
// Store type for MySQL/MariaDB (github.com/go-sql-driver/mysql) and SQLite
// (modernc.org/sqlite), on the original MogileFS schema version 17. The
// database stays usable by the original Perl tracker and a database made by
// the original mogdbsetup is used as is: no column is ever added to an
// original table.
//
// Dialect differences (time expression, INSERT IGNORE, FOR UPDATE, LIKE
// case sensitivity, named locks, error classification) live in
// dialect_mysql.go and dialect_sqlite.go. Deadlocks, lock waits and
// SQLITE_BUSY/LOCKED are retried in one place (Store.write and Store.read),
// classified by driver error codes only.
//
// SQLite: one writer goroutine owns the one writer connection (BEGIN
// IMMEDIATE, WAL, synchronous=NORMAL, busy_timeout) and group-commits: the
// writes waiting when it is free run as steps of one transaction (see
// writer.go), which is what allows many thousand uploads per second. Reads
// use a pool of read-only connections. Statements are prepared once per
// connection. An in-memory database (":memory:") lives in the writer's
// connection, which then serves reads too; Open gives it the schema.
// Named locks use the
// original's lock table (lockid = first 4 bytes of MD5(name) & 0x7fffffff,
// hostname, pid, acquiredat; a row older than 3600 s or whose pid on this
// host is gone is stale), so they work across processes on one file.
//
// MySQL: a connection pool with interpolated parameters; each held named
// lock (GET_LOCK) pins its own connection until Unlock; on a Galera node
// it also takes a lease row, and LockContext ends when that lease may
// pass to another tracker (galera.go). The connection
// character set is that of file.dkey, so keys are stored as the exact
// bytes the client sent: with the usual latin1 tables any byte string
// round-trips (as with the original tracker on a latin1 client library),
// with utf8mb4 tables keys must be valid UTF-8. (An original tracker whose
// client library defaults to utf8mb4, as DBD::mysql on libmariadb does,
// converts non-ASCII keys into latin1 columns instead; ASCII keys are the
// same either way.)
//
// Leases (TakeLease, the job master's role) are rows of tracker_lock, a
// table of our own made at first use, on every backend (lease.go).
//
// Open never creates or changes a database; Setup creates the tables of a
// fresh database and upgrades older schemas in place, as mogdbsetup does.
//
// Store also implements storetest.Reopener (Reopen opens a second Store
// on the same database, as a second tracker would).
//
// Conventions beyond the store.Store doc comments: updates of a row that
// does not exist (UpdateHost, SetDevice*, SetFileClass) give
// store.ErrNotFound; deletes of namespace rows that do not exist
// (DeleteDomain, DeleteClass, DeleteHost, DeleteSetting) succeed.
// DiscardTempfile gives store.ErrNotFound and changes nothing when the
// tempfile row is already gone (so a racing create_close is never undone),
// and only removes the row when its fid is a live file (as the original's
// tempfile reaper does).
// CreateHost stores status "down" and http_port 7500 when they are unset;
// CreateDevice stores weight 100 when Weight is 0.
package sqlstore
