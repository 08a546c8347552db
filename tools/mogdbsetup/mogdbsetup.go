// Package mogdbsetup is the mogdbsetup tool: it creates or upgrades a
// MogileFS database (MySQL/MariaDB or SQLite) to schema version 17, with
// the original tool's flags. For MySQL it first tries the regular user;
// if that cannot connect it connects as the administrator, creates the
// database, creates the user for '%' and 'localhost' with all privileges
// on it, and reconnects as the user. Running it again changes nothing.
package mogdbsetup

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// options are the command line settings.
type options struct {
	typ          string
	dbhost       string
	dbport       string
	dbname       string
	dbrootuser   string
	dbrootpass   string
	dbuser       string
	dbpass       string
	yes          bool
	verbose      bool
	noSchemaBump bool
	plugins      string
	help         bool
}

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("mogdbsetup", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringVar(&o.typ, "type", "MySQL", "database type: MySQL or SQLite")
	fs.StringVar(&o.dbhost, "dbhost", "localhost", "database server host name or IP")
	fs.StringVar(&o.dbport, "dbport", "", "database server port (default: the driver's)")
	fs.StringVar(&o.dbname, "dbname", "mogilefs", "database to create or upgrade (SQLite: the file)")
	fs.StringVar(&o.dbrootuser, "dbrootuser", "root", "administrator user, needed only to create the database and user")
	fs.StringVar(&o.dbrootpass, "dbrootpassword", "", "administrator password")
	fs.StringVar(&o.dbrootpass, "dbrootpass", "", "same as --dbrootpassword")
	fs.StringVar(&o.dbuser, "dbuser", "mogile", "regular user the trackers connect as")
	fs.StringVar(&o.dbpass, "dbpassword", "", "regular user's password")
	fs.StringVar(&o.dbpass, "dbpass", "", "same as --dbpassword")
	fs.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	fs.BoolVar(&o.verbose, "verbose", false, "print each SQL statement and status on stderr")
	fs.BoolVar(&o.noSchemaBump, "noschemabump", false, "create and upgrade tables but do not set the schema version")
	fs.StringVar(&o.plugins, "plugins", "", "server plugins to load (none are supported)")
	fs.BoolVar(&o.help, "help", false, "show this help")
	return fs
}

// optionalValue reports whether a flag's value may be left out ("--dbpass"
// alone means an empty password).
func optionalValue(name string) bool {
	switch name {
	case "dbrootpassword", "dbrootpass", "dbpassword", "dbpass":
		return true
	}
	return false
}

// normalizeArgs makes the command line what pflag expects, accepting what
// the original's option parser accepts: a single dash before long names,
// any unique prefix of a name in any case, and the password flags without
// a value.
func normalizeArgs(fs *pflag.FlagSet, args []string) ([]string, error) {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		full, err := resolveFlag(names, strings.ToLower(name))
		if err != nil {
			return nil, err
		}
		switch {
		case hasVal:
			out = append(out, "--"+full+"="+val)
		case optionalValue(full):
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				out = append(out, "--"+full+"="+args[i+1])
				i++
			} else {
				out = append(out, "--"+full+"=")
			}
		default:
			out = append(out, "--"+full)
		}
	}
	return out, nil
}

func resolveFlag(names []string, name string) (string, error) {
	if slices.Contains(names, name) {
		return name, nil
	}
	var matches []string
	for _, n := range names {
		if strings.HasPrefix(n, name) {
			matches = append(matches, n)
		}
	}
	// dbpass/dbpassword and dbrootpass/dbrootpassword are one option each.
	if len(matches) == 2 && strings.HasPrefix(matches[1], matches[0]) || len(matches) == 2 && strings.HasPrefix(matches[0], matches[1]) {
		return matches[0], nil
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", fmt.Errorf("unknown option --%s", name)
	}
	return "", fmt.Errorf("option --%s is ambiguous (%s)", name, strings.Join(matches, ", "))
}

// errStopped is the answer "no" to a prompt.
var errStopped = errors.New("stopped")

// prompter asks yes/no questions on the terminal unless --yes.
type prompter struct {
	yes bool
	in  *bufio.Reader
	out io.Writer
}

// ask prints q and reads an answer; an empty answer takes the default.
func (p *prompter) ask(q string, def bool) bool {
	if p.yes {
		return true
	}
	hint := "[N/y]"
	if def {
		hint = "[Y/n]"
	}
	fmt.Fprintf(p.out, "\n%s %s: ", q, hint)
	line, err := p.in.ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		if err != nil {
			return false // end of input: never assume yes
		}
		return def
	}
	return strings.HasPrefix(strings.ToLower(line), "y")
}

const usageHead = `Usage: mogdbsetup [options]

Creates or upgrades a MogileFS database to schema version %d. Existing data
is kept. MySQL/MariaDB: if the regular user cannot connect, the
administrator account creates the database and the user (for '%%' and
'localhost') and grants it all privileges on the database.

Options:
`

// Main runs mogdbsetup with args (without the program name) and returns
// the exit status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(io.Discard)
	norm, err := normalizeArgs(fs, args)
	if err == nil {
		err = fs.Parse(norm)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mogdbsetup: %v (see --help)\n", err)
		return 2
	}
	if o.help {
		fmt.Fprintf(stdout, usageHead, store.SchemaVersion)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mogdbsetup: unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	if err := run(ctx, o, stdin, stdout, stderr); err != nil {
		if errors.Is(err, errStopped) || errors.Is(err, sqlstore.ErrAborted) {
			fmt.Fprintln(stderr, "mogdbsetup: stopped; nothing changed")
			return 1
		}
		fmt.Fprintf(stderr, "mogdbsetup: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func run(ctx context.Context, o options, stdin io.Reader, stdout, stderr io.Writer) error {
	status := func(string) {}
	if o.verbose {
		status = func(m string) { fmt.Fprintln(stderr, m) }
	}
	p := &prompter{yes: o.yes, in: bufio.NewReader(stdin), out: stdout}
	if o.plugins != "" {
		return fmt.Errorf("--plugins %q: plugins are not supported", o.plugins)
	}
	var dsn string
	switch strings.ToLower(o.typ) {
	case "mysql":
		// The values go into a DBI DSN: keep its separators out.
		for _, f := range []struct{ name, val string }{{"dbname", o.dbname}, {"dbhost", o.dbhost}, {"dbport", o.dbport}} {
			if strings.ContainsAny(f.val, ";=") || f.name != "dbhost" && strings.Contains(f.val, ":") {
				return fmt.Errorf("--%s %q: bad %s", f.name, f.val, strings.TrimPrefix(f.name, "db"))
			}
		}
		host := o.dbhost
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			host = "[" + host + "]" // IPv6
		}
		dsn = "DBI:mysql:database=" + o.dbname + ";host=" + host
		if o.dbport != "" {
			dsn += ";port=" + o.dbport
		}
	case "sqlite":
		if o.dbname == "" {
			return errors.New("--dbname: no SQLite file name")
		}
		dsn = "DBI:SQLite:" + o.dbname
	case "postgres", "pg":
		return errors.New("--type Postgres: Postgres is not supported (use MySQL or SQLite)")
	default:
		return fmt.Errorf("--type %q: want MySQL or SQLite", o.typ)
	}
	cfg := sqlstore.Config{DSN: dsn, User: o.dbuser, Password: o.dbpass}
	target, err := sqlstore.ParseDSN(dsn, o.dbuser, o.dbpass)
	if err != nil {
		return err
	}
	if !p.ask("This sets up or upgrades a MogileFS database; existing data is kept.\n"+
		"Use --help for the options and --yes to skip these questions.\n\nContinue?", false) {
		return errStopped
	}
	if target.Backend == sqlstore.MySQL {
		if err := ensureMySQLUser(ctx, target, o, p, status); err != nil {
			return err
		}
	}
	err = sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{
		NoSchemaBump: o.noSchemaBump,
		Status:       status,
		Confirm:      func(q string) bool { return p.ask(q, true) },
	})
	if err != nil {
		return err
	}
	if o.noSchemaBump {
		fmt.Fprintf(stderr, "mogdbsetup: --noschemabump: tables created and upgraded, schema version left as it was (not %d)\n", store.SchemaVersion)
	}
	status("Done.")
	return nil
}

// ensureMySQLUser makes sure the regular user can connect to the
// database, creating database and user as the administrator if not.
func ensureMySQLUser(ctx context.Context, t sqlstore.Target, o options, p *prompter, status func(string)) error {
	userErr := ping(ctx, t.MySQL)
	if userErr == nil {
		return nil
	}
	status(fmt.Sprintf("Cannot connect to database %s as %q (%v); trying %q.", o.dbname, o.dbuser, userErr, o.dbrootuser))
	rootCfg := t.MySQL.Clone()
	rootCfg.User, rootCfg.Passwd, rootCfg.DBName = o.dbrootuser, o.dbrootpass, ""
	conn, err := mysql.NewConnector(rootCfg)
	if err != nil {
		return err
	}
	root := sql.OpenDB(conn)
	defer root.Close()
	root.SetMaxOpenConns(1)
	pctx, cancel := context.WithTimeout(ctx, rootCfg.Timeout)
	defer cancel()
	if err := root.PingContext(pctx); err != nil {
		return fmt.Errorf("cannot connect to %s as %q (%v) nor as administrator %q: %w", t.Where(), o.dbuser, userErr, o.dbrootuser, err)
	}
	status(fmt.Sprintf("Connected to %s as %q.", t.Where(), o.dbrootuser))
	db := "`" + t.MySQL.DBName + "`" // ParseDSN allowed only [A-Za-z0-9_$-]
	if !p.ask(fmt.Sprintf("Create database %s if it does not exist?", t.MySQL.DBName), true) {
		return errStopped
	}
	exec := func(q string, args ...any) error {
		status("Running SQL: " + q + ";")
		if _, err := root.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	if err := exec("CREATE DATABASE IF NOT EXISTS " + db); err != nil {
		return err
	}
	if !p.ask(fmt.Sprintf("Create user %q (connecting from anywhere) with all privileges on database %s?", o.dbuser, t.MySQL.DBName), true) {
		return errStopped
	}
	for _, host := range []string{"%", "localhost"} {
		// CREATE USER ... IF NOT EXISTS leaves an existing user's password;
		// the original's GRANT ... IDENTIFIED BY set it, so ALTER USER does.
		if err := exec("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", o.dbuser, host, o.dbpass); err != nil {
			return err
		}
		if err := exec("ALTER USER ?@? IDENTIFIED BY ?", o.dbuser, host, o.dbpass); err != nil {
			return err
		}
		if err := exec("GRANT ALL PRIVILEGES ON "+db+".* TO ?@?", o.dbuser, host); err != nil {
			return err
		}
	}
	if err := ping(ctx, t.MySQL); err != nil {
		return fmt.Errorf("still cannot connect to %s database %s as %q after creating it and the user: %w", t.Where(), t.MySQL.DBName, o.dbuser, err)
	}
	return nil
}

func ping(ctx context.Context, cfg *mysql.Config) error {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	return db.PingContext(pctx)
}
