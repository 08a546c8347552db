package mogdbsetup_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tools/mogdbsetup"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

type result struct {
	code           int
	stdout, stderr string
}

func runMain(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := mogdbsetup.Main(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// wantFail checks for a non-zero exit with one line on stderr naming all
// of parts.
func wantFail(t *testing.T, r result, parts ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("succeeded, want failure:\n%v", r)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("stderr is not one line:\n%s", r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("stderr %q does not mention %q", r.stderr, p)
		}
	}
}

func openStore(t *testing.T, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open after mogdbsetup: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mogilefs.db")
	r := runMain(t, "", "--type=SQLite", "--dbname="+path, "--yes")
	if r.code != 0 {
		t.Fatalf("first run: %v", r)
	}
	s := openStore(t, sqlstore.Config{DSN: "DBI:SQLite:" + path})
	if _, err := s.CreateDomain(context.Background(), "kept"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(path)
	r = runMain(t, "", "--type=SQLite", "--dbname="+path, "--yes", "--verbose")
	if r.code != 0 {
		t.Fatalf("second run: %v", r)
	}
	if !strings.Contains(r.stderr, "already up-to-date at version 17") || !strings.Contains(r.stderr, "Done.") ||
		strings.Contains(r.stderr, "Running SQL") {
		t.Errorf("second run said:\n%s", r.stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("second run changed the database file")
	}
	ds, err := openStore(t, sqlstore.Config{DSN: "DBI:SQLite:" + path}).Domains(context.Background())
	if err != nil || len(ds) != 1 || ds[0].Name != "kept" {
		t.Fatalf("data after second run: %v %v", ds, err)
	}
}

func TestPrompt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mogilefs.db")
	for _, answer := range []string{"", "n\n", "no\n", "whatever\n"} {
		r := runMain(t, answer, "--type=SQLite", "--dbname="+path)
		wantFail(t, r, "stopped")
		if !strings.Contains(r.stdout, "Continue? [N/y]") {
			t.Errorf("prompt was %q", r.stdout)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("answer %q: database created anyway", answer)
		}
	}
	r := runMain(t, "y\n", "--type=SQLite", "--dbname="+path)
	if r.code != 0 {
		t.Fatalf("answer y: %v", r)
	}
	openStore(t, sqlstore.Config{DSN: "DBI:SQLite:" + path})

	// An upgrade asks once more (default yes).
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE server_settings SET value = '15' WHERE field = 'schema_version'"); err != nil {
		t.Fatal(err)
	}
	r = runMain(t, "y\nn\n", "--type=SQLite", "--dbname="+path)
	wantFail(t, r, "stopped")
	if !strings.Contains(r.stdout, "from version 15 to version 17? [Y/n]") {
		t.Errorf("upgrade prompt was %q", r.stdout)
	}
	r = runMain(t, "y\n\n", "--type=SQLite", "--dbname="+path)
	if r.code != 0 {
		t.Fatalf("upgrade with default answer: %v", r)
	}
	var v string
	if err := db.QueryRow("SELECT value FROM server_settings WHERE field = 'schema_version'").Scan(&v); err != nil || v != "17" {
		t.Fatalf("schema version after upgrade %q %v", v, err)
	}
}

func TestNoSchemaBump(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mogilefs.db")
	r := runMain(t, "", "--type=SQLite", "--dbname="+path, "--yes", "--noschemabump")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	_, err := sqlstore.Open(context.Background(), sqlstore.Config{DSN: "DBI:SQLite:" + path})
	if err == nil || !strings.Contains(err.Error(), "schema version 0") {
		t.Fatalf("open after --noschemabump: %v, want a version 0 refusal", err)
	}
	openStore(t, sqlstore.Config{DSN: "DBI:SQLite:" + path, NoSchemaCheck: true})
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	r := runMain(t, "", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--dbrootpassword") || !strings.Contains(r.stdout, "--noschemabump") {
		t.Fatalf("--help: %v", r)
	}
	// Unique prefixes, a single dash and any case work as in the original.
	path := filepath.Join(dir, "a.db")
	r = runMain(t, "", "-TYPE=SQLite", "--dbn", path, "--ye")
	if r.code != 0 {
		t.Fatalf("abbreviated flags: %v", r)
	}
	openStore(t, sqlstore.Config{DSN: "DBI:SQLite:" + path})
	// A password flag without a value is an empty password.
	path = filepath.Join(dir, "b.db")
	r = runMain(t, "", "--dbpass", "--type=SQLite", "--dbname="+path, "--yes", "--dbrootpassword")
	if r.code != 0 {
		t.Fatalf("valueless password flags: %v", r)
	}
	for _, bad := range [][]string{
		{"--bogus"},
		{"--db=x"},
		{"--type=SQLite", "extra-arg"},
	} {
		r := runMain(t, "", bad...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: %v", bad, r)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	wantFail(t, runMain(t, "", "--type=Postgres", "--yes"), "Postgres is not supported")
	wantFail(t, runMain(t, "", "--type=Oracle", "--yes"), "want MySQL or SQLite")
	wantFail(t, runMain(t, "", "--dbname=bad;name", "--yes"), "bad name")
	wantFail(t, runMain(t, "", "--dbname=bad-$name!", "--yes"), "bad database name")
	wantFail(t, runMain(t, "", "--dbhost=bad/host", "--yes"), "bad host")
	wantFail(t, runMain(t, "", "--dbport=x", "--yes"), "bad port")
	wantFail(t, runMain(t, "", "--plugins=FilePaths", "--yes"), "plugins are not supported")
	wantFail(t, runMain(t, "", "--type=SQLite", "--dbname="+filepath.Join(dir, "no/such/dir/x.db"), "--yes"), "no/such/dir")

	// Unreachable server: the error names it, nothing is asked.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	wantFail(t, runMain(t, "", "--dbhost=127.0.0.1", "--dbport="+port, "--yes"), "127.0.0.1:"+port)

	// A database that is not MogileFS's is refused untouched.
	path := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE accounts (id INT); INSERT INTO accounts VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	wantFail(t, runMain(t, "", "--type=SQLite", "--dbname="+path, "--yes"), "not a MogileFS database")
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("refused run changed the file")
	}

	// A newer schema is refused untouched.
	path = filepath.Join(dir, "newer.db")
	if r := runMain(t, "", "--type=SQLite", "--dbname="+path, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	db, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE server_settings SET value = '18' WHERE field = 'schema_version'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ = os.ReadFile(path)
	wantFail(t, runMain(t, "", "--type=SQLite", "--dbname="+path, "--yes"), "schema version 18 is newer")
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("refused run changed the file")
	}
}

// TestMySQL runs the whole first-install path on MariaDB: the user does
// not exist, so the administrator creates the user and grants, then the
// schema is made as the user. A second run changes nothing.
func TestMySQL(t *testing.T) {
	m := mogtest.NewMySQL(t)
	root, err := sql.Open("mysql", os.Getenv("MOGTEST_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rootCfg, err := mysql.ParseDSN(os.Getenv("MOGTEST_MYSQL_DSN"))
	if err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("mogtest_u%d", rand.Uint32()%1e6)
	t.Cleanup(func() {
		root.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
		root.Exec("DROP USER IF EXISTS '" + user + "'@'localhost'")
	})
	// A name only, no database: the administrator creates it.
	dbname := m.Name + "_new"
	t.Cleanup(func() { root.Exec("DROP DATABASE IF EXISTS " + dbname) })
	args := []string{"--dbhost=" + m.Host, "--dbport=" + m.Port, "--dbname=" + dbname,
		"--dbrootuser=" + rootCfg.User, "--dbrootpass=" + rootCfg.Passwd,
		"--dbuser=" + user, "--dbpass=s3cret'\"pw", "--yes", "--verbose"}
	r := runMain(t, "", args...)
	if r.code != 0 {
		t.Fatalf("first run: %v", r)
	}
	for _, want := range []string{"CREATE DATABASE IF NOT EXISTS", "CREATE USER IF NOT EXISTS", "GRANT ALL PRIVILEGES", "CREATE TABLE file", "Done."} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, r.stderr)
		}
	}
	cfg := sqlstore.Config{DSN: fmt.Sprintf("DBI:mysql:database=%s;host=%s;port=%s", dbname, m.Host, m.Port), User: user, Password: "s3cret'\"pw"}
	s := openStore(t, cfg)
	if _, err := s.CreateDomain(context.Background(), "kept"); err != nil {
		t.Fatal(err)
	}
	// The user's grants are on this database only.
	var grants []string
	rows, err := root.Query("SHOW GRANTS FOR '" + user + "'@'%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		rows.Scan(&g)
		grants = append(grants, g)
	}
	rows.Close()
	if !strings.Contains(strings.Join(grants, "\n"), "ALL PRIVILEGES ON `"+dbname+"`.*") {
		t.Errorf("grants %q", grants)
	}

	// Second run: connects as the user, nothing to do.
	r = runMain(t, "", args...)
	if r.code != 0 {
		t.Fatalf("second run: %v", r)
	}
	if strings.Contains(r.stderr, "Running SQL") || !strings.Contains(r.stderr, "already up-to-date") {
		t.Errorf("second run did work:\n%s", r.stderr)
	}
	ds, err := s.Domains(context.Background())
	if err != nil || len(ds) != 1 {
		t.Fatalf("data after second run: %v %v", ds, err)
	}

	// Wrong administrator password when the user cannot connect: one line
	// naming the server, nothing created.
	r = runMain(t, "", "--dbhost="+m.Host, "--dbport="+m.Port, "--dbname="+dbname+"_x", "--dbrootuser=nobody_here",
		"--dbuser="+user+"x", "--yes")
	wantFail(t, r, m.Host+":"+m.Port, "nobody_here")
	var n int
	if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", dbname+"_x").Scan(&n); err != nil || n != 0 {
		t.Fatalf("database created by a failed run (%d, %v)", n, err)
	}
}

// TestMySQLExistingDatabase: the database exists and the user can
// connect (the usual upgrade path); no administrator is needed.
func TestMySQLExistingDatabase(t *testing.T) {
	m := mogtest.NewMySQL(t)
	r := runMain(t, "", "--dbhost="+m.Host, "--dbport="+m.Port, "--dbname="+m.Name,
		"--dbuser="+m.User, "--dbpass="+m.Password, "--dbrootuser=nobody_here", "--yes")
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	s := openStore(t, sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password})
	v, err := s.Settings(context.Background())
	if err != nil || v["schema_version"] != strconv.Itoa(store.SchemaVersion) {
		t.Fatalf("settings %v %v", v, err)
	}
}

// TestBinary runs the built command once: exit status and streams of the
// real process.
func TestBinary(t *testing.T) {
	bin := mogtest.Binary(t, "mogdbsetup")
	path := filepath.Join(t.TempDir(), "bin.db")
	cmd := exec.Command(bin, "--type=SQLite", "--dbname="+path, "--yes")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	openStore(t, sqlstore.Config{DSN: "DBI:SQLite:" + path})
	cmd = exec.Command(bin, "--type=Postgres")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 || !strings.Contains(stderr.String(), "Postgres is not supported") {
		t.Fatalf("--type=Postgres: %v %q", err, stderr.String())
	}
}
