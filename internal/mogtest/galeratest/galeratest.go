// Package galeratest starts a private MariaDB Galera cluster on loopback
// for tests (scripts/galera.sh does the work), with one database of the
// MogileFS schema on it.
package galeratest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Provider is the Galera library the nodes load.
const Provider = "/usr/lib/galera/libgalera_smm.so"

// Cluster is a running Galera cluster.
type Cluster struct {
	dir    string
	script string
	// Servers are the nodes' go-sql-driver DSNs (root, no database).
	Servers []string
	// Name is the test's database, on every node.
	Name string
}

// Start starts an n-node cluster and creates a database on it; both are
// gone at cleanup. Without MariaDB and galera-4 the test is skipped,
// loudly; with CI=true it fails instead.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	_, errBin := exec.LookPath("mariadbd")
	if _, err := os.Stat(Provider); err != nil || errBin != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Galera is not installed (mariadb-server, galera-4) but CI=true: the Galera tests must run in CI")
		}
		t.Skip("SKIPPING Galera test: install mariadb-server and galera-4 (scripts/deps.sh)")
	}
	// Not t.TempDir: as root the servers run as the mysql user, which
	// must reach the directory.
	dir, err := os.MkdirTemp("", "galera-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir, script: filepath.Join(moduleRoot(t), "scripts", "galera.sh")}
	t.Cleanup(func() {
		exec.Command(c.script, "stop", dir).Run()
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("Galera cluster state kept in %s", dir)
		}
	})
	out, err := exec.Command(c.script, "start", dir, fmt.Sprint(n)).Output()
	if err != nil {
		t.Fatalf("scripts/galera.sh start: %v\n%s", err, stderr(err))
	}
	c.Servers = strings.Fields(string(out))
	if len(c.Servers) != n {
		t.Fatalf("scripts/galera.sh start printed %q", out)
	}
	c.Name = fmt.Sprintf("mogtest_%d", rand.Uint64()%1e12)
	db, err := sql.Open("mysql", c.Servers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + c.Name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return c
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// GoDSN is node i's (0-based) go-sql-driver DSN of the test database.
func (c *Cluster) GoDSN(i int) string {
	cfg, _ := mysql.ParseDSN(c.Servers[i])
	cfg.DBName = c.Name
	return cfg.FormatDSN()
}

// DBIDSN is node i's DBI DSN of the test database, as mogilefsd takes it.
func (c *Cluster) DBIDSN(i int) string {
	cfg, _ := mysql.ParseDSN(c.Servers[i])
	host, port, _ := strings.Cut(cfg.Addr, ":")
	return fmt.Sprintf("DBI:mysql:database=%s;host=%s;port=%s", c.Name, host, port)
}

// Kill kills node i with SIGKILL.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	if out, err := exec.Command(c.script, "kill", c.dir, fmt.Sprint(i+1)).CombinedOutput(); err != nil {
		t.Fatalf("kill galera node %d: %v\n%s", i+1, err, out)
	}
}

// Restart starts node i again and waits until it has rejoined and is
// synced.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	if _, err := exec.Command(c.script, "restart", c.dir, fmt.Sprint(i+1)).Output(); err != nil {
		t.Fatalf("restart galera node %d: %v\n%s", i+1, err, stderr(err))
	}
}

func moduleRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("galeratest: cannot find module root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
