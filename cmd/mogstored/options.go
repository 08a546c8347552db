package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/acl"
	"github.com/mogilefs-go/mogilefs/internal/conffile"
	"github.com/mogilefs-go/mogilefs/mogstored"
)

const usage = `Usage: mogstored [OPTS]

OPTS:
 --daemonize  -d          Daemonize
 --config=<file>  -c      Set config file (default is /etc/mogilefs/mogstored.conf)
 --skipconfig  -s         Do not read a config file
 --httplisten=<ip:port>   IP/Port HTTP server listens on (default 0.0.0.0:7500)
 --mgmtlisten=<ip:port>   IP/Port management/sidechannel listens on (default 0.0.0.0:7501)
 --docroot=<path>         Docroot above device mount points (default /var/mogdata)
 --maxconns=<number>      Number of simultaneous clients to serve (default 10000)
 --server=<type>          perlbal (the built-in server, default), nginx, or none
                          (default from $MOGSTORED_SERVER_TYPE)
 --serverbin=<path>       nginx binary for --server=nginx
 --pidfile=<file>         Write the process id to <file>
 --[no]iostat             Serve disk utilization on "watch" (default on)
 --[no]fsync              Flush each PUT to disk before answering (default on)
 --headertimeout=<secs>   A request head must arrive within this (default 30)
 --idletimeout=<secs>     Keep-alive connections wait this long (default 60)
 --bodytimeout=<secs>     A request body may stall this long (default 60)
 --writetimeout=<secs>    A response may stall this long (default 60)
 --shutdowntimeout=<secs> On SIGTERM, in-flight requests get this long (default 30)
 --write_allow=<nets>     Serve PUT/DELETE only to these client networks, e.g.
                          10.0.0.0/8,127.0.0.1 (default: every client)
 --trackers=<host:port,...> Trackers for the fast path (/_put, /_key, /_fastpath;
                          default none: the fast path is off)
 --metricslisten=<ip:port> Serve Prometheus /metrics and /debug/pprof here (default off;
                          also --metrics-listen)

Options may be abbreviated to a unique prefix and take one or two dashes.
A config file holds "key = value" lines with the long option names as keys;
options given on the command line win over the file.
`

var errHelp = errors.New("help requested")

// options is the parsed command line.
type options struct {
	cfg        mogstored.Config
	config     string
	skipConfig bool
	daemonize  bool
	// metricsListen is where /metrics is served ("" = nowhere).
	metricsListen string
	set           map[string]bool // options given on the command line
}

type optKind int

const (
	kString optKind = iota
	kInt
	kBool
	kDuration
)

type optSpec struct {
	name  string
	alias string
	kind  optKind
	set   func(o *options, v string) error
}

func str(p func(*options) *string) func(*options, string) error {
	return func(o *options, v string) error { *p(o) = v; return nil }
}

func boolean(p func(*options) *bool) func(*options, string) error {
	return func(o *options, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*p(o) = b
		return nil
	}
}

func seconds(p func(*options) *time.Duration) func(*options, string) error {
	return func(o *options, v string) error {
		d, err := parseSeconds(v)
		if err != nil {
			return err
		}
		*p(o) = d
		return nil
	}
}

var specs = []optSpec{
	{"config", "c", kString, str(func(o *options) *string { return &o.config })},
	{"skipconfig", "s", kBool, boolean(func(o *options) *bool { return &o.skipConfig })},
	{"daemonize", "d", kBool, boolean(func(o *options) *bool { return &o.daemonize })},
	{"httplisten", "", kString, str(func(o *options) *string { return &o.cfg.HTTPListen })},
	{"mgmtlisten", "", kString, str(func(o *options) *string { return &o.cfg.MgmtListen })},
	{"docroot", "", kString, str(func(o *options) *string { return &o.cfg.DocRoot })},
	{"maxconns", "", kInt, func(o *options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		o.cfg.MaxConns = n
		return nil
	}},
	{"server", "", kString, str(func(o *options) *string { return &o.cfg.Server })},
	{"serverbin", "", kString, str(func(o *options) *string { return &o.cfg.ServerBin })},
	{"pidfile", "", kString, str(func(o *options) *string { return &o.cfg.PIDFile })},
	{"iostat", "", kBool, boolean(func(o *options) *bool { return &o.cfg.IOStat })},
	{"fsync", "", kBool, boolean(func(o *options) *bool { return &o.cfg.Fsync })},
	{"headertimeout", "", kDuration, seconds(func(o *options) *time.Duration { return &o.cfg.HeaderTimeout })},
	{"idletimeout", "", kDuration, seconds(func(o *options) *time.Duration { return &o.cfg.IdleTimeout })},
	{"bodytimeout", "", kDuration, seconds(func(o *options) *time.Duration { return &o.cfg.BodyTimeout })},
	{"writetimeout", "", kDuration, seconds(func(o *options) *time.Duration { return &o.cfg.WriteTimeout })},
	{"shutdowntimeout", "", kDuration, seconds(func(o *options) *time.Duration { return &o.cfg.ShutdownTimeout })},
	{"write_allow", "", kString, func(o *options, v string) error {
		l, err := acl.Parse(v)
		if err != nil {
			return err
		}
		o.cfg.WriteAllow = l
		return nil
	}},
	{"trackers", "", kString, func(o *options, v string) error {
		o.cfg.Trackers = nil
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				o.cfg.Trackers = append(o.cfg.Trackers, a)
			}
		}
		return nil
	}},
	{"metricslisten", "metrics-listen", kString, str(func(o *options) *string { return &o.metricsListen })},
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use 1 or 0)", v)
}

// parseSeconds takes a number of seconds ("2", "0.5") or a Go duration
// ("500ms").
func parseSeconds(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a number of seconds", v)
	}
	return d, nil
}

// lookup finds an option by exact name or alias, else by unique prefix of
// a name, as Getopt::Long does (case-insensitive).
func lookup(name string) (*optSpec, error) {
	name = strings.ToLower(name)
	for i := range specs {
		if specs[i].name == name || specs[i].alias != "" && specs[i].alias == name {
			return &specs[i], nil
		}
	}
	var hits []string
	var hit *optSpec
	for i := range specs {
		if strings.HasPrefix(specs[i].name, name) {
			hits = append(hits, specs[i].name)
			hit = &specs[i]
		}
	}
	switch len(hits) {
	case 0:
		return nil, fmt.Errorf("Unknown option: %s", name)
	case 1:
		return hit, nil
	}
	sort.Strings(hits)
	return nil, fmt.Errorf("Option %s is ambiguous (%s)", name, strings.Join(hits, ", "))
}

// parseArgs parses the command line. getenv supplies MOGSTORED_SERVER_TYPE
// and MOG_DEV_USAGE_VIA_DU.
func parseArgs(args []string, getenv func(string) string) (*options, error) {
	o := &options{cfg: mogstored.DefaultConfig(), set: map[string]bool{}}
	if t := getenv("MOGSTORED_SERVER_TYPE"); t != "" {
		o.cfg.Server = t
	}
	if getenv("MOG_DEV_USAGE_VIA_DU") != "" {
		o.cfg.DevUsageViaDU = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return nil, fmt.Errorf("unexpected argument %q", args[i+1])
			}
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, val, hasVal := strings.Cut(name, "=")
		if n := strings.ToLower(name); n == "h" || n == "help" {
			return nil, errHelp
		}
		negated := false
		spec, err := lookup(name)
		if err != nil {
			for _, p := range []string{"no-", "no"} {
				if rest, ok := strings.CutPrefix(strings.ToLower(name), p); ok {
					if s, e := lookup(rest); e == nil && s.kind == kBool {
						spec, err, negated = s, nil, true
						break
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
		switch {
		case spec.kind == kBool && negated:
			if hasVal {
				return nil, fmt.Errorf("option %s does not take a value", name)
			}
			val = "0"
		case spec.kind == kBool && !hasVal:
			val = "1"
		case !hasVal:
			if i+1 >= len(args) {
				return nil, fmt.Errorf("Option %s requires an argument", spec.name)
			}
			i++
			val = args[i]
		}
		if err := spec.set(o, val); err != nil {
			return nil, fmt.Errorf("option %s: %w", spec.name, err)
		}
		o.set[spec.name] = true
	}
	return o, nil
}

// loadConfig reads the config file (unless --skipconfig): --config if
// given (it must exist), else the default file if it exists. Settings
// given on the command line are kept.
func (o *options) loadConfig() error {
	if o.skipConfig {
		return nil
	}
	path := o.config
	if path == "" {
		if _, err := os.Stat(mogstored.DefaultConfigFile); err != nil {
			return nil
		}
		path = mogstored.DefaultConfigFile
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("Config file %s doesn't exist.", path)
	}
	entries, err := conffile.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	return o.applyConfig(path, entries)
}

func (o *options) applyConfig(path string, entries []conffile.Entry) error {
	for _, e := range entries {
		key := strings.ToLower(e.Key)
		if key == "create" || key == "server" && strings.Contains(strings.ToLower(e.Value), "max_connect") {
			return fmt.Errorf("%s:%d: Your config file is the old syntax. The new format is simply lines of "+
				"<key> = <value> where keys are the same as mogstored's command line options.", path, e.Line)
		}
		val := e.Value
		if i := strings.IndexByte(val, '#'); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		var spec *optSpec
		for i := range specs {
			if specs[i].name == key || specs[i].alias != "" && specs[i].alias == key {
				spec = &specs[i]
			}
		}
		if spec == nil {
			return fmt.Errorf("%s:%d: Unknown config setting: %s", path, e.Line, e.Key)
		}
		if o.set[spec.name] || spec.name == "config" || spec.name == "skipconfig" {
			continue // the command line wins; config/skipconfig mean nothing here
		}
		if err := spec.set(o, val); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", path, e.Line, e.Key, err)
		}
	}
	return nil
}
