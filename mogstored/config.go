package mogstored

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/acl"
)

// Values of Config.Server.
const (
	// ServerBuiltin is mogstored's own HTTP server; "perlbal", the
	// original's name for its built-in server, selects it.
	ServerBuiltin = "perlbal"
	// ServerNone runs no HTTP server: a web server run by the operator
	// (nginx with WebDAV, say) serves the docroot, and mogstored keeps the
	// side channel, the usage files and the utilization stream.
	ServerNone = "none"
	// ServerNginx makes mogstored start nginx with a generated WebDAV
	// configuration on HTTPListen, as the original's --server=nginx does.
	ServerNginx = "nginx"
)

// Config is what the command line and the config file set.
type Config struct {
	HTTPListen string // ip:port of the HTTP server (a bare port means 0.0.0.0)
	MgmtListen string // ip:port of the side channel
	DocRoot    string // the directory holding dev<N> directories
	MaxConns   int    // HTTP connections served at once
	Server     string // ServerBuiltin, ServerNone or ServerNginx
	ServerBin  string // the nginx binary for ServerNginx ("" = search the usual places)
	PIDFile    string // written with the pid while running, if set
	IOStat     bool   // serve the watch utilization stream
	// Fsync makes PUT flush the file and its directory to disk before
	// answering. Turning it off trades durability on power loss for speed.
	Fsync bool
	// DevUsageViaDU makes the usage file's "used" the size of the files
	// under the device directory (du) rather than of the whole filesystem
	// (env MOG_DEV_USAGE_VIA_DU in the original).
	DevUsageViaDU bool
	UsageInterval time.Duration // how often usage files are rewritten

	HeaderTimeout   time.Duration // a request head must arrive within this
	IdleTimeout     time.Duration // keep-alive connections wait this long for a request
	BodyTimeout     time.Duration // a PUT body may stall at most this long
	WriteTimeout    time.Duration // a response may stall at most this long
	ShutdownTimeout time.Duration // on SIGTERM, in-flight requests get this long

	// WriteAllow, if set, lists the client networks whose PUT and DELETE
	// requests (any method but GET and HEAD) the built-in server serves;
	// others get 403 (write_allow; see acl.go). Nil serves every client,
	// as the original does.
	WriteAllow *acl.List

	// Trackers, if set, are the trackers ("host:port") the node talks to
	// for the fast path (docs/fastpath.md): fid leases, group commits and
	// key lookups behind /_put, /_key and /_fastpath. Empty turns the fast
	// path off and those paths answer 404, as an original node does.
	Trackers []string
}

// Defaults of the original mogstored.
const (
	DefaultHTTPListen = "0.0.0.0:7500"
	DefaultMgmtListen = "0.0.0.0:7501"
	DefaultDocRoot    = "/var/mogdata"
	DefaultMaxConns   = 10000
	DefaultConfigFile = "/etc/mogilefs/mogstored.conf"
)

// DefaultConfig returns the original's defaults, with fsync on.
func DefaultConfig() Config {
	return Config{
		HTTPListen:      DefaultHTTPListen,
		MgmtListen:      DefaultMgmtListen,
		DocRoot:         DefaultDocRoot,
		MaxConns:        DefaultMaxConns,
		Server:          ServerBuiltin,
		IOStat:          true,
		Fsync:           true,
		UsageInterval:   10 * time.Second,
		HeaderTimeout:   30 * time.Second,
		IdleTimeout:     60 * time.Second,
		BodyTimeout:     60 * time.Second,
		WriteTimeout:    60 * time.Second,
		ShutdownTimeout: 30 * time.Second,
	}
}

// NormalizeListen turns a listen value into ip:port: a bare port means
// 0.0.0.0, as in the original.
func NormalizeListen(v string) (string, error) {
	v = strings.TrimSpace(v)
	if p, err := strconv.Atoi(v); err == nil {
		if p <= 0 || p > 65535 {
			return "", fmt.Errorf("listen %q: port out of range", v)
		}
		return "0.0.0.0:" + v, nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("listen %q: want ip:port or a port: %w", v, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("listen %q: bad port", v)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, port), nil
}

// Check validates c and fills in what is derived: listen addresses in
// ip:port form, and absolute docroot and pidfile paths (the daemon leaves
// its working directory).
func (c *Config) Check() error {
	switch c.Server {
	case ServerBuiltin, ServerNone, ServerNginx:
	case "lighttpd", "apache":
		return fmt.Errorf("server %q is not supported; run it yourself beside --server=none", c.Server)
	default:
		return fmt.Errorf("unknown server type %q; valid: perlbal (built in), nginx, none", c.Server)
	}
	var err error
	if c.Server != ServerNone {
		if c.HTTPListen, err = NormalizeListen(c.HTTPListen); err != nil {
			return fmt.Errorf("httplisten: %w", err)
		}
	}
	if c.MgmtListen, err = NormalizeListen(c.MgmtListen); err != nil {
		return fmt.Errorf("mgmtlisten: %w", err)
	}
	if c.DocRoot == "" {
		return fmt.Errorf("docroot is empty")
	}
	if c.DocRoot, err = filepath.Abs(c.DocRoot); err != nil {
		return fmt.Errorf("docroot: %w", err)
	}
	if c.PIDFile != "" {
		if c.PIDFile, err = filepath.Abs(c.PIDFile); err != nil {
			return fmt.Errorf("pidfile: %w", err)
		}
	}
	if c.WriteAllow.Enabled() && c.Server != ServerBuiltin {
		return fmt.Errorf("write_allow works with the built-in HTTP server only; with --server=%s restrict PUT and DELETE in the web server's own configuration", c.Server)
	}
	if len(c.Trackers) > 0 && c.Server != ServerBuiltin {
		return fmt.Errorf("trackers (the fast path) work with the built-in HTTP server only, not --server=%s", c.Server)
	}
	if c.MaxConns <= 0 {
		return fmt.Errorf("maxconns must be positive, not %d", c.MaxConns)
	}
	if c.UsageInterval <= 0 {
		c.UsageInterval = 10 * time.Second
	}
	return nil
}
