package mogtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/mogstored/nginxconf"
)

// NginxOptions configure StartNginx.
type NginxOptions struct {
	DocRoot  string // absolute; required
	Devices  []int  // device ids that get their own WebDAV location
	IP       string // "" = 127.0.0.1
	Workers  int    // worker processes; 0 = 1
	ReadOnly bool   // plain static files, no WebDAV (for benchmarks)
}

// Nginx is a running nginx master process.
type Nginx struct {
	*Proc
	Addr       string
	ConfigFile string
	TempDir    string
}

// NginxBinary returns the path of nginx, skipping the test when there is
// none (failing instead under CI=true, where it must be installed).
func NginxBinary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx is not installed but CI=true: install nginx-light (scripts/deps.sh)")
	}
	t.Skip("SKIPPING nginx test: nginx is not installed (Debian: nginx-light)")
	return ""
}

// StartNginx runs stock nginx in the foreground with the storage-node
// configuration of package nginxconf on a free port, and waits for it to
// answer. It is stopped with SIGTERM at cleanup (the master then stops its
// workers).
func StartNginx(t testing.TB, opts NginxOptions) *Nginx {
	t.Helper()
	bin := NginxBinary(t)
	ip := opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	workers := opts.Workers
	if workers == 0 {
		workers = 1
	}
	tmp := t.TempDir()
	v, _ := exec.Command(bin, "-V").CombinedOutput()
	n := &Nginx{Addr: FreeAddr(t, ip), TempDir: tmp, ConfigFile: filepath.Join(tmp, "nginx.conf")}
	conf, err := nginxconf.Generate(nginxconf.Options{
		Listen: n.Addr, DocRoot: opts.DocRoot, Devices: opts.Devices, TempDir: tmp, Workers: workers,
		RunAsRoot: os.Geteuid() == 0, Modules: string(v), ReadOnly: opts.ReadOnly,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.ConfigFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Proc = Start(t, bin, "-p", tmp, "-e", filepath.Join(tmp, "error.log"), "-c", n.ConfigFile, "-g", "daemon off;")
	t.Cleanup(func() {
		if err := n.Proc.Stop(10 * time.Second); err != nil && t.Failed() {
			t.Logf("nginx stop: %v", err)
		}
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(tmp, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	n.Proc.WaitPort(t, n.Addr, 15*time.Second)
	return n
}

// URL returns the HTTP URL of path on this nginx.
func (n *Nginx) URL(path string) string { return "http://" + n.Addr + path }
