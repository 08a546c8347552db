package sqlstore

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Backend names a database engine.
type Backend int

const (
	MySQL Backend = iota + 1
	SQLite
)

func (b Backend) String() string {
	switch b {
	case MySQL:
		return "MySQL"
	case SQLite:
		return "SQLite"
	}
	return fmt.Sprintf("Backend(%d)", int(b))
}

// Target is a parsed DSN: which database to talk to and how.
type Target struct {
	Backend Backend

	// MySQL: the go-sql-driver configuration (user, password, address,
	// database name, our connection options).
	MySQL *mysql.Config

	// SQLite: the database file, or ":memory:". URI is true when Path is a
	// "file:" URI to be handed to the driver as is.
	Path string
	URI  bool
}

// Where names the server or file for messages: "MySQL at host:port",
// "SQLite file /path".
func (t Target) Where() string {
	switch t.Backend {
	case MySQL:
		if t.MySQL.Net == "unix" {
			return "MySQL at socket " + t.MySQL.Addr
		}
		return "MySQL at " + t.MySQL.Addr
	case SQLite:
		return "SQLite file " + t.Path
	}
	return "unknown database"
}

// Memory reports whether the target is an in-memory SQLite database.
func (t Target) Memory() bool { return t.Backend == SQLite && t.Path == ":memory:" }

// socketPaths are where a local MySQL/MariaDB server usually listens when a
// DBI DSN names host "localhost" without a port (libmysqlclient uses the
// Unix socket for localhost).
var socketPaths = []string{"/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"}

// ParseDSN parses a database DSN as the tracker and the tools accept it.
// user and pass are the separately configured credentials (db_user,
// db_pass); a go-sql-driver DSN that names its own user keeps it.
//
// Accepted forms:
//
//	DBI:mysql:database=NAME;host=H;port=P   (db=, dbname=, hostname= too)
//	DBI:mysql:NAME;host=H                   bare tokens fill database, host,
//	DBI:mysql:NAME:H:P                      port in that order (';' or ':'
//	DBI:mysql:NAME                           separate items, [v6] hosts ok)
//	DBI:SQLite:dbname=/path                  (db=, database= too)
//	DBI:SQLite:/path
//	user:pass@tcp(host:port)/NAME            go-sql-driver DSN (also
//	                                         @unix(/sock)/NAME and @/NAME)
//	/path/to/file, ./file, ../file           SQLite file
//	file:/path?mode=...                      SQLite URI, passed to the driver
//	:memory:                                 in-memory SQLite (one connection)
//
// The "DBI:" prefix and the driver name are case-insensitive. mysql_*
// options are ignored except mysql_socket. A MySQL host of localhost
// without a port means the local Unix socket (the first of the usual paths
// that exists), else 127.0.0.1:3306; localhost with a port means TCP to
// 127.0.0.1. DBI:Pg and DBI:Oracle are refused with a clear error.
func ParseDSN(dsn, user, pass string) (Target, error) {
	s := strings.TrimSpace(dsn)
	if s == "" {
		return Target{}, errors.New("empty database DSN")
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return Target{}, fmt.Errorf("database DSN %q contains control characters", dsn)
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "dbi:") {
		driver, rest, ok := strings.Cut(s[4:], ":")
		if !ok {
			return Target{}, fmt.Errorf("database DSN %q: expected DBI:<driver>:<args>", dsn)
		}
		switch strings.ToLower(driver) {
		case "mysql":
			return parseDBIMySQL(dsn, rest, user, pass)
		case "sqlite", "sqlite3":
			return parseDBISQLite(dsn, rest)
		case "pg":
			return Target{}, fmt.Errorf("database DSN %q: Postgres is not supported (use MySQL/MariaDB or SQLite)", dsn)
		case "oracle":
			return Target{}, fmt.Errorf("database DSN %q: Oracle is not supported (use MySQL/MariaDB or SQLite)", dsn)
		default:
			return Target{}, fmt.Errorf("database DSN %q: unknown database type %q", dsn, driver)
		}
	}
	if isGoMySQLDSN(s) {
		cfg, err := mysql.ParseDSN(s)
		if err != nil {
			return Target{}, fmt.Errorf("database DSN %q: %w", dsn, err)
		}
		if cfg.User == "" {
			cfg.User, cfg.Passwd = user, pass
		}
		if cfg.DBName == "" {
			return Target{}, fmt.Errorf("database DSN %q: no database name", dsn)
		}
		if !validDBName(cfg.DBName) {
			return Target{}, fmt.Errorf("database DSN %q: bad database name %q (letters, digits, _, $ and - only)", dsn, cfg.DBName)
		}
		switch cfg.Net {
		case "tcp", "tcp6":
			h, p, err := net.SplitHostPort(cfg.Addr)
			if _, ok := validHost(h); err != nil || !ok {
				return Target{}, fmt.Errorf("database DSN %q: bad address %q", dsn, cfg.Addr)
			}
			if n, err := parsePort(p); err != nil || n == 0 {
				return Target{}, fmt.Errorf("database DSN %q: bad port in %q", dsn, cfg.Addr)
			}
		case "unix":
			if cfg.Addr == "" {
				return Target{}, fmt.Errorf("database DSN %q: no socket path", dsn)
			}
		default:
			return Target{}, fmt.Errorf("database DSN %q: unsupported network %q", dsn, cfg.Net)
		}
		return Target{Backend: MySQL, MySQL: ourMySQLOptions(cfg)}, nil
	}
	switch {
	case s == ":memory:":
		return Target{Backend: SQLite, Path: s}, nil
	case strings.HasPrefix(s, "file:"):
		return Target{Backend: SQLite, Path: s, URI: true}, nil
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "./"), strings.HasPrefix(s, "../"):
		return Target{Backend: SQLite, Path: s}, nil
	}
	return Target{}, fmt.Errorf("database DSN %q not recognised: want DBI:mysql:..., DBI:SQLite:..., user@tcp(host:port)/db, or a SQLite file path starting with / or ./", dsn)
}

// isGoMySQLDSN reports whether s looks like a go-sql-driver DSN:
// [user[:pass]]@net(addr)/db or [user[:pass]]@/db.
func isGoMySQLDSN(s string) bool {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return false
	}
	rest := s[at+1:]
	return strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, "tcp(") ||
		strings.HasPrefix(rest, "tcp6(") || strings.HasPrefix(rest, "unix(")
}

// parseDBIMySQL follows DBD::mysql's DSN parsing: items separated by ';'
// or ':', "key=value" pairs, bare items fill database, host, port in order.
func parseDBIMySQL(dsn, rest, user, pass string) (Target, error) {
	var database, host, port, socket string
	bare := []*string{&database, &host, &port}
	for rest != "" {
		var item string
		item, rest = nextDBIItem(rest)
		if item == "" {
			continue
		}
		if k, v, ok := strings.Cut(item, "="); ok {
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "database", "db", "dbname":
				database = v
			case "host", "hostname":
				host = v
			case "port":
				port = v
			case "mysql_socket":
				socket = v
			default:
				// mysql_* and other driver options do not change where
				// the data lives; ignore them as documented.
			}
			continue
		}
		placed := false
		for _, p := range bare {
			if *p == "" {
				*p = item
				placed = true
				break
			}
		}
		if !placed {
			return Target{}, fmt.Errorf("database DSN %q: unexpected item %q", dsn, item)
		}
	}
	if database == "" {
		return Target{}, fmt.Errorf("database DSN %q: no database name", dsn)
	}
	if !validDBName(database) {
		return Target{}, fmt.Errorf("database DSN %q: bad database name %q (letters, digits, _, $ and - only)", dsn, database)
	}
	if host != "" {
		h, ok := validHost(host)
		if !ok {
			return Target{}, fmt.Errorf("database DSN %q: bad host %q", dsn, host)
		}
		host = h
	}
	if port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return Target{}, fmt.Errorf("database DSN %q: bad port %q", dsn, port)
		}
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.DBName = user, pass, database
	switch {
	case socket != "":
		cfg.Net, cfg.Addr = "unix", socket
	case (host == "" || host == "localhost") && port == "":
		cfg.Net, cfg.Addr = "tcp", "127.0.0.1:3306"
		for _, p := range socketPaths {
			if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
				cfg.Net, cfg.Addr = "unix", p
				break
			}
		}
	default:
		if host == "" || host == "localhost" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	return Target{Backend: MySQL, MySQL: ourMySQLOptions(cfg)}, nil
}

// validDBName accepts the database names MySQL takes unquoted, plus '-'.
func validDBName(name string) bool {
	if len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '-') {
			return false
		}
	}
	return name != ""
}

// validHost checks a host name or IP address (an IPv6 address may be in
// brackets) and returns it without brackets.
func validHost(h string) (string, bool) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") {
		return h, net.ParseIP(h) != nil
	}
	if h == "" || len(h) > 255 {
		return h, false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return h, false
		}
	}
	return h, true
}

// nextDBIItem splits off the next ';'/':'-separated item; a "[...]" part
// (an IPv6 address) may contain colons.
func nextDBIItem(s string) (item, rest string) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ';', ':':
			if depth == 0 {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

func parsePort(s string) (int, error) {
	n := 0
	if s == "" || len(s) > 5 {
		return 0, errors.New("bad port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("bad port")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, errors.New("bad port")
	}
	return n, nil
}

// parseDBISQLite follows DBD::SQLite: "dbname=FILE" (or db=, database=),
// otherwise the whole rest is the file name.
func parseDBISQLite(dsn, rest string) (Target, error) {
	path := rest
	for _, item := range strings.Split(rest, ";") {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "dbname", "db", "database":
			path = v
		case "uri":
			if v == "" {
				return Target{}, fmt.Errorf("database DSN %q: empty uri", dsn)
			}
			return Target{Backend: SQLite, Path: v, URI: true}, nil
		}
	}
	if path == "" {
		return Target{}, fmt.Errorf("database DSN %q: no SQLite file name", dsn)
	}
	if strings.HasPrefix(path, "file:") {
		return Target{Backend: SQLite, Path: path, URI: true}, nil
	}
	return Target{Backend: SQLite, Path: path}, nil
}

// ourMySQLOptions sets the connection options the store relies on.
func ourMySQLOptions(cfg *mysql.Config) *mysql.Config {
	cfg.InterpolateParams = true
	cfg.ClientFoundRows = true // UPDATE reports matched rows: ErrNotFound is reliable
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second // the original's connect timeout
	}
	return cfg
}
