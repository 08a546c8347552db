package mogtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MogstoredOptions configure StartMogstored. The zero value runs one
// device (dev1) with the built-in HTTP server.
type MogstoredOptions struct {
	IP      string // listen address; "" = 127.0.0.1
	Devices int    // number of device directories dev1..devN to create; 0 = 1
	DevIDs  []int  // explicit device ids instead of 1..Devices
	DocRoot string // an existing docroot to use instead of a new temp dir
	Server  string // --server value; "" = the built-in server, "none" = side channel only
	Args    []string
	Env     []string // extra environment, "K=V"
	// MgmtPort, if set, is the side-channel port (a tracker uses one
	// mogstored_stream_port for all its nodes); 0 picks a free one.
	MgmtPort int
	// Trackers, if set, are passed as --trackers (the fast path).
	Trackers []string
}

// Mogstored is a running mogstored process.
type Mogstored struct {
	*Proc
	HTTPAddr string // ip:port of HTTP ("" with Server "none")
	MgmtAddr string // ip:port of the side channel
	DocRoot  string
	DevIDs   []int
}

// URL returns the HTTP URL of path on this node.
func (m *Mogstored) URL(path string) string { return "http://" + m.HTTPAddr + path }

// DevDir returns the directory of device devid.
func (m *Mogstored) DevDir(devid int) string {
	return filepath.Join(m.DocRoot, "dev"+strconv.Itoa(devid))
}

// StartMogstored builds and runs cmd/mogstored with --skipconfig on free
// ports, a docroot in t.TempDir() holding the device directories, and
// waits until both ports answer. It is stopped at cleanup.
func StartMogstored(t testing.TB, opts MogstoredOptions) *Mogstored {
	t.Helper()
	ip := opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	root := opts.DocRoot
	if root == "" {
		root = t.TempDir()
	}
	ids := opts.DevIDs
	if len(ids) == 0 {
		n := max(opts.Devices, 1)
		for i := 1; i <= n; i++ {
			ids = append(ids, i)
		}
	}
	for _, id := range ids {
		if err := os.MkdirAll(filepath.Join(root, "dev"+strconv.Itoa(id)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := &Mogstored{DocRoot: root, DevIDs: ids, MgmtAddr: FreeAddr(t, ip)}
	if opts.MgmtPort != 0 {
		m.MgmtAddr = net.JoinHostPort(ip, strconv.Itoa(opts.MgmtPort))
	}
	args := []string{"--skipconfig", "--docroot=" + root, "--mgmtlisten=" + m.MgmtAddr}
	if opts.Server != "" {
		args = append(args, "--server="+opts.Server)
	}
	if opts.Server != "none" {
		m.HTTPAddr = FreeAddr(t, ip)
		args = append(args, "--httplisten="+m.HTTPAddr)
	}
	if len(opts.Trackers) > 0 {
		args = append(args, "--trackers="+strings.Join(opts.Trackers, ","))
	}
	args = append(args, opts.Args...)
	bin := Binary(t, "mogstored")
	if len(opts.Env) > 0 {
		// env(1) execs mogstored, so the process is mogstored itself.
		m.Proc = Start(t, "/usr/bin/env", append(append(append([]string{}, opts.Env...), bin), args...)...)
	} else {
		m.Proc = Start(t, bin, args...)
	}
	m.Proc.WaitPort(t, m.MgmtAddr, 15*time.Second)
	if m.HTTPAddr != "" {
		m.Proc.WaitPort(t, m.HTTPAddr, 15*time.Second)
	}
	return m
}

// SideChannel opens a connection to the node's management port.
func (m *Mogstored) SideChannel(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", m.MgmtAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("side channel %s: %v", m.MgmtAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// String names the node in test output.
func (m *Mogstored) String() string {
	return fmt.Sprintf("mogstored http=%s mgmt=%s docroot=%s", m.HTTPAddr, m.MgmtAddr, m.DocRoot)
}
