package mountcmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/internal/conffile"
	"github.com/mogilefs-go/mogilefs/mogfs"
)

// SystemConfig is the system-wide configuration file of the MogileFS
// utilities.
const SystemConfig = "/etc/mogilefs/mogilefs.conf"

// Env is what the command reads from its surroundings.
type Env struct {
	Args   []string // os.Args
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// EtcConfig is the system configuration file (SystemConfig); tests
	// point it elsewhere.
	EtcConfig string
}

// Options is a parsed command line.
type Options struct {
	Source     string // SOURCE positional ("" if none)
	Mountpoint string
	Trackers   []string
	Domain     string
	Class      string
	Conf       string
	Foreground bool
	CacheDir   string
	CacheSize  int64
	TTL        time.Duration
	OpenCache  time.Duration
	Timeout    time.Duration
	UID, GID   int
	AllowOther bool
	ReadOnly   bool
	Debug      bool
	LogFile    string
	// Fake: mount(8) helper -f, do nothing.
	Fake bool
	// FuseOptions are -o options passed on to the kernel mount.
	FuseOptions []string
	// MetricsListen is where /metrics is served ("" = nowhere).
	MetricsListen string
	// MaxNodes caps the nodes kept for the kernel (0: no cap).
	MaxNodes int
	// ContentCache is the bytes of small files' content kept after
	// their commit (0: none).
	ContentCache int64
}

// usageError is a command-line mistake: exit status 2 with usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usageText = `Usage: mogfs [flags] MOUNTPOINT
       mogfs [flags] TRACKERS MOUNTPOINT [-o OPTIONS]
       mount -t fuse.mogfs TRACKERS MOUNTPOINT -o domain=DOMAIN
Mounts a MogileFS cluster (or one domain of it) as a filesystem.
See docs/mogfs.md.

Flags:
`

// ignoredOptions are mount(8)/fstab options that mean nothing to mogfs.
var ignoredOptions = map[string]bool{
	"rw": true, "defaults": true, "dev": true, "nodev": true, "suid": true, "nosuid": true,
	"exec": true, "noexec": true, "async": true, "atime": true, "noatime": true,
	"relatime": true, "norelatime": true, "diratime": true, "nodiratime": true,
	"strictatime": true, "auto": true, "noauto": true, "user": true, "users": true,
	"nouser": true, "owner": true, "group": true, "_netdev": true, "nofail": true,
	"default_permissions": true, "nonempty": true,
}

// cmdline holds what parse reads before it is checked.
type cmdline struct {
	trackers, cacheSize, contentCache string
	opts                              []string
	help, sloppy                      bool
}

// newFlagSet declares the flags. helper is set when mogfs runs as a
// mount(8) helper (mount.fuse.mogfs): "-f" then means fake, not
// foreground, and -s, -n, -v and -t are taken as mount(8) passes them.
func newFlagSet(o *Options, c *cmdline, helper bool) *pflag.FlagSet {
	fs := pflag.NewFlagSet("mogfs", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&c.trackers, "trackers", "", "trackers, host:port[,host:port...]")
	fs.StringVar(&o.Domain, "domain", "", "domain to mount (default: every domain, as directories)")
	fs.StringVar(&o.Class, "class", "", "class of new files (default: the domain's default class)")
	fs.StringVar(&o.Conf, "conf", "", "configuration file read before ~/.mogilefs.conf and "+SystemConfig)
	if helper {
		fs.BoolVar(&o.Foreground, "foreground", false, "stay in the foreground and log to stderr")
		fs.BoolVarP(&o.Fake, "fake", "f", false, "do nothing (mount -f)")
		fs.BoolVarP(&c.sloppy, "sloppy", "s", false, "ignore unknown options")
		fs.BoolP("no-mtab", "n", false, "")
		fs.BoolP("verbose", "v", false, "")
		fs.StringP("type", "t", "", "")
	} else {
		fs.BoolVarP(&o.Foreground, "foreground", "f", false, "stay in the foreground and log to stderr")
	}
	fs.StringVar(&o.CacheDir, "cache-dir", "", "write spool directory (default ~/.cache/mogfs)")
	fs.StringVar(&c.cacheSize, "cache-size", "10GiB", "bound of the write spool")
	fs.StringVar(&c.contentCache, "content-cache", "64MiB", "memory kept of small files' content after writing them, to read them back without a GET (0: none)")
	fs.DurationVar(&o.TTL, "ttl", time.Second, "kernel attribute and entry cache time")
	fs.DurationVar(&o.OpenCache, "open-cache", 0, "how long opens use the version of a file the tracker last named, without asking again (0: close-to-open)")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "tracker reply timeout")
	fs.IntVar(&o.UID, "uid", o.UID, "owner of every file")
	fs.IntVar(&o.GID, "gid", o.GID, "group of every file")
	fs.BoolVar(&o.AllowOther, "allow-other", false, "let other users access the mount")
	fs.BoolVar(&o.ReadOnly, "read-only", false, "mount read-only")
	fs.StringVar(&o.LogFile, "log-file", "", "log file of the background process (default: syslog)")
	fs.BoolVar(&o.Debug, "debug", false, "log every FUSE request")
	fs.IntVar(&o.MaxNodes, "max-nodes", mogfs.DefaultMaxNodes, "cap on the files and directories the kernel is let keep looked up (0: no cap)")
	fs.StringVar(&o.MetricsListen, "metrics-listen", "", "serve Prometheus /metrics and /debug/pprof on ip:port (off by default)")
	fs.StringArrayVarP(&c.opts, "options", "o", nil, "comma-separated mount options (see docs/mogfs.md)")
	fs.BoolVarP(&c.help, "help", "h", false, "show this help")
	return fs
}

// parse reads the command line: flags, -o options, the positional
// arguments, then the configuration files for what is still unset.
func parse(env *Env, args []string, helper bool) (*Options, error) {
	o := &Options{UID: os.Getuid(), GID: os.Getgid()}
	var c cmdline
	fs := newFlagSet(o, &c, helper)
	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v", err)
	}
	if c.help {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return nil, &helpRequest{usageText + b.String()}
	}
	switch pos := fs.Args(); len(pos) {
	case 1:
		o.Mountpoint = pos[0]
	case 2:
		o.Source, o.Mountpoint = pos[0], pos[1]
	default:
		return nil, usagef("expected MOUNTPOINT or TRACKERS MOUNTPOINT, got %d arguments", len(pos))
	}
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	for _, group := range c.opts {
		for _, opt := range strings.Split(group, ",") {
			if err := o.applyOption(strings.TrimSpace(opt), set, &c); err != nil {
				return nil, err
			}
		}
	}
	if c.trackers == "" && o.Source != "" && o.Source != "mogfs" && o.Source != "none" {
		c.trackers = o.Source
		set["trackers"] = true
	}
	if err := o.applyConfig(env, set, &c.trackers); err != nil {
		return nil, err
	}
	return o, o.finish(env, &c)
}

// finish checks and completes the options.
func (o *Options) finish(env *Env, c *cmdline) error {
	if c.trackers == "" {
		return usagef("no trackers: give --trackers, a TRACKERS source or trackers = in ~/.mogilefs.conf or %s", env.EtcConfig)
	}
	for _, t := range strings.Split(c.trackers, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.Trackers = append(o.Trackers, t)
		}
	}
	n, err := humanize.ParseBytes(c.cacheSize)
	if err != nil || n == 0 {
		return usagef("bad cache size %q", c.cacheSize)
	}
	o.CacheSize = int64(n)
	if n, err = humanize.ParseBytes(c.contentCache); err != nil {
		return usagef("bad content cache size %q", c.contentCache)
	}
	o.ContentCache = int64(n)
	if o.TTL < 0 {
		return usagef("ttl must not be negative")
	}
	if o.OpenCache < 0 {
		return usagef("open-cache must not be negative")
	}
	if o.MaxNodes < 0 {
		return usagef("max-nodes must not be negative")
	}
	if o.Timeout <= 0 {
		return usagef("timeout must be positive")
	}
	if o.Class == "default" {
		o.Class = ""
	}
	if o.CacheDir == "" {
		o.CacheDir = defaultCacheDir(env)
	}
	return nil
}

// helpRequest is --help: the text goes to stdout and the status is 0.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

func defaultCacheDir(env *Env) string {
	if d := env.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "mogfs")
	}
	if h := env.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache", "mogfs")
	}
	return filepath.Join(os.TempDir(), "mogfs-"+strconv.Itoa(os.Getuid()))
}

// applyOption takes one -o option.
func (o *Options) applyOption(opt string, set map[string]bool, c *cmdline) error {
	if opt == "" {
		return nil
	}
	k, v, hasV := strings.Cut(opt, "=")
	strs := map[string]*string{
		"trackers": &c.trackers, "domain": &o.Domain, "class": &o.Class, "conf": &o.Conf,
		"cache_dir": &o.CacheDir, "cache_size": &c.cacheSize, "content_cache": &c.contentCache, "log_file": &o.LogFile,
		"metrics_listen": &o.MetricsListen,
	}
	durs := map[string]*time.Duration{"ttl": &o.TTL, "open_cache": &o.OpenCache, "timeout": &o.Timeout}
	ints := map[string]*int{"uid": &o.UID, "gid": &o.GID, "max_nodes": &o.MaxNodes}
	bools := map[string]*bool{"allow_other": &o.AllowOther, "ro": &o.ReadOnly, "debug": &o.Debug}
	if p, ok := bools[k]; ok {
		*p = true
		return nil
	}
	_, isStr := strs[k]
	_, isDur := durs[k]
	_, isInt := ints[k]
	if !isStr && !isDur && !isInt {
		if ignoredOptions[k] || strings.HasPrefix(k, "x-") || k == "comment" || c.sloppy {
			return nil
		}
		return usagef("unknown mount option %q", opt)
	}
	if !hasV || v == "" {
		return usagef("option %s needs a value", k)
	}
	switch {
	case isStr:
		*strs[k] = v
		set[k] = true
	case isDur:
		d, err := parseDuration(v)
		if err != nil {
			return usagef("option %s: %v", k, err)
		}
		*durs[k] = d
	case isInt:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usagef("bad %s %q", k, v)
		}
		*ints[k] = n
	}
	return nil
}

// parseDuration takes "1s", "500ms", or a plain number of seconds ("2").
func parseDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(v)
}

// configFiles are the files read for trackers, domain and class, most
// important first.
func configFiles(env *Env, explicit string) []string {
	var out []string
	if explicit != "" {
		out = append(out, explicit)
	}
	if f := env.Getenv("MOGUTILSCONF"); f != "" {
		out = append(out, f)
	}
	if home := env.Getenv("HOME"); home != "" {
		out = append(out, filepath.Join(home, ".mogilefs.conf"))
	}
	if env.EtcConfig != "" {
		out = append(out, env.EtcConfig)
	}
	return out
}

// applyConfig fills trackers, domain and class that the command line left
// unset from the configuration files. A file named with --conf must
// exist; the others are skipped when missing.
func (o *Options) applyConfig(env *Env, set map[string]bool, trackers *string) error {
	for i, path := range configFiles(env, o.Conf) {
		entries, err := conffile.ReadFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && (i > 0 || o.Conf == "") {
				continue
			}
			return fmt.Errorf("configuration: %w", err)
		}
		for _, e := range entries {
			switch e.Key {
			case "trackers":
				if !set["trackers"] {
					*trackers, set["trackers"] = e.Value, true
				}
			case "domain":
				if !set["domain"] {
					o.Domain, set["domain"] = e.Value, true
				}
			case "class":
				if !set["class"] {
					o.Class, set["class"] = e.Value, true
				}
			}
		}
	}
	return nil
}
