package faulttest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// privateMariaDB is a MariaDB server of this test's own (started by
// scripts/mariadb.sh), which the test may kill and restart.
type privateMariaDB struct {
	dir  string
	port string
	proc *mogtest.Proc // after a restart
}

// startPrivateMariaDB starts a MariaDB server in a temp dir. Without
// mariadbd the test is skipped, loudly, unless CI=true.
func startPrivateMariaDB(t *testing.T) *privateMariaDB {
	t.Helper()
	if _, err := exec.LookPath("mariadbd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadbd is not installed but CI=true (Debian: mariadb-server)")
		}
		t.Skip("SKIPPING MariaDB restart test: mariadbd is not installed (Debian: mariadb-server)")
	}
	script, err := filepath.Abs(filepath.Join("..", "scripts", "mariadb.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &privateMariaDB{dir: dir}
	out, err := exec.Command(script, "start", dir).Output()
	t.Cleanup(func() {
		if m.proc != nil {
			m.proc.Kill()
		}
		exec.Command(script, "stop", dir).Run()
	})
	if err != nil {
		t.Fatalf("scripts/mariadb.sh start: %v\n%s", err, out)
	}
	cfg, err := mysql.ParseDSN(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("DSN %q: %v", out, err)
	}
	_, m.port, _ = strings.Cut(cfg.Addr, ":")
	return m
}

func (m *privateMariaDB) addr() string { return "127.0.0.1:" + m.port }

// kill sends SIGKILL to the server and waits until it is gone.
func (m *privateMariaDB) kill(t *testing.T) {
	t.Helper()
	if m.proc != nil {
		m.proc.Kill()
		return
	}
	b, err := os.ReadFile(filepath.Join(m.dir, "mysqld.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "mariadbd to exit", 30*time.Second, func() (bool, string) {
		return syscall.Kill(pid, 0) != nil, "still running"
	})
}

// restart starts the server again on the same data and port, as
// scripts/mariadb.sh does.
func (m *privateMariaDB) restart(t *testing.T) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	m.proc = mogtest.Start(t, "mariadbd", "--no-defaults", "--datadir="+filepath.Join(m.dir, "data"),
		"--socket="+filepath.Join(m.dir, "mysqld.sock"), "--pid-file="+filepath.Join(m.dir, "mysqld.pid"),
		"--port="+m.port, "--bind-address=127.0.0.1", "--user="+u.Username, "--skip-name-resolve",
		"--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=2", "--max-connections=1000",
		"--log-error="+filepath.Join(m.dir, "error.log"))
	m.proc.WaitPort(t, m.addr(), 120*time.Second)
}

// TestMariaDBRestart: the tracker's MariaDB gets SIGKILL under a load of
// uploads and is started again a few seconds later. During the gap,
// clients get errors in bounded time (no hang); the tracker reconnects by
// itself and uploads succeed again; no acknowledged upload is lost, failed
// ones are complete or absent, and the replication queue is worked off.
func TestMariaDBRestart(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	m := startPrivateMariaDB(t)
	root, err := sql.Open("mysql", "root@tcp("+m.addr()+")/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec("CREATE DATABASE mogilefs"); err != nil {
		t.Fatal(err)
	}
	root.Close()
	dsn := "DBI:mysql:database=mogilefs;host=127.0.0.1;port=" + m.port
	mogtest.SetupSchema(t, dsn, "root", "")
	const domain, class = "fault", "two"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{class: 2},
		Tracker: mogtest.TrackerOptions{DSN: dsn, User: "root"}, NodeArgs: []string{"--nofsync"}})
	db := openDB(t, dsn, "root", "")
	c := newClient(t, domain, 10*time.Second, cl.Tracker.Addr)
	sz := sizes{1 << 10, 32 << 10}
	rounds := scale(1, 3)

	type op struct {
		key string
		at  time.Time
		dur time.Duration
		err error
	}
	var mu sync.Mutex
	var ops []op
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("db/%d/%05d", w, i)
				t0 := time.Now()
				_, err := c.StoreBytes(ctx, k, class, sz.of(k))
				mu.Lock()
				ops = append(ops, op{k, t0, time.Since(t0), err})
				mu.Unlock()
				if err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, o := range ops {
			if o.err == nil {
				n++
			}
		}
		return n
	}
	var gaps, recoveries []time.Duration
	for r := 0; r < rounds; r++ {
		base := acked()
		waitFor(t, "uploads before the kill", 60*time.Second, func() (bool, string) {
			return acked() >= base+100, fmt.Sprint(acked()-base, " acknowledged")
		})
		m.kill(t)
		down := time.Now()
		time.Sleep(3 * time.Second)
		m.restart(t)
		up := time.Now()
		gaps = append(gaps, up.Sub(down))
		base = acked()
		recoveries = append(recoveries, waitFor(t, "uploads to succeed again", 120*time.Second, func() (bool, string) {
			return acked() > base+20, fmt.Sprint(acked()-base, " acknowledged since the restart")
		}))
	}
	close(stop)
	wg.Wait()

	var ackedKeys, failedKeys []string
	var maxFail time.Duration
	for _, o := range ops {
		if o.err == nil {
			ackedKeys = append(ackedKeys, o.key)
			continue
		}
		failedKeys = append(failedKeys, o.key)
		maxFail = max(maxFail, o.dur)
	}
	summary := &uploads{failed: map[string]error{}}
	for _, o := range ops {
		if o.err != nil {
			summary.failed[o.key] = o.err
		}
	}
	t.Logf("errors while the database was down:\n%s", summary.errorSummary())
	if len(failedKeys) == 0 {
		t.Error("no upload failed while the database was down")
	}
	if maxFail > 30*time.Second {
		t.Errorf("a failing upload took %v to report its error", maxFail)
	}
	lost := checkAcked(t, ctx, c, ackedKeys, sz)
	absent, complete, half := checkUnacked(t, ctx, c, failedKeys, sz)
	drain := waitFor(t, "the replication queue worked off", time.Duration(scale(180, 1800))*time.Second, func() (bool, string) {
		q, e1 := queryInt(t, db, "SELECT COUNT(*) FROM file_to_replicate")
		short, e2 := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		if err := firstErr(e1, e2); err != nil {
			return false, err.Error()
		}
		return q == 0 && short == 0, fmt.Sprintf("%d queued, %d files short of 2 copies", q, short)
	})
	figure(t, "restarts=%d uploads=%d acknowledged=%d failed=%d (absent %d, complete %d, half-there %d) acknowledged_lost=%d "+
		"db_down=%v uploads_ok_again_after=%v slowest_failure=%v replication_drained_after=%.1fs",
		rounds, len(ops), len(ackedKeys), len(failedKeys), absent, complete, half, lost, roundAll(gaps), roundAll(recoveries),
		maxFail.Round(100*time.Millisecond), drain.Seconds())
}
