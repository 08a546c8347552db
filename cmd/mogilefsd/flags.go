package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/tracker"
)

// noValue marks an optional-value flag given without a value.
const noValue = "\x00"

// options are the parsed command line.
type options struct {
	fs         *pflag.FlagSet
	config     string
	skipConfig bool
	cli        map[string]tracker.Setting
	warnings   []string
}

// parseFlags reads the original's command line. Unknown options are
// reported as warnings and skipped, as the original's Getopt does.
func parseFlags(args []string) (*options, error) {
	fs := pflag.NewFlagSet("mogilefsd", pflag.ContinueOnError)
	fs.SortFlags = false
	o := &options{fs: fs, cli: map[string]tracker.Setting{}}
	fs.StringVarP(&o.config, "config", "c", "", "config file (default /etc/mogilefs/mogilefsd.conf if readable)")
	fs.BoolVarP(&o.skipConfig, "skipconfig", "s", false, "read no config file")
	debug := fs.CountP("debug", "d", "more logging (repeatable)")
	fs.BoolP("daemonize", "D", false, "run in the background")
	str := func(name, short, key, usage string) {
		fs.StringP(name, short, "", usage)
		fs.SetAnnotation(name, "key", []string{key})
	}
	fs.StringArray("dsn", nil, "database DSN, e.g. DBI:mysql:mogilefs;host=db or DBI:SQLite:/path; repeat it for the nodes of a Galera cluster, tried in order")
	str("dbuser", "", "db_user", "database user")
	str("dbpass", "", "db_pass", "database password (may be empty)")
	fs.Lookup("dbpass").NoOptDefVal = noValue
	str("db_list_conns", "", "db_list_conns", "list_keys queries run at once on MySQL/MariaDB, more wait (default 1)")
	str("user", "", "user", "user to run as when started as root (root to stay root)")
	str("admin_allow", "", "admin_allow", "client networks allowed admin commands, e.g. 127.0.0.1/32,10.0.0.0/8 (default: all)")
	str("confport", "p", "conf_port", "port for listen addresses without one (7001)")
	fs.StringArrayP("listen", "l", nil, "address to listen on, ip[:port] (repeatable)")
	str("workers", "w", "query_jobs", "queries served at once (query_jobs)")
	str("max_disk_age", "", "max_disk_age", "unused")
	str("min_free_space", "", "min_free_space", "MB a device keeps free")
	str("default_mindevcount", "", "default_mindevcount", "mindevcount of default classes")
	str("node_timeout", "", "node_timeout", "seconds to wait for a storage node")
	str("conn_timeout", "", "conn_timeout", "seconds to connect to a storage node")
	str("conn_pool_size", "", "conn_pool_size", "idle connections kept per storage node")
	str("max_handles", "", "max_handles", "unused")
	str("pidfile", "", "pidfile", "write the process id here")
	str("metrics-listen", "", "metrics_listen", "serve Prometheus /metrics and /debug/pprof on ip:port (off by default)")
	str("metrics_listen", "", "metrics_listen", "same as --metrics-listen")
	fs.MarkHidden("metrics_listen")
	fs.Bool("no_schema_check", false, "do not check the database schema version")
	fs.StringArray("plugins", nil, "plugins to load (not supported)")
	str("repl_use_get_port", "", "repl_use_get_port", "replication reads use the get port (0/1)")
	str("local_network", "", "local_network", "for plugins")
	str("mogstored_stream_port", "", "mogstored_stream_port", "storage side-channel port (7501)")
	fs.Lookup("mogstored_stream_port").NoOptDefVal = noValue
	fs.Bool("job_master", true, "run the job master")
	fs.Bool("no-job_master", false, "do not run the job master")
	fs.Bool("nojob_master", false, "do not run the job master")
	fs.Bool("no_http", false, "ignored")
	workerport := fs.Int("workerport", 0, "ignored")
	for _, n := range []string{"no-job_master", "nojob_master", "no_http", "workerport", "max_disk_age", "max_handles"} {
		fs.MarkHidden(n)
	}

	fs.Usage = func() {
		u := strings.ReplaceAll(fs.FlagUsages(), "[=\""+noValue+"\"]", "[=VALUE]")
		fmt.Fprint(os.Stderr, "Usage: mogilefsd [options]\n"+u)
	}
	o.warnings = unknownFlags(fs, args)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		o.warnings = append(o.warnings, fmt.Sprintf("ignoring arguments: %s", strings.Join(fs.Args(), " ")))
	}
	if *workerport != 0 {
		o.warnings = append(o.warnings, "The command line option --workerport is no longer needed (and has no necessary replacement)")
	}
	fs.Visit(func(f *pflag.Flag) {
		origin := "--" + f.Name
		set := func(key, v string) { o.cli[key] = tracker.Setting{Value: v, Origin: origin} }
		switch f.Name {
		case "debug":
			set("debug", strconv.Itoa(*debug))
		case "daemonize":
			set("daemonize", f.Value.String())
		case "listen":
			vals, _ := fs.GetStringArray("listen")
			set("listen", strings.Join(vals, ","))
		case "dsn":
			vals, _ := fs.GetStringArray("dsn")
			set("db_dsn", strings.Join(vals, "\n"))
		case "plugins":
			vals, _ := fs.GetStringArray("plugins")
			set("plugins", strings.Join(vals, ","))
		case "no_schema_check":
			if f.Value.String() == "true" {
				set("no_schema_check", "1")
			}
		case "job_master":
			set("job_master", boolNum(f.Value.String() == "true"))
		case "no-job_master", "nojob_master":
			if f.Value.String() == "true" {
				set("job_master", "0")
			}
		default:
			key := f.Annotations["key"]
			if len(key) == 0 {
				return
			}
			v := f.Value.String()
			if v == noValue {
				if f.Name == "mogstored_stream_port" {
					return // the original's valueless flag; keep the default
				}
				v = ""
			}
			set(key[0], v)
		}
	})
	return o, nil
}

func boolNum(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// unknownFlags names the options of args that fs does not define.
func unknownFlags(fs *pflag.FlagSet, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return out
		case strings.HasPrefix(a, "--"):
			name, _, hasVal := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			if f == nil {
				out = append(out, "Unknown option: "+name)
				continue
			}
			if !hasVal && f.NoOptDefVal == "" && i+1 < len(args) {
				i++
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				f := fs.ShorthandLookup(a[j : j+1])
				if f == nil {
					out = append(out, "Unknown option: "+a[j:j+1])
					continue
				}
				if f.NoOptDefVal == "" {
					if j == len(a)-1 && i+1 < len(args) {
						i++
					}
					break
				}
			}
		}
	}
	return out
}
