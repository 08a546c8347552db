package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// The expected schemas, written from the reference spec (schema, storage
// and workers part, sections 1.2 and 1.3): one line per table,
// "table | columns | keys". Column: name TYPE [U] [NN] [DEFAULT v]
// [AUTO_INCREMENT]; U = UNSIGNED, NN = NOT NULL. Keys: PK(cols),
// UNIQUE name(cols), KEY name(cols); SQLite UNIQUE constraints have no
// name of their own. (A SQLite PRIMARY KEY that is not an INTEGER rowid
// does not imply NOT NULL: server_settings.field is nullable there, in the
// original too.)
const expectMySQL = `
domain | dmid SMALLINT U NN; namespace VARCHAR(255) | PK(dmid); UNIQUE namespace(namespace)
class | dmid SMALLINT U NN; classid TINYINT U NN; classname VARCHAR(50); mindevcount TINYINT U NN; hashtype TINYINT U; replpolicy VARCHAR(255) | PK(dmid,classid); UNIQUE dmid(dmid,classname)
file | fid BIGINT U NN; dmid SMALLINT U NN; dkey VARCHAR(255); length BIGINT U; classid TINYINT U NN; devcount TINYINT U NN | PK(fid); UNIQUE dkey(dmid,dkey); KEY devcount(dmid,classid,devcount)
tempfile | fid BIGINT U NN AUTO_INCREMENT; createtime INT U NN; classid TINYINT U NN; dmid SMALLINT U NN; dkey VARCHAR(255); devids VARCHAR(60) | PK(fid)
file_on | fid BIGINT U NN; devid MEDIUMINT U NN | PK(fid,devid); KEY devid(devid)
file_on_corrupt | fid BIGINT U NN; devid MEDIUMINT U NN | PK(fid,devid)
file_to_delete | fid BIGINT U NN | PK(fid)
file_to_delete2 | fid BIGINT U NN; nexttry INT U NN; failcount TINYINT U NN DEFAULT 0 | PK(fid); KEY nexttry(nexttry)
file_to_delete_later | fid BIGINT U NN; delafter INT U NN | PK(fid); KEY delafter(delafter)
file_to_replicate | fid BIGINT U NN; nexttry INT U NN; fromdevid INT U; failcount TINYINT U NN DEFAULT 0; flags SMALLINT U NN DEFAULT 0 | PK(fid); KEY nexttry(nexttry)
file_to_queue | fid BIGINT U NN; devid INT U; type TINYINT U NN; nexttry INT U NN; failcount TINYINT U NN DEFAULT 0; flags SMALLINT U NN DEFAULT 0; arg TEXT | PK(fid,type); KEY type_nexttry(type,nexttry)
unreachable_fids | fid BIGINT U NN; lastupdate INT U NN | PK(fid); KEY lastupdate(lastupdate)
fsck_log | logid INT U NN AUTO_INCREMENT; utime INT U NN; fid BIGINT U; evcode CHAR(4); devid MEDIUMINT U | PK(logid); KEY utime(utime)
host | hostid MEDIUMINT U NN; status ENUM('alive','dead','down','readonly'); http_port MEDIUMINT U DEFAULT 7500; http_get_port MEDIUMINT U; hostname VARCHAR(40); hostip VARCHAR(15); altip VARCHAR(15); altmask VARCHAR(18) | PK(hostid); UNIQUE hostname(hostname); UNIQUE hostip(hostip); UNIQUE altip(altip)
device | devid MEDIUMINT U NN; hostid MEDIUMINT U NN; status ENUM('alive','dead','down','readonly','drain'); weight MEDIUMINT DEFAULT 100; mb_total INT U; mb_used INT U; mb_asof INT U | PK(devid); KEY status(status)
server_settings | field VARCHAR(50) NN; value TEXT | PK(field)
checksum | fid BIGINT U NN; hashtype TINYINT U NN; checksum VARBINARY(64) NN | PK(fid)
`

const expectSQLite = `
lock | lockid INT U NN; hostname VARCHAR(255) NN; pid INT U NN; acquiredat INT U NN | PK(lockid)
domain | dmid SMALLINT U NN; namespace VARCHAR(255) | PK(dmid); UNIQUE(namespace)
class | dmid SMALLINT U NN; classid TINYINT U NN; classname VARCHAR(50); mindevcount TINYINT U NN; hashtype TINYINT U; replpolicy VARCHAR(255) | UNIQUE(dmid,classid); UNIQUE(dmid,classname)
file | fid INTEGER NN; dmid SMALLINT U NN; dkey VARCHAR(255); length INT U; classid TINYINT U NN; devcount TINYINT U NN | PK(fid); UNIQUE(dmid,dkey)
tempfile | fid INTEGER AUTO_INCREMENT; createtime INT U NN; classid TINYINT U NN; dmid SMALLINT U NN; dkey VARCHAR(255); devids VARCHAR(60) | PK(fid)
file_on | fid INT U NN; devid MEDIUMINT U NN | PK(fid,devid); KEY devid(devid)
file_on_corrupt | fid INT U NN; devid MEDIUMINT U NN | PK(fid,devid)
file_to_delete | fid INT U NN | PK(fid)
file_to_delete2 | fid INT U NN; nexttry INT U NN; failcount TINYINT U NN DEFAULT 0 | PK(fid); KEY file_to_delete2_nexttry(nexttry)
file_to_delete_later | fid INT U NN; delafter INT U NN | PK(fid); KEY delafter(delafter)
file_to_replicate | fid INT U NN; nexttry INT U NN; fromdevid INT U; failcount TINYINT U NN DEFAULT 0; flags SMALLINT U NN DEFAULT 0 | PK(fid); KEY nexttry(nexttry)
file_to_queue | fid INT U NN; devid INT U; type TINYINT U NN; nexttry INT U NN; failcount TINYINT U NN DEFAULT 0; flags SMALLINT U NN DEFAULT 0; arg TEXT | PK(fid,type); KEY type_nexttry(type,nexttry)
unreachable_fids | fid INT U NN; lastupdate INT U NN | PK(fid); KEY lastupdate(lastupdate)
fsck_log | logid INTEGER AUTO_INCREMENT; utime INT U NN; fid INT U; evcode CHAR(4); devid MEDIUMINT U | PK(logid); KEY utime(utime)
host | hostid MEDIUMINT U NN; status TEXT; http_port MEDIUMINT U DEFAULT 7500; http_get_port MEDIUMINT U; hostname VARCHAR(40); hostip VARCHAR(15); altip VARCHAR(15); altmask VARCHAR(18) | PK(hostid); UNIQUE(hostname); UNIQUE(hostip); UNIQUE(altip)
device | devid MEDIUMINT U NN; hostid MEDIUMINT U NN; status TEXT; weight MEDIUMINT DEFAULT 100; mb_total INT U; mb_used INT U; mb_asof INT U | PK(devid); KEY status(status)
server_settings | field VARCHAR(50); value TEXT | PK(field)
checksum | fid INTEGER NN; hashtype TINYINT U NN; checksum VARBINARY(64) NN | PK(fid)
`

// tableShape is one table as "columns | keys", normalised.
type schemaShape map[string]string

func parseExpect(s string) schemaShape {
	out := schemaShape{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		parts := strings.Split(line, "|")
		cols := strings.Split(parts[1], ";")
		keys := strings.Split(parts[2], ";")
		out[strings.TrimSpace(parts[0])] = normList(cols, false) + " | " + normList(keys, true)
	}
	return out
}

func normList(items []string, sorted bool) string {
	var out []string
	for _, it := range items {
		if it = strings.Join(strings.Fields(it), " "); it != "" {
			out = append(out, it)
		}
	}
	if sorted {
		sort.Strings(out)
	}
	return strings.Join(out, "; ")
}

var intWidth = regexp.MustCompile(`(?i)^(tinyint|smallint|mediumint|int|bigint)\(\d+\)`)

// normType turns a database's column type into the spec notation.
func normType(t string) string {
	t = intWidth.ReplaceAllString(strings.TrimSpace(t), "$1")
	name, rest, _ := strings.Cut(t, "(")
	if rest != "" {
		rest = "(" + rest
	}
	t = strings.ToUpper(name) + strings.ReplaceAll(rest, "', '", "','")
	t = strings.Replace(t, " unsigned", " U", 1)
	return strings.Replace(t, " UNSIGNED", " U", 1)
}

func normDefault(d sql.NullString) string {
	if !d.Valid || d.String == "NULL" {
		return ""
	}
	return " DEFAULT " + strings.Trim(d.String, "'")
}

// dumpMySQL describes every table of the database from information_schema.
func dumpMySQL(t *testing.T, db *sql.DB) schemaShape {
	t.Helper()
	ctx := context.Background()
	out := schemaShape{}
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`)
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string][]string{}
	for rows.Next() {
		var table, name, typ, nullable, extra string
		var def sql.NullString
		if err := rows.Scan(&table, &name, &typ, &nullable, &def, &extra); err != nil {
			t.Fatal(err)
		}
		c := name + " " + normType(typ)
		if nullable == "NO" {
			c += " NN"
		}
		c += normDefault(def)
		if strings.Contains(strings.ToLower(extra), "auto_increment") {
			c += " AUTO_INCREMENT"
		}
		cols[table] = append(cols[table], c)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ table, name string }
	keyCols := map[key][]string{}
	unique := map[key]bool{}
	var order []key
	for rows.Next() {
		var k key
		var nonUnique int
		var col string
		if err := rows.Scan(&k.table, &k.name, &nonUnique, &col); err != nil {
			t.Fatal(err)
		}
		if _, ok := keyCols[k]; !ok {
			order = append(order, k)
		}
		keyCols[k] = append(keyCols[k], col)
		unique[k] = nonUnique == 0
	}
	rows.Close()
	keys := map[string][]string{}
	for _, k := range order {
		c := strings.Join(keyCols[k], ",")
		switch {
		case k.name == "PRIMARY":
			keys[k.table] = append(keys[k.table], "PK("+c+")")
		case unique[k]:
			keys[k.table] = append(keys[k.table], "UNIQUE "+k.name+"("+c+")")
		default:
			keys[k.table] = append(keys[k.table], "KEY "+k.name+"("+c+")")
		}
	}
	for table, c := range cols {
		out[table] = normList(c, false) + " | " + normList(keys[table], true)
	}
	return out
}

// dumpSQLite describes every table from PRAGMA table_info and index_list.
func dumpSQLite(t *testing.T, db *sql.DB) schemaShape {
	t.Helper()
	ctx := context.Background()
	out := schemaShape{}
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	ddl := map[string]string{}
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			t.Fatal(err)
		}
		ddl[name] = q
	}
	rows.Close()
	for table, q := range ddl {
		var cols, keys, pk []string
		rows, err := db.QueryContext(ctx, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid", table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, typ string
			var notnull bool
			var def sql.NullString
			var pkPos int
			if err := rows.Scan(&name, &typ, &notnull, &def, &pkPos); err != nil {
				t.Fatal(err)
			}
			c := name + " " + normType(typ)
			if notnull {
				c += " NN"
			}
			c += normDefault(def)
			if pkPos > 0 && strings.EqualFold(typ, "INTEGER") && strings.Contains(strings.ToUpper(q), "AUTOINCREMENT") {
				c += " AUTO_INCREMENT"
			}
			if pkPos > 0 {
				pk = append(pk, name)
			}
			cols = append(cols, c)
		}
		rows.Close()
		if len(pk) > 0 {
			keys = append(keys, "PK("+strings.Join(pk, ",")+")")
		}
		rows, err = db.QueryContext(ctx, "SELECT name, \"unique\", origin FROM pragma_index_list(?)", table)
		if err != nil {
			t.Fatal(err)
		}
		type idx struct {
			name, origin string
			unique       bool
		}
		var idxs []idx
		for rows.Next() {
			var i idx
			var seq int
			_ = seq
			if err := rows.Scan(&i.name, &i.unique, &i.origin); err != nil {
				t.Fatal(err)
			}
			idxs = append(idxs, i)
		}
		rows.Close()
		for _, i := range idxs {
			if i.origin == "pk" {
				continue // already from table_info
			}
			var ic []string
			r2, err := db.QueryContext(ctx, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", i.name)
			if err != nil {
				t.Fatal(err)
			}
			for r2.Next() {
				var n string
				r2.Scan(&n)
				ic = append(ic, n)
			}
			r2.Close()
			c := strings.Join(ic, ",")
			switch {
			case i.origin == "u":
				keys = append(keys, "UNIQUE("+c+")")
			case i.unique:
				keys = append(keys, "UNIQUE "+i.name+"("+c+")")
			default:
				keys = append(keys, "KEY "+i.name+"("+c+")")
			}
		}
		out[table] = normList(cols, false) + " | " + normList(keys, true)
	}
	return out
}

func compareShapes(t *testing.T, got, want schemaShape) {
	t.Helper()
	for table, w := range want {
		g, ok := got[table]
		if !ok {
			t.Errorf("table %s missing", table)
			continue
		}
		if g != w {
			t.Errorf("table %s\n got  %s\n want %s", table, g, w)
		}
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			t.Errorf("unexpected table %s: %s", table, got[table])
		}
	}
}

func openRawSQLite(t *testing.T, dsn string) (*sql.DB, string) {
	t.Helper()
	path := strings.TrimPrefix(dsn, "DBI:SQLite:dbname=")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func openRawMySQL(t *testing.T, m mogtest.MySQL) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", m.GoDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// ddlMySQL is SHOW CREATE TABLE of every table plus the settings rows: a
// byte-exact picture to prove a second Setup changed nothing.
func ddlMySQL(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	rows, err := db.Query("SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	sort.Strings(tables)
	for _, tb := range tables {
		var name, create string
		if err := db.QueryRow("SHOW CREATE TABLE `"+tb+"`").Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		// AUTO_INCREMENT=n counters are data, not schema.
		create = regexp.MustCompile(` AUTO_INCREMENT=\d+`).ReplaceAllString(create, "")
		b.WriteString(create + ";\n")
	}
	b.WriteString(settingsDump(t, db))
	return b.String()
}

func ddlSQLite(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	rows, err := db.Query("SELECT type, name, COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, name, q string
		rows.Scan(&typ, &name, &q)
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, q)
	}
	rows.Close()
	b.WriteString(settingsDump(t, db))
	return b.String()
}

func settingsDump(t *testing.T, db *sql.DB) string {
	rows, err := db.Query("SELECT field, value FROM server_settings ORDER BY field")
	if err != nil {
		return "no server_settings: " + err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		fmt.Fprintf(&b, "setting %s=%s\n", k, v)
	}
	return b.String()
}

func TestSchemaSQLite(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	cfg := sqlstore.Config{DSN: dsn}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	db, _ := openRawSQLite(t, dsn)
	compareShapes(t, dumpSQLite(t, db), parseExpect(expectSQLite))
	before := ddlSQLite(t, db)
	var statements []string
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{Status: func(m string) { statements = append(statements, m) }}); err != nil {
		t.Fatal(err)
	}
	if after := ddlSQLite(t, db); after != before {
		t.Fatalf("second Setup changed the schema:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, m := range statements {
		if strings.HasPrefix(m, "Running SQL") {
			t.Errorf("second Setup ran %s", m)
		}
	}
	if len(statements) != 1 || !strings.Contains(statements[0], "already up-to-date at version 17") {
		t.Errorf("second Setup said %q", statements)
	}
	// Ours works with what it made.
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestSchemaMySQL(t *testing.T) {
	ctx := testCtx(t)
	m := mogtest.NewMySQL(t)
	cfg := sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	db := openRawMySQL(t, m)
	compareShapes(t, dumpMySQL(t, db), parseExpect(expectMySQL))
	var engines []string
	rows, err := db.Query("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		rows.Scan(&e)
		if e != "InnoDB" {
			engines = append(engines, e)
		}
	}
	rows.Close()
	if len(engines) > 0 {
		t.Errorf("tables not InnoDB: %v", engines)
	}
	before := ddlMySQL(t, db)
	// Even without the version row the table work is a no-op.
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM server_settings WHERE field = 'schema_version'"); err != nil {
		t.Fatal(err)
	}
	var ran []string
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{Status: func(m string) { ran = append(ran, m) }}); err != nil {
		t.Fatal(err)
	}
	if after := ddlMySQL(t, db); after != before {
		t.Fatalf("Setup again changed the schema:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if len(ran) != 1 || !strings.Contains(ran[0], "REPLACE INTO server_settings") {
		t.Errorf("Setup on a v17 schema without version row ran %q", ran)
	}
}

// v12MySQL is a MogileFS schema as a 2.3x install left it (schema version
// 12): INT fids, no checksum table, no class.hashtype, no host readonly,
// server_settings.value VARCHAR(255), file_to_queue without arg, device
// sizes MEDIUMINT, and before that no host get port/altip, no device
// weight/mb_asof.
var v12MySQL = []string{
	"CREATE TABLE domain (dmid SMALLINT UNSIGNED NOT NULL PRIMARY KEY, namespace VARCHAR(255), UNIQUE (namespace)) ENGINE=InnoDB",
	"CREATE TABLE class (dmid SMALLINT UNSIGNED NOT NULL, classid TINYINT UNSIGNED NOT NULL, PRIMARY KEY (dmid,classid), classname VARCHAR(50), UNIQUE (dmid,classname), mindevcount TINYINT UNSIGNED NOT NULL, replpolicy VARCHAR(255)) ENGINE=InnoDB",
	"CREATE TABLE file (fid INT UNSIGNED NOT NULL, PRIMARY KEY (fid), dmid SMALLINT UNSIGNED NOT NULL, dkey VARCHAR(255), UNIQUE dkey (dmid, dkey), length BIGINT UNSIGNED, classid TINYINT UNSIGNED NOT NULL, devcount TINYINT UNSIGNED NOT NULL, INDEX devcount (dmid,classid,devcount)) ENGINE=InnoDB",
	"CREATE TABLE tempfile (fid INT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY (fid), createtime INT UNSIGNED NOT NULL, classid TINYINT UNSIGNED NOT NULL, dmid SMALLINT UNSIGNED NOT NULL, dkey VARCHAR(255), devids VARCHAR(60)) ENGINE=InnoDB",
	"CREATE TABLE file_to_delete (fid INT UNSIGNED NOT NULL, PRIMARY KEY (fid)) ENGINE=InnoDB",
	"CREATE TABLE unreachable_fids (fid INT UNSIGNED NOT NULL, lastupdate INT UNSIGNED NOT NULL, PRIMARY KEY (fid), INDEX (lastupdate)) ENGINE=InnoDB",
	"CREATE TABLE file_on (fid INT UNSIGNED NOT NULL, devid MEDIUMINT UNSIGNED NOT NULL, PRIMARY KEY (fid, devid), INDEX (devid)) ENGINE=InnoDB",
	"CREATE TABLE file_on_corrupt (fid INT UNSIGNED NOT NULL, devid MEDIUMINT UNSIGNED NOT NULL, PRIMARY KEY (fid, devid)) ENGINE=InnoDB",
	"CREATE TABLE host (hostid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY, status ENUM('alive','dead','down'), http_port MEDIUMINT UNSIGNED DEFAULT 7500, hostname VARCHAR(40), hostip VARCHAR(15), UNIQUE (hostname), UNIQUE (hostip)) ENGINE=InnoDB",
	"CREATE TABLE device (devid MEDIUMINT UNSIGNED NOT NULL, hostid MEDIUMINT UNSIGNED NOT NULL, status ENUM('alive','dead','down'), mb_total MEDIUMINT UNSIGNED, mb_used MEDIUMINT UNSIGNED, PRIMARY KEY (devid), INDEX (status)) ENGINE=InnoDB",
	"CREATE TABLE server_settings (field VARCHAR(50) PRIMARY KEY, value VARCHAR(255)) ENGINE=InnoDB",
	"CREATE TABLE file_to_replicate (fid INT UNSIGNED NOT NULL PRIMARY KEY, nexttry INT UNSIGNED NOT NULL, INDEX (nexttry), fromdevid INT UNSIGNED, failcount TINYINT UNSIGNED NOT NULL DEFAULT 0, flags SMALLINT UNSIGNED NOT NULL DEFAULT 0) ENGINE=InnoDB",
	"CREATE TABLE file_to_delete_later (fid INT UNSIGNED NOT NULL PRIMARY KEY, delafter INT UNSIGNED NOT NULL, INDEX (delafter)) ENGINE=InnoDB",
	"CREATE TABLE fsck_log (logid INT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY (logid), utime INT UNSIGNED NOT NULL, fid INT UNSIGNED NULL, evcode CHAR(4), devid MEDIUMINT UNSIGNED, INDEX(utime)) ENGINE=InnoDB",
	"CREATE TABLE file_to_queue (fid INT UNSIGNED NOT NULL, devid INT UNSIGNED, type TINYINT UNSIGNED NOT NULL, nexttry INT UNSIGNED NOT NULL, failcount TINYINT UNSIGNED NOT NULL default '0', flags SMALLINT UNSIGNED NOT NULL default '0', PRIMARY KEY (fid, type), INDEX type_nexttry (type,nexttry)) ENGINE=InnoDB",
	"CREATE TABLE file_to_delete2 (fid INT UNSIGNED NOT NULL PRIMARY KEY, nexttry INT UNSIGNED NOT NULL, failcount TINYINT UNSIGNED NOT NULL default '0', INDEX nexttry (nexttry)) ENGINE=InnoDB",
	"INSERT INTO server_settings VALUES ('schema_version', '12')",
	"INSERT INTO domain VALUES (1, 'old')",
	"INSERT INTO class VALUES (1, 1, 'photos', 3, 'MultipleHosts(2)')",
	"INSERT INTO host VALUES (1, 'alive', 7500, 'h1', '10.0.0.1')",
	"INSERT INTO device VALUES (1, 1, 'alive', 1000, 10)",
	"INSERT INTO file VALUES (41, 1, 'kept', 5, 1, 1)",
	"INSERT INTO file_on VALUES (41, 1)",
}

func TestUpgradeMySQLFromV12(t *testing.T) {
	ctx := testCtx(t)
	m := mogtest.NewMySQL(t)
	db := openRawMySQL(t, m)
	for _, q := range v12MySQL {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cfg := sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
	_, err := sqlstore.Open(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "no table checksum") {
		t.Fatalf("Open of a v12 database: %v, want missing checksum table", err)
	}
	// Declining the upgrade changes nothing.
	before := ddlMySQL(t, db)
	var asked []string
	err = sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{Confirm: func(q string) bool { asked = append(asked, q); return false }})
	if err != sqlstore.ErrAborted || len(asked) != 1 || !strings.Contains(asked[0], "from version 12 to version 17") {
		t.Fatalf("declined upgrade: %v, asked %q", err, asked)
	}
	if ddlMySQL(t, db) != before {
		t.Fatal("declined upgrade changed the database")
	}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{Confirm: func(string) bool { return true }}); err != nil {
		t.Fatal(err)
	}
	// The result is the v17 schema except that fids stay INT (and
	// class.replpolicy, added before hashtype, comes first), as the
	// original's upgrade leaves it.
	want := parseExpect(strings.NewReplacer("fid BIGINT", "fid INT",
		"hashtype TINYINT U; replpolicy VARCHAR(255)", "replpolicy VARCHAR(255); hashtype TINYINT U").Replace(expectMySQL))
	compareShapes(t, dumpMySQL(t, db), want)
	once := ddlMySQL(t, db)
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if ddlMySQL(t, db) != once {
		t.Fatal("second Setup after the upgrade changed the schema")
	}

	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.FileByKey(ctx, 1, "kept")
	if err != nil || f.FID != 41 || f.Length != 5 {
		t.Fatalf("old file after upgrade: %+v %v", f, err)
	}
	cs, err := s.Classes(ctx)
	if err != nil || len(cs) != 1 || cs[0].ReplPolicy != "MultipleHosts(2)" || cs[0].MinDevCount != 3 {
		t.Fatalf("old class after upgrade: %+v %v", cs, err)
	}
	// What the new columns and states are for now works.
	cs[0].HashType = store.HashMD5
	if err := s.UpdateClass(ctx, cs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateHost(ctx, store.Host{ID: 1, Name: "h1", IP: "10.0.0.1", Status: "readonly", HTTPPort: 7500, HTTPGetPort: 7600, AltIP: "10.1.0.1", AltMask: "10.1.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDeviceStatus(ctx, 1, "drain"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDeviceUsage(ctx, 1, 20_000_000, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChecksum(ctx, store.Checksum{FID: 41, HashType: store.HashMD5, Sum: make([]byte, 16)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, store.QueueRebalance, store.QueueItem{FID: 41, Arg: "2,3"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "slave_keys", strings.Repeat("x", 400)); err != nil {
		t.Fatal(err)
	}
	fid, err := s.RegisterTempfile(ctx, store.Tempfile{DomainID: 1, Key: "new", DevIDs: []int{1}})
	if err != nil || fid <= 41 {
		t.Fatalf("new fid %d %v, want > 41", fid, err)
	}
}

// originalFileTables are the original's SQLite file and checksum tables,
// whose INT UNSIGNED fid is not the rowid (ours is INTEGER, which is).
var originalFileTables = []string{
	"CREATE TABLE file (fid INT UNSIGNED NOT NULL PRIMARY KEY, dmid SMALLINT UNSIGNED NOT NULL, dkey VARCHAR(255), length INT UNSIGNED, classid TINYINT UNSIGNED NOT NULL, devcount TINYINT UNSIGNED NOT NULL, UNIQUE (dmid, dkey))",
	"CREATE TABLE checksum (fid INT UNSIGNED NOT NULL PRIMARY KEY, hashtype TINYINT UNSIGNED NOT NULL, checksum VARBINARY(64) NOT NULL)",
}

// TestSQLiteFidIsRowid: on a database Setup creates, file.fid and
// checksum.fid are the rowid (no index of their own); on one with the
// original's tables, Setup leaves them as they are.
func TestSQLiteFidIsRowid(t *testing.T) {
	ctx := testCtx(t)
	pkIndexes := func(db *sql.DB, table string) int {
		t.Helper()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM pragma_index_list(?) WHERE origin = 'pk'", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	dsn := mogtest.SQLiteDSN(t)
	if err := sqlstore.Setup(ctx, sqlstore.Config{DSN: dsn}, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	db, _ := openRawSQLite(t, dsn)
	for _, table := range []string{"file", "checksum"} {
		if n := pkIndexes(db, table); n != 0 {
			t.Errorf("new database: %s has %d primary key indexes, want the rowid", table, n)
		}
	}

	dsn = mogtest.SQLiteDSN(t)
	db, _ = openRawSQLite(t, dsn)
	for _, q := range originalFileTables {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := sqlstore.Setup(ctx, sqlstore.Config{DSN: dsn}, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"file", "checksum"} {
		if n := pkIndexes(db, table); n != 1 {
			t.Errorf("original's tables: %s has %d primary key indexes after Setup, want its own 1", table, n)
		}
	}
}

func TestUpgradeSQLiteOldSchema(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	db, _ := openRawSQLite(t, dsn)
	// An old SQLite install: no lock table, class without replpolicy and
	// hashtype, no checksum table, version 14.
	for _, q := range []string{
		"CREATE TABLE class (dmid SMALLINT UNSIGNED NOT NULL, classid TINYINT UNSIGNED NOT NULL, classname VARCHAR(50), mindevcount TINYINT UNSIGNED NOT NULL, UNIQUE (dmid,classid), UNIQUE (dmid,classname))",
		"CREATE TABLE server_settings (field VARCHAR(50) PRIMARY KEY, value TEXT)",
		"INSERT INTO server_settings VALUES ('schema_version', '14')",
		"INSERT INTO class VALUES (1, 1, 'c', 2)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := sqlstore.Config{DSN: dsn}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// class.replpolicy is added before hashtype, as by the original.
	compareShapes(t, dumpSQLite(t, db), parseExpect(strings.Replace(expectSQLite,
		"hashtype TINYINT U; replpolicy VARCHAR(255)", "replpolicy VARCHAR(255); hashtype TINYINT U", 1)))
	s, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.Classes(ctx)
	if err != nil || len(cs) != 1 || cs[0].Name != "c" {
		t.Fatalf("classes after upgrade: %+v %v", cs, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := testCtx(t)
	t.Run("newer schema", func(t *testing.T) {
		dsn := mogtest.SQLiteDSN(t)
		cfg := sqlstore.Config{DSN: dsn}
		if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
			t.Fatal(err)
		}
		db, _ := openRawSQLite(t, dsn)
		if _, err := db.Exec("UPDATE server_settings SET value = '18' WHERE field = 'schema_version'"); err != nil {
			t.Fatal(err)
		}
		_, err := sqlstore.Open(ctx, cfg)
		wantOneLine(t, err, "schema version 18 is newer", "17")
		err = sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{})
		wantOneLine(t, err, "schema version 18 is newer", "aborting")
		if _, err := db.Exec("UPDATE server_settings SET value = '16' WHERE field = 'schema_version'"); err != nil {
			t.Fatal(err)
		}
		_, err = sqlstore.Open(ctx, cfg)
		wantOneLine(t, err, "schema version 16 doesn't match expected 17")
		cfg.NoSchemaCheck = true
		s, err := sqlstore.Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open with NoSchemaCheck: %v", err)
		}
		s.Close()
	})
	t.Run("not mogilefs sqlite", func(t *testing.T) {
		dsn := mogtest.SQLiteDSN(t)
		db, path := openRawSQLite(t, dsn)
		if _, err := db.Exec("CREATE TABLE accounts (id INT)"); err != nil {
			t.Fatal(err)
		}
		before := ddlSQLite(t, db)
		_, err := sqlstore.Open(ctx, sqlstore.Config{DSN: dsn})
		wantOneLine(t, err, "not a MogileFS database (no table lock)", path)
		err = sqlstore.Setup(ctx, sqlstore.Config{DSN: dsn}, sqlstore.SetupOptions{})
		wantOneLine(t, err, "not a MogileFS database", "accounts")
		if after := ddlSQLite(t, db); after != before {
			t.Fatalf("refused Setup changed the database:\n%s", after)
		}
	})
	t.Run("garbage sqlite file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "junk.db")
		junk := []byte(strings.Repeat("this is not a database\n", 300))
		if err := os.WriteFile(path, junk, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sqlstore.Open(ctx, sqlstore.Config{DSN: "DBI:SQLite:" + path})
		wantOneLine(t, err, path)
		err = sqlstore.Setup(ctx, sqlstore.Config{DSN: "DBI:SQLite:" + path}, sqlstore.SetupOptions{})
		wantOneLine(t, err, path)
		if b, _ := os.ReadFile(path); string(b) != string(junk) {
			t.Fatal("refused Setup changed the file")
		}
	})
	t.Run("missing sqlite file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "none.db")
		_, err := sqlstore.Open(ctx, sqlstore.Config{DSN: "DBI:SQLite:dbname=" + path})
		wantOneLine(t, err, path)
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatal("Open created the database file")
		}
	})
	t.Run("not mogilefs mysql", func(t *testing.T) {
		m := mogtest.NewMySQL(t)
		cfg := sqlstore.Config{DSN: m.DBIDSN, User: m.User, Password: m.Password}
		_, err := sqlstore.Open(ctx, cfg)
		wantOneLine(t, err, "not a MogileFS database (no table domain)", m.Host)
		db := openRawMySQL(t, m)
		if _, err := db.Exec("CREATE TABLE accounts (id INT)"); err != nil {
			t.Fatal(err)
		}
		before := ddlMySQL(t, db)
		err = sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{})
		wantOneLine(t, err, "not a MogileFS database", "accounts")
		if ddlMySQL(t, db) != before {
			t.Fatal("refused Setup changed the database")
		}
	})
	t.Run("unreachable mysql", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close() // nothing listens there now
		dsn := "DBI:mysql:database=mogilefs;host=127.0.0.1;port=" + strconv.Itoa(port)
		_, err = sqlstore.Open(ctx, sqlstore.Config{DSN: dsn, User: "mogile"})
		wantOneLine(t, err, "127.0.0.1:"+strconv.Itoa(port))
	})
	t.Run("bad dsn", func(t *testing.T) {
		_, err := sqlstore.Open(ctx, sqlstore.Config{DSN: "DBI:Pg:dbname=x"})
		wantOneLine(t, err, "Postgres is not supported")
	})
}

func wantOneLine(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not mention %q", msg, p)
		}
	}
}
