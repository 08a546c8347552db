package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/gateway/s3"
	"github.com/mogilefs-go/mogilefs/internal/conffile"
)

// systemConfig is the tools' system-wide configuration file.
const systemConfig = "/etc/mogilefs/mogilefs.conf"

const usage = `Usage: mogproxy --trackers=host:port[,host:port] [options]

HTTP gateway to MogileFS: GET/HEAD/PUT/DELETE <prefix><domain>/<key>.

Options (each may also be set as "name = value" in a configuration file:
--config, $MOGUTILSCONF, ~/.mogilefs.conf, /etc/mogilefs/mogilefs.conf, the
first one naming a setting wins; the command line wins over all):
`

// options are the parsed command line and configuration files.
type options struct {
	cfg      gateway.Config
	logLevel slog.Level
	help     bool
	// metricsListen is where /metrics is served ("" = nowhere).
	metricsListen string
	// s3Listen is where the S3 API is served ("" = nowhere), with the
	// keys of s3Keys and virtual-hosted buckets under s3Domain.
	s3Listen, s3Keys, s3Domain string
	// s3Abandoned is the age at which multipart uploads are aborted
	// (0: never).
	s3Abandoned time.Duration
}

// env is what option parsing reads from the process.
type env struct {
	getenv    func(string) string
	etcConfig string // the system-wide file; tests point it elsewhere
}

// parseArgs parses the command line and the configuration files.
func parseArgs(args []string, e env) (*options, string, error) {
	fl := pflag.NewFlagSet("mogproxy", pflag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.SortFlags = false
	var (
		o                                 options
		trackers, keyFrom, conf, logLevel string
		contentCache, contentMaxFile      string
	)
	fl.StringVar(&trackers, "trackers", "", "comma-separated tracker host:port list (port 7001 if omitted)")
	fl.StringVar(&o.cfg.Listen, "listen", gateway.DefaultListen, "address to listen on")
	fl.StringVar(&conf, "config", "", "configuration file")
	fl.StringVar(&conf, "conf", "", "configuration file (same as --config)")
	fl.StringVar(&o.cfg.Prefix, "prefix", "/", "URL location served")
	fl.StringVar(&o.cfg.Domain, "domain", "", "serve only this domain; URLs then carry no domain segment")
	fl.StringVar(&keyFrom, "key-from", "path", "key from the whole rest of the path (path) or its last segment (last-segment)")
	fl.StringVar(&o.cfg.DefaultClass, "class", "", "class of a PUT that names none (default: the domain's default class)")
	fl.StringVar(&o.cfg.AccelRedirect, "accel-redirect", "", "nginx internal location: answer GET/HEAD with X-Accel-Redirect instead of the content")
	fl.BoolVar(&o.cfg.ReadOnly, "readonly", false, "refuse PUT and DELETE")
	fl.DurationVar(&o.cfg.CacheTTL, "cache-ttl", gateway.DefaultCacheTTL, "how long a key's paths are reused (negative: never)")
	fl.IntVar(&o.cfg.CacheEntries, "cache-entries", gateway.DefaultCacheEntries, "maximum number of cached keys")
	fl.StringVar(&contentCache, "content-cache", humanize.IBytes(gateway.DefaultContentCache), "memory for the content of small files (0: none)")
	fl.StringVar(&contentMaxFile, "content-cache-max-file", humanize.IBytes(gateway.DefaultContentMaxFile), "largest file kept in memory")
	fl.DurationVar(&o.cfg.TrackerTimeout, "tracker-timeout", gateway.DefaultTrackerTimeout, "tracker reply timeout")
	fl.DurationVar(&o.cfg.ConnectTimeout, "connect-timeout", gateway.DefaultConnectTimeout, "storage node connect timeout")
	fl.DurationVar(&o.cfg.NodeTimeout, "node-timeout", gateway.DefaultNodeTimeout, "storage node response header timeout")
	fl.IntVar(&o.cfg.MaxURLBytes, "max-url-bytes", gateway.DefaultMaxURLBytes, "longest request target accepted (else 414)")
	fl.IntVar(&o.cfg.MaxHeaderBytes, "max-header-bytes", gateway.DefaultMaxHeaderBytes, "largest request header accepted (else 431)")
	fl.BoolVar(&o.cfg.LogRequests, "log-requests", false, "log every request, not only failures")
	fl.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&o.s3Listen, "s3-listen", "", "serve the S3 API on ip:port (off by default; docs/s3.md)")
	fl.StringVar(&o.s3Keys, "s3-keys", "", "S3 access keys file: lines ACCESS_KEY SECRET_KEY [bucket,...|*]")
	fl.StringVar(&o.s3Domain, "s3-domain", "", "base domain of virtual-hosted-style S3 buckets (<bucket>.<domain>)")
	fl.DurationVar(&o.s3Abandoned, "s3-abandoned-uploads", s3.DefaultAbandonedUploads, "abort S3 multipart uploads older than this (0: never)")
	fl.StringVar(&o.metricsListen, "metrics-listen", "", "serve Prometheus /metrics and /debug/pprof on ip:port (off by default)")
	fl.BoolVarP(&o.help, "help", "h", false, "print this help")
	help := usage + fl.FlagUsages()

	if err := fl.Parse(args); err != nil {
		return nil, help, err
	}
	if o.help {
		return &o, help, nil
	}
	if fl.NArg() > 0 {
		return nil, help, fmt.Errorf("unexpected argument %q", fl.Arg(0))
	}
	if err := applyConfigFiles(fl, configFiles(e, conf), conf); err != nil {
		return nil, help, err
	}

	for _, t := range strings.Split(trackers, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		a, err := client.NormalizeTracker(t)
		if err != nil {
			return nil, help, fmt.Errorf("--trackers: %w", err)
		}
		o.cfg.Trackers = append(o.cfg.Trackers, a)
	}
	if len(o.cfg.Trackers) == 0 {
		return nil, help, errors.New("no trackers given: use --trackers=host:port or 'trackers = host:port' in ~/.mogilefs.conf")
	}
	kf, err := gateway.ParseKeyFrom(keyFrom)
	if err != nil {
		return nil, help, err
	}
	o.cfg.KeyFrom = kf
	if o.cfg.ContentCacheBytes, err = parseSize("content-cache", contentCache); err != nil {
		return nil, help, err
	}
	if o.cfg.ContentCacheBytes == 0 {
		o.cfg.ContentCacheBytes = -1 // none
	}
	if o.cfg.ContentCacheMaxFile, err = parseSize("content-cache-max-file", contentMaxFile); err != nil {
		return nil, help, err
	}
	if o.s3Listen != "" && o.s3Keys == "" {
		return nil, help, errors.New("--s3-listen needs --s3-keys (or s3_keys in the configuration file)")
	}
	if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, help, fmt.Errorf("--log-level: %w", err)
	}
	return &o, help, nil
}

// parseSize reads a byte count such as "64MiB", "64MB" or "65536".
func parseSize(name, v string) (int64, error) {
	n, err := humanize.ParseBytes(v)
	if err != nil || n > 1<<50 {
		return 0, fmt.Errorf("--%s: %q is not a size such as 64MiB", name, v)
	}
	return int64(n), nil
}

// configFiles lists the configuration files, most important first: the
// tools' files and order (the one named on the command line first).
func configFiles(e env, explicit string) []string {
	var out []string
	if explicit != "" {
		out = append(out, explicit)
	}
	if f := e.getenv("MOGUTILSCONF"); f != "" {
		out = append(out, f)
	}
	if home := e.getenv("HOME"); home != "" {
		out = append(out, filepath.Join(home, ".mogilefs.conf"))
	}
	if e.etcConfig != "" {
		out = append(out, e.etcConfig)
	}
	return out
}

// applyConfigFiles sets every option not given on the command line from
// the first file that names it ("key-from" or "key_from"). Settings that
// are no option of mogproxy (the other tools' settings) are ignored. A
// missing file is skipped, except the one named by --config.
func applyConfigFiles(fl *pflag.FlagSet, files []string, explicit string) error {
	set := map[string]bool{}
	fl.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	for _, fn := range files {
		entries, err := conffile.ReadFile(fn)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && fn != explicit {
				continue
			}
			return fmt.Errorf("configuration: %w", err)
		}
		for _, en := range entries {
			name := strings.ReplaceAll(en.Key, "_", "-")
			f := fl.Lookup(name)
			if f == nil || set[name] || name == "config" || name == "conf" || name == "help" {
				continue
			}
			if err := fl.Set(name, en.Value); err != nil {
				return fmt.Errorf("%s line %d: %s = %s: %w", fn, en.Line, en.Key, en.Value, err)
			}
			set[name] = true
		}
	}
	return nil
}
