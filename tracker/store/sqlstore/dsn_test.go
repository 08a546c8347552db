package sqlstore

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestParseDSNMySQL(t *testing.T) {
	// Which local socket a bare "localhost" means depends on this machine.
	localNet, localAddr := "tcp", "127.0.0.1:3306"
	for _, p := range socketPaths {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			localNet, localAddr = "unix", p
			break
		}
	}
	cases := []struct {
		dsn, user, pass    string
		net, addr, db      string
		wantUser, wantPass string
	}{
		{"DBI:mysql:database=mogilefs;host=db1;port=3307", "mogile", "pw", "tcp", "db1:3307", "mogilefs", "mogile", "pw"},
		{"DBI:mysql:db=mfs;hostname=10.0.0.5", "u", "", "tcp", "10.0.0.5:3306", "mfs", "u", ""},
		{"dbi:MySQL:dbname=mfs;host=h;mysql_connect_timeout=3;mysql_enable_utf8=1", "u", "", "tcp", "h:3306", "mfs", "u", ""},
		{"DBI:mysql:mogilefs:host=db2", "u", "p", "tcp", "db2:3306", "mogilefs", "u", "p"},
		{"DBI:mysql:mogilefs;host=db3;port=3310", "u", "p", "tcp", "db3:3310", "mogilefs", "u", "p"},
		{"DBI:mysql:mogilefs:db4:3311", "u", "p", "tcp", "db4:3311", "mogilefs", "u", "p"},
		{"DBI:mysql:mogilefs:[::1]:3312", "u", "p", "tcp", "[::1]:3312", "mogilefs", "u", "p"},
		{"DBI:mysql:database=mogilefs;host=[fe80::1];port=3313", "u", "p", "tcp", "[fe80::1]:3313", "mogilefs", "u", "p"},
		{"DBI:mysql:mogilefs", "mogile", "", localNet, localAddr, "mogilefs", "mogile", ""},
		{"DBI:mysql:mogilefs;host=localhost", "mogile", "", localNet, localAddr, "mogilefs", "mogile", ""},
		{"DBI:mysql:mogilefs;host=localhost;port=3399", "mogile", "", "tcp", "127.0.0.1:3399", "mogilefs", "mogile", ""},
		{"DBI:mysql:mogilefs;mysql_socket=/tmp/my.sock", "mogile", "", "unix", "/tmp/my.sock", "mogilefs", "mogile", ""},
		{"root:secret@tcp(127.0.0.1:4000)/mogdb", "ignored", "ignored", "tcp", "127.0.0.1:4000", "mogdb", "root", "secret"},
		{"@tcp(db5:3306)/mogdb?timeout=5s", "u", "p", "tcp", "db5:3306", "mogdb", "u", "p"},
		{"me@unix(/run/mysqld/mysqld.sock)/mogdb", "u", "p", "unix", "/run/mysqld/mysqld.sock", "mogdb", "me", ""},
	}
	for _, c := range cases {
		tg, err := ParseDSN(c.dsn, c.user, c.pass)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", c.dsn, err)
			continue
		}
		m := tg.MySQL
		if tg.Backend != MySQL || m.Net != c.net || m.Addr != c.addr || m.DBName != c.db || m.User != c.wantUser || m.Passwd != c.wantPass {
			t.Errorf("ParseDSN(%q) = %v %s %s db %s user %q pass %q; want %s %s db %s user %q pass %q",
				c.dsn, tg.Backend, m.Net, m.Addr, m.DBName, m.User, m.Passwd, c.net, c.addr, c.db, c.wantUser, c.wantPass)
		}
		if !m.InterpolateParams || !m.ClientFoundRows {
			t.Errorf("ParseDSN(%q): store options not set", c.dsn)
		}
	}
}

func TestParseDSNSQLite(t *testing.T) {
	cases := []struct {
		dsn, path string
		uri       bool
	}{
		{"DBI:SQLite:dbname=/var/lib/mogilefs.sqlite", "/var/lib/mogilefs.sqlite", false},
		{"dbi:sqlite:/tmp/x.db", "/tmp/x.db", false},
		{"DBI:SQLite:db=rel.db", "rel.db", false},
		{"DBI:SQLite:database=/a b/c.db", "/a b/c.db", false},
		{"DBI:SQLite:dbname=:memory:", ":memory:", false},
		{"DBI:SQLite:uri=file:/tmp/u.db?mode=rw", "file:/tmp/u.db?mode=rw", true},
		{"/srv/mogile.db", "/srv/mogile.db", false},
		{"./mogile.db", "./mogile.db", false},
		{"../mogile.db", "../mogile.db", false},
		{"file:/tmp/f.db?cache=private", "file:/tmp/f.db?cache=private", true},
		{":memory:", ":memory:", false},
	}
	for _, c := range cases {
		tg, err := ParseDSN(c.dsn, "u", "p")
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", c.dsn, err)
			continue
		}
		if tg.Backend != SQLite || tg.Path != c.path || tg.URI != c.uri {
			t.Errorf("ParseDSN(%q) = %+v, want SQLite path %q uri %v", c.dsn, tg, c.path, c.uri)
		}
	}
}

func TestParseDSNErrors(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"DBI:Pg:dbname=mogilefs;host=h", "Postgres is not supported"},
		{"dbi:pg:mogilefs", "Postgres is not supported"},
		{"DBI:Oracle:x", "Oracle is not supported"},
		{"DBI:Sybase:x", `unknown database type "Sybase"`},
		{"DBI:mysql", "expected DBI:<driver>:<args>"},
		{"DBI:mysql:", "no database name"},
		{"DBI:mysql:host=h;port=3306", "no database name"},
		{"DBI:mysql:db:h:3306:extra", `unexpected item "extra"`},
		{"DBI:mysql:mogilefs;host=h;port=abc", `bad port "abc"`},
		{"DBI:mysql:mogilefs;host=h;port=70000", `bad port "70000"`},
		{"DBI:mysql:mogilefs;host=h;port=0", `bad port "0"`},
		{"DBI:mysql:mog`db", "bad database name"},
		{"DBI:mysql:0;[", `bad host "["`},
		{"DBI:mysql:db;host=a/b", `bad host "a/b"`},
		{"DBI:mysql:db;host=[1:2:x]", `bad host "[1:2:x]"`},
		{"@tcp([)/db", "bad address"},
		{"u@tcp(h:99999)/db", "bad port"},
		{"DBI:SQLite:", "no SQLite file name"},
		{"DBI:SQLite:dbname=", "no SQLite file name"},
		{"mogilefs", "not recognised"},
		{"mysql://h/db", "not recognised"},
		{"root@tcp(h:3306)/", "no database name"},
		{"DBI:mysql:mogilefs\n", ""}, // trailing newline from a config file is trimmed
		{"DBI:mysql:mog\ndb", "control characters"},
	}
	for _, c := range cases {
		_, err := ParseDSN(c.dsn, "u", "p")
		if c.want == "" {
			if err != nil {
				t.Errorf("ParseDSN(%q): %v", c.dsn, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseDSN(%q) error %v, want one containing %q", c.dsn, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseDSN(%q) error is not one line: %q", c.dsn, err)
		}
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"DBI:mysql:database=mogilefs;host=h;port=3306", "DBI:mysql:m:h:1", "DBI:mysql:m;host=[::1]",
		"DBI:SQLite:dbname=/x", "DBI:SQLite:/x", "u:p@tcp(h:1)/d", "/x.db", "file:x?y=z", "DBI:Pg:x", "DBI::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		tg, err := ParseDSN(dsn, "u", "p")
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.ContainsAny(dsn, "\n") {
				t.Fatalf("multi-line error for %q: %q", dsn, err)
			}
			return
		}
		switch tg.Backend {
		case MySQL:
			if tg.MySQL == nil || tg.MySQL.DBName == "" || tg.MySQL.Addr == "" {
				t.Fatalf("ParseDSN(%q) accepted without database or address: %+v", dsn, tg.MySQL)
			}
			// The driver must read back what we built.
			back, err := mysql.ParseDSN(tg.MySQL.FormatDSN())
			if err != nil || back.DBName != tg.MySQL.DBName || back.Addr != tg.MySQL.Addr || back.Net != tg.MySQL.Net {
				t.Fatalf("ParseDSN(%q): config does not round-trip through the driver: %v %+v", dsn, err, back)
			}
		case SQLite:
			if tg.Path == "" {
				t.Fatalf("ParseDSN(%q) accepted an empty SQLite path", dsn)
			}
		default:
			t.Fatalf("ParseDSN(%q) gave backend %v", dsn, tg.Backend)
		}
		_ = tg.Where()
	})
}

// Odd SQLite file names reach the file they name, and a doubled leading
// slash is not taken for a URI authority.
func TestSQLiteOddPaths(t *testing.T) {
	dir := t.TempDir()
	names := []string{"a b.db", "q?x.db", "h#x.db", "p%41.db", "semi;colon.db", "ü.db"}
	for _, name := range names {
		path := dir + "/" + name
		for _, dsn := range []string{"DBI:SQLite:" + path, "DBI:SQLite:/" + path} {
			if err := Setup(context.Background(), Config{DSN: dsn}, SetupOptions{}); err != nil {
				t.Fatalf("%s: %v", dsn, err)
			}
			s, err := Open(context.Background(), Config{DSN: dsn})
			if err != nil {
				t.Fatalf("%s: %v", dsn, err)
			}
			s.Close()
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		base := strings.TrimSuffix(strings.TrimSuffix(e.Name(), "-wal"), "-shm")
		if !slices.Contains(names, base) {
			t.Errorf("stray file %q", e.Name())
		}
	}
}
