package sqlstore_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// The lock table rows must be the original's, so that an original tracker
// on the same SQLite file sees our locks and we see its: lockid is the
// first 4 bytes of MD5(name), big-endian, masked to 31 bits (values
// computed independently with Python's hashlib).
func TestSQLiteLockRows(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	s := setupOpen(t, sqlstore.Config{DSN: dsn, Hostname: "trackerA"})
	db, _ := openRawSQLite(t, dsn)
	want := map[string]int64{"mgfs:reaper": 2048622148, "mgfs:fid:1:replicate": 637316723, "mfsd:file_to_replicate": 663955534}
	for name, id := range want {
		ok, err := s.Lock(ctx, name, 0)
		if err != nil || !ok {
			t.Fatalf("lock %s: %v %v", name, ok, err)
		}
		var host string
		var pid, at int64
		if err := db.QueryRow("SELECT hostname, pid, acquiredat FROM lock WHERE lockid = ?", id).Scan(&host, &pid, &at); err != nil {
			t.Fatalf("lock row of %s (lockid %d): %v", name, id, err)
		}
		if host != "trackerA" || pid != int64(os.Getpid()) || at == 0 {
			t.Fatalf("lock row of %s: host %q pid %d at %d", name, host, pid, at)
		}
		if err := s.Unlock(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	db.QueryRow("SELECT COUNT(*) FROM lock").Scan(&n)
	if n != 0 {
		t.Fatalf("%d lock rows left after unlocking", n)
	}
}

// A lock left by a process that died, or older than an hour, is taken
// over; one held by a live process of another host is not.
func TestSQLiteStaleLocks(t *testing.T) {
	ctx := testCtx(t)
	dsn := mogtest.SQLiteDSN(t)
	s := setupOpen(t, sqlstore.Config{DSN: dsn, Hostname: "trackerA"})
	db, _ := openRawSQLite(t, dsn)

	// A pid that certainly is gone: a child we started and reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadPid := cmd.Process.Pid
	insert := func(id int64, host string, pid int, age int) {
		t.Helper()
		if _, err := db.Exec("INSERT INTO lock VALUES (?, ?, ?, CAST(strftime('%s','now') AS INTEGER) - ?)", id, host, pid, age); err != nil {
			t.Fatal(err)
		}
	}
	insert(2048622148, "trackerA", deadPid, 0)        // mgfs:reaper, dead holder on our host
	insert(637316723, "elsewhere", os.Getpid(), 7200) // mgfs:fid:1:replicate, two hours old
	insert(663955534, "elsewhere", os.Getpid(), 10)   // mfsd:file_to_replicate, fresh, other host
	for name, want := range map[string]bool{"mgfs:reaper": true, "mgfs:fid:1:replicate": true, "mfsd:file_to_replicate": false} {
		ok, err := s.Lock(ctx, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ok != want {
			t.Errorf("lock %s over a stale-or-not row: got %v, want %v", name, ok, want)
		}
	}
	// Live holder on this host (another process): not taken.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	insert(2065055674, "trackerA", sleeper.Process.Pid, 0) // mgfs:device_update
	ok, err := s.Lock(ctx, "mgfs:device_update", 0)
	if err != nil || ok {
		t.Fatalf("lock held by a live process of this host: got %v %v", ok, err)
	}
	sleeper.Process.Kill()
	sleeper.Wait()
	ok, err = s.Lock(ctx, "mgfs:device_update", 0)
	if err != nil || !ok {
		t.Fatalf("lock of a process that just died: got %v %v", ok, err)
	}
}
