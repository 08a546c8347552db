package mogstats

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// validStats are the names --stats accepts.
var validStats = []string{"all", "delete-queue", "devices", "domains", "fids", "files", "general-queues", "replication", "replication-queue"}

// Run runs the tool as a process and returns the exit status.
func Run() int { return cli.Run(Main) }

func printUsage(w io.Writer, msg string) {
	if msg != "" {
		fmt.Fprintf(w, "ERROR: %s\n\n", msg)
	}
	fmt.Fprint(w, `Usage:
    mogstats --db_dsn="DBI:mysql:mfs:host=mfshost" --db_user="mfs" \
             --db_pass="mfs" --verbose --stats="devices,files"
    mogstats --stats="all"
    mogstats [all options in ~/.mogilefs.conf]

`)
	fmt.Fprintf(w, "valid stats: %s\n", strings.Join(validStats, ", "))
}

// Main runs mogstats and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	fs := cli.NewFlagSet("mogstats")
	var o options
	var conf, lib string
	var help bool
	fs.StringVar(&conf, "config", "", "configuration file")
	fs.StringVar(&lib, "lib", "", "accepted and ignored")
	fs.BoolVar(&help, "help", false, "print usage")
	fs.BoolVar(&o.verbose, "verbose", false, "print progress")
	fs.StringVar(&o.stats, "stats", "", "comma-separated statistics (default all)")
	fs.StringVar(&o.dsn, "db_dsn", "", "database DSN")
	fs.StringVar(&o.user, "db_user", "", "database user")
	fs.StringVar(&o.pass, "db_pass", "", "database password")
	if err := fs.Parse(cli.NormalizeArgs(fs, args)); err != nil {
		fmt.Fprintln(env.Stderr, err)
		printUsage(env.Stdout, "")
		return cli.ExitFail
	}
	files, err := cli.ReadConfigFiles(cli.ConfigFiles(env, conf, false), conf)
	if err == nil {
		err = cli.ApplyConfig(fs, files, "config", "help")
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, cli.Errstr(err))
		return cli.ExitFail
	}
	if help {
		printUsage(env.Stdout, "")
		return cli.ExitFail
	}
	want := map[string]bool{}
	if o.stats == "" {
		o.stats = "all"
	}
	for _, s := range strings.Split(o.stats, ",") {
		if !contains(validStats, s) {
			fmt.Fprintf(env.Stderr, "ERROR: Invalid stat %s\n", s)
			printUsage(env.Stdout, "")
			return cli.ExitFail
		}
		want[s] = true
	}
	if o.dsn == "" {
		fmt.Fprintln(env.Stderr, "ERROR: no database given: use --db_dsn (and --db_user, --db_pass) or db_dsn in ~/.mogilefs.conf")
		return cli.ExitFail
	}
	w := bufio.NewWriter(env.Stdout)
	err = run(ctx, w, o, want)
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = cli.FileFail("Error writing output", ferr)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, cli.Errstr(err))
		return cli.ExitFail
	}
	return cli.ExitOK
}

type options struct {
	dsn, user, pass string
	stats           string
	verbose         bool
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func run(ctx context.Context, w *bufio.Writer, o options, want map[string]bool) error {
	t, err := sqlstore.ParseDSN(o.dsn, o.user, o.pass)
	if err != nil {
		return cli.Fail(cli.ExitFail, err, "Failed to connect to database: %v", err)
	}
	db, err := openReadOnly(ctx, t)
	if err != nil {
		return cli.Fail(cli.ExitFail, err, "Failed to connect to database: %s: %v", t.Where(), err)
	}
	defer db.Close()
	q := &queries{db: db, backend: t.Backend}
	if o.verbose {
		q.verbose = w
	}
	fmt.Fprintf(w, "Fetching statistics... (%s)\n", o.stats)
	st, err := q.collect(ctx, want)
	if err != nil {
		return cli.Fail(cli.ExitFail, err, "Can't fetch stats: %v", err)
	}
	Format(w, want, st)
	return nil
}

// Stats is what mogstats reports.
type Stats struct {
	Devices     []DeviceStat
	MaxFID      sql.NullInt64
	Files       []FileStat                  // per domain and class
	Domains     []FileStat                  // files only (domains stat)
	Replication []ReplStat                  // per domain, class, devcount
	ToReplicate map[string]int64            // queue status -> count
	ToDelete    map[string]int64            // queue status -> count
	Queues      map[string]map[string]int64 // queue -> status -> count
}

// DeviceStat is the number of files on a device.
type DeviceStat struct {
	DevID  int
	Host   string
	Status string
	Files  int64
}

// FileStat is the files of one class.
type FileStat struct {
	Domain, Class string
	Files         int64
	Bytes         int64 // sum of lengths
	FullBytes     int64 // sum of length × devcount
}

// ReplStat counts the files of a class with a given devcount.
type ReplStat struct {
	Domain, Class string
	DevCount      int
	Files         int64
}

// Format prints the tables selected by want.
func Format(w io.Writer, want map[string]bool, st *Stats) {
	all := want["all"]
	if want["devices"] || all {
		fmt.Fprintln(w, "\nStatistics for devices...")
		fmt.Fprintf(w, "  %-10s %-15s %12s %10s\n", "device", "host", "files", "status")
		fmt.Fprintln(w, "  ---------- ---------------- ------------ ----------")
		for _, d := range st.Devices {
			fmt.Fprintf(w, "  %-10s %-10s %10d %10s\n", fmt.Sprintf("dev%d", d.DevID), d.Host, d.Files, d.Status)
		}
		fmt.Fprintln(w, "  ---------- ---------------- ------------ ----------")
	}
	if want["fids"] || all {
		fmt.Fprintln(w, "\nStatistics for file ids...")
		max := "none"
		if st.MaxFID.Valid && st.MaxFID.Int64 != 0 {
			max = fmt.Sprint(st.MaxFID.Int64)
		}
		fmt.Fprintf(w, "  Max file id: %s\n", max)
	}
	if want["files"] || all {
		fmt.Fprintln(w, "\nStatistics for files...")
		fmt.Fprintf(w, "  %-20s %-10s %10s %11s %13s\n", "domain", "class", "files", "size (m)", "fullsize (m)")
		fmt.Fprintln(w, "  -------------------- ----------- ---------- ----------- -------------")
		for _, f := range st.Files {
			fmt.Fprintf(w, "  %-20s %-10s %10d %11d %13d\n", f.Domain, f.Class, f.Files, f.Bytes/(1<<20), f.FullBytes/(1<<20))
		}
		fmt.Fprintln(w, "  -------------------- ----------- ---------- ----------- -------------")
	}
	if want["domains"] && !(want["files"] || all) {
		fmt.Fprintln(w, "\nStatistics for domains...")
		fmt.Fprintf(w, "  %-20s %-10s %10s\n", "domain", "class", "files")
		fmt.Fprintln(w, "  -------------------- ----------- ----------")
		for _, f := range st.Domains {
			fmt.Fprintf(w, "  %-20s %-10s %10d\n", f.Domain, f.Class, f.Files)
		}
		fmt.Fprintln(w, "  -------------------- ----------- ----------")
	}
	if want["replication"] || all {
		fmt.Fprintln(w, "\nStatistics for replication...")
		fmt.Fprintf(w, "  %-20s %-10s %10s %10s\n", "domain", "class", "devcount", "files")
		fmt.Fprintln(w, "  -------------------- ----------- ---------- ----------")
		for _, r := range st.Replication {
			fmt.Fprintf(w, "  %-20s %-10s %10d %10d\n", r.Domain, r.Class, r.DevCount, r.Files)
		}
		fmt.Fprintln(w, "  -------------------- ----------- ---------- ----------")
	}
	queue := func(title string, m map[string]int64) {
		fmt.Fprintf(w, "\nStatistics for %s...\n", title)
		fmt.Fprintf(w, "  %-20s %12s\n", "status", "count")
		fmt.Fprintln(w, "  -------------------- ------------")
		for _, k := range sortedKeys(m) {
			fmt.Fprintf(w, "  %-20s %12d\n", k, m[k])
		}
		fmt.Fprintln(w, "  -------------------- ------------")
	}
	if want["replication-queue"] || all {
		queue("replication queue", st.ToReplicate)
	}
	if want["delete-queue"] || all {
		queue("delete queue", st.ToDelete)
	}
	if want["general-queues"] || all {
		fmt.Fprintln(w, "\nStatistics for general queues...")
		fmt.Fprintf(w, "  %-15s %-20s %12s\n", "queue", "status", "count")
		fmt.Fprintln(w, "  --------------- -------------------- ------------")
		qs := make([]string, 0, len(st.Queues))
		for q := range st.Queues {
			qs = append(qs, q)
		}
		sort.Strings(qs)
		for _, q := range qs {
			for _, k := range sortedKeys(st.Queues[q]) {
				fmt.Fprintf(w, "  %-15s %-20s %12d\n", q, k, st.Queues[q][k])
			}
		}
		fmt.Fprintln(w, "  --------------- -------------------- ------------")
	}
	fmt.Fprintln(w, "\ndone")
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
