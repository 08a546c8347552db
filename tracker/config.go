package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/acl"
	"github.com/mogilefs-go/mogilefs/internal/conffile"
)

// Version is what !version reports: the protocol level of the original
// this tracker implements.
const Version = "2.73"

// Config is the tracker's configuration (the original's mogilefsd.conf
// plus its command line).
type Config struct {
	// Listen holds "ip:port" addresses to serve the protocol on.
	Listen []string
	// DBDSN names the metadata database: one DSN, or the servers of one
	// database (Galera nodes) in the order they are tried (db_dsn
	// repeated). DBUser and DBPass are its credentials. Used by the
	// program that opens the store.
	DBDSN          []string
	DBUser, DBPass string
	// QueryJobs bounds the queries run at the same time (query_jobs).
	QueryJobs int
	// Background job counts (the workers use them).
	DeleteJobs, ReplicateJobs, FsckJobs, ReaperJobs int
	JobMaster                                       bool
	// MinFreeSpaceMB is the space a device must keep free to get new
	// files (min_free_space).
	MinFreeSpaceMB int64
	// DefaultMinDevCount is the mindevcount of implicit default classes.
	DefaultMinDevCount int
	// NodeTimeout and ConnTimeout bound storage node answers and
	// connects.
	NodeTimeout, ConnTimeout time.Duration
	ConnPoolSize             int
	// MogstoredStreamPort is the side-channel port of every node.
	MogstoredStreamPort    int
	RebalanceIgnoreMissing bool
	ReplUseGetPort         bool
	NoSchemaCheck          bool
	Daemonize              bool
	Debug                  int
	PIDFile                string
	User                   string
	// MetricsListen is where cmd/mogilefsd serves Prometheus metrics
	// (metrics_listen; "" = nowhere). Not in the original.
	MetricsListen string
	// DBListConns is how many list_keys queries run at once on a
	// MySQL/MariaDB database (db_list_conns; 0: sqlstore's default). Not
	// in the original.
	DBListConns int
	// AdminAllow, if set, lists the client networks that may run admin
	// commands (admin_allow; see acl.go). Nil allows every client, as
	// the original does.
	AdminAllow *acl.List

	// Hostname is this tracker's name for fsck_host and rebal_host.
	Hostname string
	// Testing enables the original's test hooks (env TESTING).
	Testing bool
	// TempfileTooOld is the tempfile reaper's age (0: an hour; the test
	// suite's T_TEMPFILE_TOO_OLD): fastpath_info's lease_ttl stays well
	// inside it.
	TempfileTooOld time.Duration
	// FakeUtilization: T_FAKE_IO_DEV<n> values under Testing.
	FakeUtilization map[int]string

	Logger *slog.Logger

	// Background, if set, starts the background jobs (replication,
	// deletion, fsck, reaper, job master). Run calls it once the
	// database checks passed and the monitor runs, with the Server for
	// Cluster, Nodes, FIDCache, Logger and AddJob; at shutdown Run calls
	// the returned stop function (which must wait for the jobs to end)
	// after the last command has answered and before the monitor stops.
	Background func(ctx context.Context, s *Server) (stop func(), err error)
}

// DefaultConfig returns the original's defaults.
func DefaultConfig() Config {
	return Config{
		Listen:              []string{"0.0.0.0:7001"},
		DBDSN:               []string{"DBI:mysql:mogilefs"},
		DBUser:              "mogile",
		QueryJobs:           20,
		DeleteJobs:          1,
		ReplicateJobs:       1,
		FsckJobs:            1,
		ReaperJobs:          1,
		JobMaster:           true,
		MinFreeSpaceMB:      100,
		DefaultMinDevCount:  2,
		NodeTimeout:         2 * time.Second,
		ConnTimeout:         2 * time.Second,
		ConnPoolSize:        20,
		MogstoredStreamPort: 7501,
	}
}

// Setting is one configuration value and where it came from ("line 12" of
// the config file, or "--listen" on the command line), for error messages.
type Setting struct {
	Value  string
	Origin string
}

type keyKind int

const (
	kindString keyKind = iota
	kindBool
	kindUint // non-negative integer
	kindPort
	kindSeconds
	kindListen
	kindLines // repeatable: each line of the file or option is one value
	kindNets  // an acl allow-list
)

type keySpec struct {
	kind keyKind
	// min is the smallest value a kindUint accepts.
	min int64
	// ignored says the key is accepted but has no effect in this
	// tracker; a warning names it when it is set.
	ignored string
}

// configKeys lists every key the original's mogilefsd.conf accepts.
var configKeys = map[string]keySpec{
	"daemonize":                {kind: kindBool},
	"db_dsn":                   {kind: kindLines},
	"db_user":                  {kind: kindString},
	"db_pass":                  {kind: kindString},
	"conf_port":                {kind: kindPort},
	"listen":                   {kind: kindListen},
	"query_jobs":               {kind: kindUint, min: 1},
	"listener_jobs":            {kind: kindUint, min: 1},
	"delete_jobs":              {kind: kindUint},
	"replicate_jobs":           {kind: kindUint},
	"fsck_jobs":                {kind: kindUint},
	"reaper_jobs":              {kind: kindUint},
	"monitor_jobs":             {kind: kindUint, ignored: "there is always exactly one monitor (as in the original)"},
	"job_master":               {kind: kindBool},
	"min_free_space":           {kind: kindUint},
	"max_disk_age":             {kind: kindUint, ignored: "unused (as in the original)"},
	"max_handles":              {kind: kindUint, ignored: "database handles are pooled; no periodic reconnect"},
	"debug":                    {kind: kindUint},
	"pidfile":                  {kind: kindString},
	"mogstored_stream_port":    {kind: kindPort},
	"default_mindevcount":      {kind: kindUint, min: 1},
	"node_timeout":             {kind: kindSeconds},
	"conn_timeout":             {kind: kindSeconds},
	"conn_pool_size":           {kind: kindUint, min: 1},
	"rebalance_ignore_missing": {kind: kindBool},
	"repl_use_get_port":        {kind: kindBool},
	"local_network":            {kind: kindString, ignored: "only used by plugins, which are not supported"},
	"no_schema_check":          {kind: kindBool},
	"plugins":                  {kind: kindString, ignored: "plugins are not supported"},
	"user":                     {kind: kindString},
	"metrics_listen":           {kind: kindString},
	"db_list_conns":            {kind: kindUint, min: 1},
	"admin_allow":              {kind: kindNets},
}

// KnownConfigKey reports whether key is a mogilefsd.conf key.
func KnownConfigKey(key string) bool { _, ok := configKeys[key]; return ok }

// ParseConfig builds a Config from the config file's entries and the
// command-line settings (which win), on top of DefaultConfig. An unknown
// key or a bad value is an error naming its line (or option); keys that
// are accepted without effect come back as warnings naming them.
func ParseConfig(file []conffile.Entry, cli map[string]Setting) (Config, []string, error) {
	merged, err := mergeSettings(file, cli)
	if err != nil {
		return Config{}, nil, err
	}
	cfg := DefaultConfig()
	var warnings []string
	confPort := 7001
	var listen []string
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := merged[k]
		spec := configKeys[k]
		v, err := parseSetting(spec, s.Value)
		if err != nil {
			return Config{}, nil, fmt.Errorf("%s: bad value %q for %s: %w", s.Origin, s.Value, k, err)
		}
		if spec.ignored != "" {
			warnings = append(warnings, fmt.Sprintf("%s: setting %q is accepted but has no effect: %s", s.Origin, k, spec.ignored))
		}
		switch k {
		case "conf_port":
			confPort = int(v.n)
		case "listen":
			listen = v.list
		case "query_jobs":
			if _, legacy := merged["listener_jobs"]; !legacy {
				cfg.QueryJobs = int(v.n)
			}
		default:
			applySetting(&cfg, k, v)
		}
	}
	if len(listen) == 0 {
		listen = []string{"0.0.0.0"}
	}
	cfg.Listen = nil
	for _, a := range listen {
		if !strings.Contains(a, ":") {
			a = net.JoinHostPort(a, strconv.Itoa(confPort))
		}
		cfg.Listen = append(cfg.Listen, a)
	}
	return cfg, warnings, nil
}

// mergeSettings checks the keys and lets the command line override the
// file.
func mergeSettings(file []conffile.Entry, cli map[string]Setting) (map[string]Setting, error) {
	merged := map[string]Setting{}
	for _, e := range file {
		if _, ok := configKeys[e.Key]; !ok {
			return nil, fmt.Errorf("config line %d: unknown setting %q", e.Line, e.Key)
		}
		if e.Value == "" {
			return nil, fmt.Errorf("config line %d: no value for %q", e.Line, e.Key)
		}
		if prev, ok := merged[e.Key]; ok && configKeys[e.Key].kind == kindLines {
			merged[e.Key] = Setting{Value: prev.Value + "\n" + e.Value, Origin: prev.Origin}
			continue
		}
		merged[e.Key] = Setting{Value: e.Value, Origin: fmt.Sprintf("config line %d", e.Line)}
	}
	for k, s := range cli {
		if _, ok := configKeys[k]; !ok {
			return nil, fmt.Errorf("%s: unknown setting %q", s.Origin, k)
		}
		merged[k] = s
	}
	return merged, nil
}

// value is a parsed setting.
type value struct {
	raw  string // as given (db_pass keeps its spaces)
	str  string // trimmed
	n    int64
	b    bool
	dur  time.Duration
	list []string
	nets *acl.List
}

func parseSetting(spec keySpec, raw string) (value, error) {
	v := value{raw: raw, str: strings.TrimSpace(raw)}
	switch spec.kind {
	case kindBool:
		var ok bool
		if v.b, ok = parseBool(v.str); !ok {
			return v, errors.New("want 0 or 1")
		}
	case kindUint:
		x, err := strconv.ParseInt(v.str, 10, 64)
		if err != nil || x < spec.min {
			return v, fmt.Errorf("want a whole number >= %d", spec.min)
		}
		v.n = x
	case kindPort:
		x, err := strconv.ParseInt(v.str, 10, 64)
		if err != nil || x < 1 || x > 65535 {
			return v, errors.New("want a port number")
		}
		v.n = x
	case kindSeconds:
		x, err := strconv.ParseFloat(v.str, 64)
		if err != nil || x <= 0 || x > 86400 {
			return v, errors.New("want seconds > 0")
		}
		v.dur = time.Duration(x * float64(time.Second))
	case kindListen:
		for _, a := range strings.Split(v.str, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if err := checkListen(a); err != nil {
				return v, err
			}
			v.list = append(v.list, a)
		}
		if len(v.list) == 0 {
			return v, errors.New("no address")
		}
	case kindLines:
		for _, l := range strings.Split(v.str, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				v.list = append(v.list, l)
			}
		}
		if len(v.list) == 0 {
			return v, errors.New("empty")
		}
	case kindNets:
		l, err := acl.Parse(v.str)
		if err != nil {
			return v, err
		}
		v.nets = l
	}
	return v, nil
}

// applySetting stores a parsed value in its Config field.
func applySetting(cfg *Config, key string, v value) {
	switch key {
	case "daemonize":
		cfg.Daemonize = v.b
	case "db_dsn":
		cfg.DBDSN = v.list
	case "db_user":
		cfg.DBUser = v.str
	case "db_pass":
		cfg.DBPass = v.raw
	case "listener_jobs":
		cfg.QueryJobs = int(v.n)
	case "delete_jobs":
		cfg.DeleteJobs = int(v.n)
	case "replicate_jobs":
		cfg.ReplicateJobs = int(v.n)
	case "fsck_jobs":
		cfg.FsckJobs = int(v.n)
	case "reaper_jobs":
		cfg.ReaperJobs = int(v.n)
	case "job_master":
		cfg.JobMaster = v.b
	case "min_free_space":
		cfg.MinFreeSpaceMB = v.n
	case "debug":
		cfg.Debug = int(v.n)
	case "pidfile":
		cfg.PIDFile = v.str
	case "mogstored_stream_port":
		cfg.MogstoredStreamPort = int(v.n)
	case "default_mindevcount":
		cfg.DefaultMinDevCount = int(v.n)
	case "node_timeout":
		cfg.NodeTimeout = v.dur
	case "conn_timeout":
		cfg.ConnTimeout = v.dur
	case "conn_pool_size":
		cfg.ConnPoolSize = int(v.n)
	case "rebalance_ignore_missing":
		cfg.RebalanceIgnoreMissing = v.b
	case "repl_use_get_port":
		cfg.ReplUseGetPort = v.b
	case "no_schema_check":
		cfg.NoSchemaCheck = v.b
	case "user":
		cfg.User = v.str
	case "metrics_listen":
		cfg.MetricsListen = v.str
	case "db_list_conns":
		cfg.DBListConns = int(v.n)
	case "admin_allow":
		cfg.AdminAllow = v.nets
	}
}

func checkListen(a string) error {
	host, port := a, ""
	if strings.Contains(a, ":") {
		var err error
		host, port, err = net.SplitHostPort(a)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("bad port in %q", a)
		}
	}
	if host != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q is not an IP address", host)
	}
	return nil
}

// parseBool accepts the values a Perl config reads as booleans.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "0", "", "no", "n", "off", "false", "f":
		return false, true
	case "1", "yes", "y", "on", "true", "t":
		return true, true
	}
	return false, false
}
