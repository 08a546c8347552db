package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

//go:embed schema/*.sql
var schemaFS embed.FS

// tableDDL is one table's CREATE TABLE and index statements.
type tableDDL struct {
	name  string
	stmts []string
}

var createTableRe = regexp.MustCompile(`(?i)^CREATE\s+TABLE\s+(\w+)`)

// schemaDDL returns the embedded DDL of a backend, table by table in
// creation order.
func schemaDDL(b Backend) ([]tableDDL, error) {
	file := "schema/mysql.sql"
	if b == SQLite {
		file = "schema/sqlite.sql"
	}
	raw, err := schemaFS.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	var out []tableDDL
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		if m := createTableRe.FindStringSubmatch(stmt); m != nil {
			out = append(out, tableDDL{name: m[1]})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: statement before the first CREATE TABLE", file)
		}
		out[len(out)-1].stmts = append(out[len(out)-1].stmts, stmt)
	}
	return out, nil
}

// tableNames lists the tables a MogileFS database of this backend has.
func tableNames(b Backend) []string {
	ddl, err := schemaDDL(b)
	if err != nil {
		panic(err) // the embedded DDL is part of the binary and tested
	}
	names := make([]string, len(ddl))
	for i, t := range ddl {
		names[i] = t.name
	}
	return names
}

// listTables returns the tables of the current database.
func listTables(ctx context.Context, db *sql.DB, b Backend) ([]string, error) {
	q := "SELECT table_name FROM information_schema.TABLES WHERE table_schema = DATABASE()"
	if b == SQLite {
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// column is one column as the database describes it.
type column struct {
	Name    string
	Type    string // MySQL COLUMN_TYPE, SQLite declared type
	NotNull bool
	Default sql.NullString
	Extra   string // MySQL auto_increment; SQLite "pk"
}

// columns describes a table's columns in order.
func columns(ctx context.Context, db *sql.DB, b Backend, table string) ([]column, error) {
	var out []column
	if b == SQLite {
		rows, err := db.QueryContext(ctx, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var c column
			var pk int
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default, &pk); err != nil {
				return nil, err
			}
			if pk > 0 {
				c.Extra = "pk"
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
		ORDER BY ORDINAL_POSITION`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c column
		var nullable string
		if err := rows.Scan(&c.Name, &c.Type, &nullable, &c.Default, &c.Extra); err != nil {
			return nil, err
		}
		c.NotNull = nullable == "NO"
		out = append(out, c)
	}
	return out, rows.Err()
}

func columnType(ctx context.Context, db *sql.DB, b Backend, table, col string) (string, error) {
	cols, err := columns(ctx, db, b, table)
	if err != nil {
		return "", err
	}
	for _, c := range cols {
		if c.Name == col {
			return c.Type, nil
		}
	}
	return "", nil
}

// schemaVersion reads server_settings.schema_version; a missing table or
// row reads as 0, as in the original.
func schemaVersion(ctx context.Context, db *sql.DB, tables []string) (int, error) {
	if !slices.Contains(tables, "server_settings") {
		return 0, nil
	}
	var v sql.NullString
	err := db.QueryRowContext(ctx, "SELECT value FROM server_settings WHERE field = 'schema_version'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v.String))
	if err != nil {
		return 0, fmt.Errorf("schema_version %q is not a number", v.String)
	}
	return n, nil
}

// checkSchema is Open's check: every table exists, and the version is
// store.SchemaVersion unless noVersionCheck.
func (s *Store) checkSchema(ctx context.Context, noVersionCheck bool) error {
	where := s.target.Where()
	tables, err := listTables(ctx, s.wdb, s.target.Backend)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: list tables: %w", where, err)
	}
	for _, want := range tableNames(s.target.Backend) {
		if !slices.Contains(tables, want) {
			return fmt.Errorf("sqlstore: %s: not a MogileFS database (no table %s); create it with mogdbsetup", where, want)
		}
	}
	if noVersionCheck {
		return nil
	}
	v, err := schemaVersion(ctx, s.wdb, tables)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: schema version: %w", where, err)
	}
	switch {
	case v > store.SchemaVersion:
		return fmt.Errorf("sqlstore: %s: database schema version %d is newer than this tracker's %d; refusing to use it", where, v, store.SchemaVersion)
	case v != store.SchemaVersion:
		return fmt.Errorf("sqlstore: %s: database schema version %d doesn't match expected %d; upgrade it with mogdbsetup", where, v, store.SchemaVersion)
	}
	return nil
}

// SetupOptions tune Setup the way mogdbsetup's flags do.
type SetupOptions struct {
	// NoSchemaBump creates and upgrades tables but leaves
	// schema_version alone.
	NoSchemaBump bool
	// Status, if set, gets each SQL statement run and status lines.
	Status func(msg string)
	// Confirm, if set, is asked before upgrading an existing schema;
	// false aborts.
	Confirm func(question string) bool
	// ForceBigFID makes new tables use BIGINT fids even when file.fid is
	// INT (the original's MOG_FIDSIZE=big).
	ForceBigFID bool
}

// ErrAborted is returned by Setup when Confirm said no.
var ErrAborted = errors.New("aborted")

// upgradeColumns are the columns of a table that in-place upgrades add;
// every other column of an existing MogileFS table must already be there.
func upgradeColumns(table string) []string {
	switch table {
	case "host":
		return []string{"http_get_port", "altip", "altmask"}
	case "device":
		return []string{"mb_asof", "weight"}
	case "class":
		return []string{"replpolicy", "hashtype"}
	case "file_to_queue":
		return []string{"arg"}
	}
	return nil
}

// Setup creates the MogileFS tables missing from the database named by cfg
// (a SQLite file is created if needed; a MySQL database must exist), runs
// the original's idempotent in-place upgrades, and sets schema_version to
// 17 unless opt.NoSchemaBump. A database already at version 17 is left
// alone; a newer one, or one that holds other tables and no MogileFS
// table, is refused before anything is written.
func Setup(ctx context.Context, cfg Config, opt SetupOptions) error {
	t, err := ParseDSN(cfg.DSN, cfg.User, cfg.Password)
	if err != nil {
		return err
	}
	s, err := openTarget(ctx, t, cfg, true)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.setup(ctx, opt)
}

func (s *Store) setup(ctx context.Context, opt SetupOptions) error {
	b := s.target.Backend
	where := s.target.Where()
	status := opt.Status
	if status == nil {
		status = func(string) {}
	}
	ddl, err := schemaDDL(b)
	if err != nil {
		return err
	}
	tables, err := listTables(ctx, s.wdb, b)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: list tables: %w", where, err)
	}
	if err := checkForeign(ctx, s.wdb, b, tables); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", where, err)
	}
	cur, err := schemaVersion(ctx, s.wdb, tables)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", where, err)
	}
	if cur > store.SchemaVersion {
		return fmt.Errorf("sqlstore: %s: schema version %d is newer than this setup knows (%d); aborting to be safe", where, cur, store.SchemaVersion)
	}
	run := func(q string) error {
		status("Running SQL: " + q + ";")
		if _, err := s.wdb.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sqlstore: %s: %s: %w", where, firstLine(q), err)
		}
		return nil
	}
	// The original SQLite setup adds the lock table to any database first.
	if b == SQLite && !slices.Contains(tables, "lock") {
		for _, q := range ddl[0].stmts {
			if err := run(q); err != nil {
				return err
			}
		}
		tables = append(tables, "lock")
	}
	if cur == store.SchemaVersion {
		status(fmt.Sprintf("Schema already up-to-date at version %d.", cur))
		return nil
	}
	if cur > 0 && opt.Confirm != nil &&
		!opt.Confirm(fmt.Sprintf("Install/upgrade your schema from version %d to version %d?", cur, store.SchemaVersion)) {
		return ErrAborted
	}
	bigFID := true
	if b == MySQL && slices.Contains(tables, "file") && !opt.ForceBigFID {
		ft, err := columnType(ctx, s.wdb, b, "file", "fid")
		if err != nil {
			return fmt.Errorf("sqlstore: %s: %w", where, err)
		}
		bigFID = strings.HasPrefix(strings.ToLower(ft), "bigint")
	}
	for _, td := range ddl {
		if slices.Contains(tables, td.name) {
			continue
		}
		for _, q := range td.stmts {
			if !bigFID {
				q = strings.Replace(q, "fid BIGINT", "fid INT", 1)
			}
			if err := run(q); err != nil {
				return err
			}
		}
	}
	if err := s.upgrade(ctx, run); err != nil {
		return err
	}
	if opt.NoSchemaBump {
		return nil
	}
	q := fmt.Sprintf("REPLACE INTO server_settings (field, value) VALUES ('schema_version', '%d')", store.SchemaVersion)
	return run(q)
}

func firstLine(q string) string {
	l, _, _ := strings.Cut(q, "\n")
	return strings.TrimSpace(l)
}

// checkForeign refuses a database that is not (even partly) a MogileFS
// database: it has tables but none of ours, or one of ours lacks a column
// no upgrade adds.
func checkForeign(ctx context.Context, db *sql.DB, b Backend, tables []string) error {
	ours := tableNames(b)
	var mine []string
	for _, t := range tables {
		if slices.Contains(ours, t) {
			mine = append(mine, t)
		}
	}
	if len(tables) > 0 && len(mine) == 0 {
		return fmt.Errorf("not a MogileFS database (it has other tables, e.g. %s, and none of MogileFS's)", tables[0])
	}
	ddl, err := schemaDDL(b)
	if err != nil {
		return err
	}
	for _, td := range ddl {
		if !slices.Contains(mine, td.name) {
			continue
		}
		have, err := columns(ctx, db, b, td.name)
		if err != nil {
			return err
		}
		for _, want := range ddlColumns(td.stmts[0]) {
			if slices.Contains(upgradeColumns(td.name), want) {
				continue
			}
			if !slices.ContainsFunc(have, func(c column) bool { return c.Name == want }) {
				return fmt.Errorf("not a MogileFS database (table %s has no column %s)", td.name, want)
			}
		}
	}
	return nil
}

var ddlColumnRe = regexp.MustCompile(`(?m)^\s+([a-z_]+)\s+[A-Z]`)

// ddlColumns lists the column names of a CREATE TABLE statement (one
// column per line; key lines start with an upper-case keyword).
func ddlColumns(create string) []string {
	var out []string
	for _, m := range ddlColumnRe.FindAllStringSubmatch(create, -1) {
		out = append(out, m[1])
	}
	return out
}

// upgradeStep is one of the original's in-place upgrades: it runs when
// need says so for the current type of table.col ("" when missing).
type upgradeStep struct {
	table, col string
	need       func(typ string) bool
	stmts      []string
}

func missing(typ string) bool { return typ == "" }

func lacksWord(w string) func(string) bool {
	re := regexp.MustCompile(`\b` + w + `\b`)
	return func(t string) bool { return !re.MatchString(strings.ToLower(t)) }
}

// upgradeSteps lists a backend's upgrades in the original's order. The
// original upgrades SQLite databases only by the two class columns.
func upgradeSteps(b Backend) []upgradeStep {
	replpolicy := upgradeStep{"class", "replpolicy", missing, []string{"ALTER TABLE class ADD COLUMN replpolicy VARCHAR(255)"}}
	hashtype := upgradeStep{"class", "hashtype", missing, []string{"ALTER TABLE class ADD COLUMN hashtype TINYINT UNSIGNED"}}
	if b == SQLite {
		return []upgradeStep{replpolicy, hashtype}
	}
	isMedium := func(t string) bool { return strings.Contains(strings.ToLower(t), "mediumint") }
	return []upgradeStep{
		{"host", "http_get_port", missing, []string{"ALTER TABLE host ADD COLUMN http_get_port MEDIUMINT UNSIGNED AFTER http_port"}},
		{"host", "altip", missing, []string{
			"ALTER TABLE host ADD COLUMN altip VARCHAR(15) AFTER hostip",
			"ALTER TABLE host ADD COLUMN altmask VARCHAR(18) AFTER altip",
			"ALTER TABLE host ADD UNIQUE altip (altip)"}},
		{"device", "mb_asof", missing, []string{"ALTER TABLE device ADD COLUMN mb_asof INT UNSIGNED AFTER mb_used"}},
		{"device", "weight", missing, []string{"ALTER TABLE device ADD COLUMN weight MEDIUMINT DEFAULT 100 AFTER status"}},
		{"device", "status", lacksWord("readonly"), []string{"ALTER TABLE device MODIFY COLUMN status ENUM('alive','dead','down','readonly')"}},
		{"device", "status", lacksWord("drain"), []string{"ALTER TABLE device MODIFY COLUMN status ENUM('alive','dead','down','readonly','drain')"}},
		replpolicy,
		{"server_settings", "value", lacksWord("text"), []string{"ALTER TABLE server_settings MODIFY COLUMN value TEXT"}},
		{"file_to_queue", "arg", missing, []string{"ALTER TABLE file_to_queue ADD COLUMN arg TEXT"}},
		{"device", "mb_total", isMedium, []string{"ALTER TABLE device MODIFY COLUMN mb_total INT UNSIGNED"}},
		{"device", "mb_used", isMedium, []string{"ALTER TABLE device MODIFY COLUMN mb_used INT UNSIGNED"}},
		hashtype,
		{"host", "status", lacksWord("readonly"), []string{"ALTER TABLE host MODIFY COLUMN status ENUM('alive','dead','down','readonly')"}},
	}
}

// upgrade runs the in-place upgrades; each checks its column first.
func (s *Store) upgrade(ctx context.Context, run func(string) error) error {
	for _, step := range upgradeSteps(s.target.Backend) {
		typ, err := columnType(ctx, s.wdb, s.target.Backend, step.table, step.col)
		if err != nil {
			return err
		}
		if !step.need(typ) {
			continue
		}
		for _, q := range step.stmts {
			if err := run(q); err != nil {
				return err
			}
		}
	}
	return nil
}
