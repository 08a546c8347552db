package mogtest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TrackerOptions say how StartTracker runs mogilefsd.
type TrackerOptions struct {
	// MySQL, if set, is the MariaDB database to use (from NewMySQL);
	// otherwise a fresh SQLite file is used.
	MySQL *MySQL
	// DSN, User and Pass name an existing database instead (e.g. to run
	// a second tracker on the database of a first); the schema must
	// exist.
	DSN, User, Pass string
	// Args are extra command-line arguments.
	Args []string
	// Env are extra environment variables (KEY=value).
	Env []string
	// StreamPort is the storage nodes' side-channel port
	// (--mogstored_stream_port in the config).
	StreamPort int
	// Addr, if set, is the 127.0.0.1:port to listen on (one chosen
	// before the tracker starts, e.g. to give storage nodes --trackers);
	// "" picks a free one.
	Addr string
}

// Tracker is a running mogilefsd.
type Tracker struct {
	Addr            string // 127.0.0.1:port
	DSN, User, Pass string
	Proc            *Proc
	ConfigFile      string
	startArgs       []string
	bin             string
	t               testing.TB
}

// StartTracker creates the schema (unless opts.DSN names an existing
// database), starts the real mogilefsd binary on a free 127.0.0.1 port and
// waits for it to answer. The tracker is killed at cleanup.
func StartTracker(t testing.TB, opts TrackerOptions) *Tracker {
	t.Helper()
	bin := Binary(t, "mogilefsd")
	tr := &Tracker{bin: bin, t: t}
	switch {
	case opts.DSN != "":
		tr.DSN, tr.User, tr.Pass = opts.DSN, opts.User, opts.Pass
	case opts.MySQL != nil:
		tr.DSN, tr.User, tr.Pass = opts.MySQL.DBIDSN, opts.MySQL.User, opts.MySQL.Password
	default:
		tr.DSN = SQLiteDSN(t)
	}
	if opts.DSN == "" {
		SetupSchema(t, tr.DSN, tr.User, tr.Pass)
	}
	tr.Addr = opts.Addr
	if tr.Addr == "" {
		tr.Addr = FreeAddr(t, "127.0.0.1")
	}
	// The stream port goes into a config file: the original's
	// --mogstored_stream_port flag takes no value.
	conf := filepath.Join(t.TempDir(), "mogilefsd.conf")
	var cf strings.Builder
	if opts.StreamPort != 0 {
		fmt.Fprintf(&cf, "mogstored_stream_port = %d\n", opts.StreamPort)
	}
	if err := os.WriteFile(conf, []byte(cf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tr.ConfigFile = conf
	args := []string{"--config=" + conf, "--dsn=" + tr.DSN, "--dbuser=" + tr.User, "--dbpass=" + tr.Pass,
		"--listen=" + tr.Addr, "--workers=20"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	args = append(args, opts.Args...)
	tr.startArgs = args
	tr.Proc = startWithEnv(t, bin, opts.Env, args...)
	tr.Proc.WaitPort(t, tr.Addr, 30*time.Second)
	return tr
}

// SetupSchema creates the MogileFS tables in the database named by dsn.
func SetupSchema(t testing.TB, dsn, user, pass string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sqlstore.Setup(ctx, sqlstore.Config{DSN: dsn, User: user, Password: pass}, sqlstore.SetupOptions{}); err != nil {
		t.Fatalf("set up schema on %s: %v", dsn, err)
	}
}

// startWithEnv is Start with extra environment variables (env(1) execs
// the program, so the process is the program itself).
func startWithEnv(t testing.TB, bin string, env []string, args ...string) *Proc {
	if len(env) == 0 {
		return Start(t, bin, args...)
	}
	return Start(t, "/usr/bin/env", append(append(append([]string{}, env...), bin), args...)...)
}

// Conn opens a protocol connection to the tracker, closed at cleanup.
func (tr *Tracker) Conn(t testing.TB) *TrackerConn {
	t.Helper()
	c, err := DialTracker(tr.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TrackerConn is a raw line connection to a tracker.
type TrackerConn struct {
	mu sync.Mutex
	c  net.Conn
	br *bufio.Reader
}

// DialTracker connects to a tracker.
func DialTracker(addr string) (*TrackerConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &TrackerConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Close closes the connection.
func (c *TrackerConn) Close() error { return c.c.Close() }

// Raw sends line (a "\r\n" is added) and returns the reply line without
// its line ending.
func (c *TrackerConn) Raw(line string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := c.c.Write([]byte(line + "\r\n")); err != nil {
		return "", err
	}
	return c.readLine()
}

func (c *TrackerConn) readLine() (string, error) {
	s, err := c.br.ReadString('\n')
	if err != nil {
		return s, err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// ReadLine reads one more line (for !-commands and pipelining).
func (c *TrackerConn) ReadLine() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.SetDeadline(time.Now().Add(2 * time.Minute))
	return c.readLine()
}

// Write sends raw bytes.
func (c *TrackerConn) Write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.c.Write(b)
	return err
}

// Bang sends an admin line ("!stats") and returns the lines before ".".
func (c *TrackerConn) Bang(line string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.c.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.c.Write([]byte(line + "\r\n")); err != nil {
		return nil, err
	}
	var out []string
	for {
		l, err := c.readLine()
		if err != nil {
			return out, err
		}
		if l == "." {
			return out, nil
		}
		out = append(out, l)
	}
}

// Do sends a command and decodes the reply: an ERR reply is a *wire.Error.
func (c *TrackerConn) Do(cmd string, args wire.Args) (wire.Args, error) {
	line, err := c.Raw(strings.TrimSuffix(wire.FormatRequest(cmd, args), "\r\n"))
	if err != nil {
		return nil, err
	}
	return wire.ParseReply(line)
}

// MustDo is Do that fails the test on any error.
func (c *TrackerConn) MustDo(t testing.TB, cmd string, args wire.Args) wire.Args {
	t.Helper()
	a, err := c.Do(cmd, args)
	if err != nil {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return a
}

// Node is a storage node of a test cluster.
type Node struct {
	HostID   int
	Hostname string
	IP       string
	HTTPPort int
	DocRoot  string
	DevIDs   []int
	Proc     *Proc
	// Mogstored is the node's process as StartMogstored returns it.
	Mogstored *Mogstored
	// MetricsAddr serves the node's /metrics (with
	// ClusterOptions.NodeMetrics).
	MetricsAddr string
}

// ClusterOptions shape StartCluster.
type ClusterOptions struct {
	Tracker TrackerOptions
	// Hosts is the number of storage nodes (default 2), each with
	// DevsPerHost devices (default 1), numbered 1, 2, ... across hosts.
	Hosts, DevsPerHost int
	// Domain, if set, is created with Classes (name -> mindevcount).
	Domain  string
	Classes map[string]int
	// NodeArgs are extra mogstored arguments (e.g. --nofsync).
	NodeArgs []string
	// FastPath starts the nodes with --trackers naming the cluster's
	// tracker (its address is chosen before the nodes start).
	FastPath bool
	// NodeMetrics gives every node --metrics-listen (Node.MetricsAddr).
	NodeMetrics bool
}

// Cluster is a tracker plus registered storage nodes whose devices the
// tracker's monitor has seen writeable.
type Cluster struct {
	Tracker    *Tracker
	Nodes      []*Node
	StreamPort int
}

// StartCluster starts storage nodes on distinct loopback addresses
// (127.x.y.1, .2, ... sharing one side-channel port, as the original
// requires) and a tracker, registers the nodes as alive hosts and devices,
// and waits until every device is observed writeable.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.Hosts == 0 {
		o.Hosts = 2
	}
	if o.DevsPerHost == 0 {
		o.DevsPerHost = 1
	}
	ips, mgmt := loopbackNet(t, o.Hosts)
	cl := &Cluster{StreamPort: mgmt}
	var trackers []string
	if o.FastPath {
		if o.Tracker.Addr == "" {
			o.Tracker.Addr = FreeAddr(t, "127.0.0.1")
		}
		trackers = []string{o.Tracker.Addr}
	}
	devid := 0
	for i, ip := range ips {
		var ids []int
		for j := 0; j < o.DevsPerHost; j++ {
			devid++
			ids = append(ids, devid)
		}
		args, maddr := o.NodeArgs, ""
		if o.NodeMetrics {
			maddr = FreeAddr(t, ip)
			args = append(append([]string{}, args...), "--metrics-listen="+maddr)
		}
		m := StartMogstored(t, MogstoredOptions{IP: ip, DevIDs: ids, MgmtPort: mgmt, Args: args, Trackers: trackers})
		_, port, _ := net.SplitHostPort(m.HTTPAddr)
		n := &Node{Hostname: fmt.Sprintf("store%d", i+1), IP: ip, DocRoot: m.DocRoot, DevIDs: ids, Proc: m.Proc, Mogstored: m,
			MetricsAddr: maddr}
		n.HTTPPort, _ = strconv.Atoi(port)
		cl.Nodes = append(cl.Nodes, n)
	}
	o.Tracker.StreamPort = mgmt
	cl.Tracker = StartTracker(t, o.Tracker)
	c := cl.Tracker.Conn(t)
	for _, n := range cl.Nodes {
		a := c.MustDo(t, "create_host", wire.Args{"host": n.Hostname, "ip": n.IP, "port": strconv.Itoa(n.HTTPPort), "status": "alive"})
		n.HostID, _ = strconv.Atoi(a["hostid"])
		for _, d := range n.DevIDs {
			c.MustDo(t, "create_device", wire.Args{"hostname": n.Hostname, "devid": strconv.Itoa(d), "state": "alive"})
		}
	}
	if o.Domain != "" {
		c.MustDo(t, "create_domain", wire.Args{"domain": o.Domain})
		for name, min := range o.Classes {
			c.MustDo(t, "create_class", wire.Args{"domain": o.Domain, "class": name, "mindevcount": strconv.Itoa(min)})
		}
	}
	cl.WaitWriteable(t, c)
	return cl
}

// WaitWriteable polls get_devices until every alive device is observed
// writeable with known usage.
func (cl *Cluster) WaitWriteable(t testing.TB, c *TrackerConn) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := c.MustDo(t, "get_devices", nil)
		n, _ := strconv.Atoi(a["devices"])
		ok := n > 0
		for i := 1; i <= n; i++ {
			p := "dev" + strconv.Itoa(i) + "_"
			if a[p+"status"] == "alive" && (a[p+"observed_state"] != "writeable" || a[p+"mb_total"] == "") {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("devices not writeable after 60 s: %v", a)
		}
		c.MustDo(t, "clear_cache", nil)
	}
}

// loopbackNet picks n addresses 127.a.b.1..n and a port free on all of
// them.
func loopbackNet(t testing.TB, n int) ([]string, int) {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		a, b := 1+rand.IntN(250), 1+rand.IntN(250)
		var ips []string
		for i := 1; i <= n; i++ {
			ips = append(ips, fmt.Sprintf("127.%d.%d.%d", a, b, i))
		}
		port := FreePort(t, ips[0])
		free := true
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return ips, port
		}
	}
	t.Fatal("no common free port on loopback addresses")
	return nil, 0
}
