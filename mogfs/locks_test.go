package mogfs_test

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// helperEnv names what TestHelperProcess does in a re-executed test
// binary: "flock PATH", "fcntl PATH", "sqlite-write DB N",
// "sqlite-read DB N".
const helperEnv = "MOGFS_TEST_HELPER"

// TestHelperProcess is not a test: it is the other process of the lock
// and sqlite tests, started as the test binary itself.
func TestHelperProcess(t *testing.T) {
	args := strings.Fields(os.Getenv(helperEnv))
	if len(args) == 0 {
		t.Skip("helper process only")
	}
	if err := helper(args); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helper runs one helper command. The lock commands take the lock, say
// "locked" on stdout, and hold it until stdin closes.
func helper(args []string) error {
	switch args[0] {
	case "flock", "fcntl":
		f, err := os.OpenFile(args[1], os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		if args[0] == "flock" {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		} else {
			err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLKW, &syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart})
		}
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		return f.Close()
	case "sqlite-write":
		n, _ := strconv.Atoi(args[2])
		db, err := openDB(args[1])
		if err != nil {
			return err
		}
		defer db.Close()
		for i := range n {
			if _, err := db.Exec("INSERT INTO t(v) VALUES (?)", fmt.Sprintf("row %d %s", i, strings.Repeat("x", 200))); err != nil {
				return fmt.Errorf("insert %d: %w", i, err)
			}
		}
		return nil
	case "sqlite-read":
		// Reads until it has seen all n rows; counts never go down.
		n, _ := strconv.Atoi(args[2])
		db, err := openDB(args[1])
		if err != nil {
			return err
		}
		defer db.Close()
		last, reads := 0, 0
		for deadline := time.Now().Add(2 * time.Minute); last < n; reads++ {
			if time.Now().After(deadline) {
				return fmt.Errorf("saw %d of %d rows after 2 minutes", last, n)
			}
			var c int
			if err := db.QueryRow("SELECT count(*) FROM t").Scan(&c); err != nil {
				return fmt.Errorf("count: %w", err)
			}
			if c < last {
				return fmt.Errorf("count went from %d to %d", last, c)
			}
			last = c
		}
		fmt.Printf("read %d times\n", reads)
		return nil
	}
	return fmt.Errorf("unknown helper command %q", args[0])
}

// openDB opens a SQLite database in WAL mode that waits for locks.
func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal_mode: %w", err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("journal_mode is %q, not wal", mode)
	}
	return db, nil
}

// helperCmd is the test binary re-run as a helper.
func helperCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args, " "))
	return cmd
}

// holdLock starts a helper that takes a lock (kind "flock" or "fcntl")
// on path, and returns once it holds it; release ends it.
func holdLock(t *testing.T, kind, path string) (release func()) {
	t.Helper()
	cmd := helperCmd(kind, path)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("%s helper: %v\n%s", kind, err, stderr.String())
		}
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("%s helper: %q, %v\n%s", kind, line, err, stderr.String())
	}
	return release
}

// TestLocks: flock(2) and fcntl(2) write locks exclude each other's
// holders between two processes on one mount (the kernel keeps them);
// another mount knows nothing of them.
func TestLocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)
	b := e.mountFG(t, "--domain="+e.domain)
	p := filepath.Join(a, "lockfile")
	if err := os.WriteFile(p, []byte("lock"), 0o644); err != nil {
		t.Fatal(err)
	}

	release := holdLock(t, "flock", p)
	fd := openFD(t, p, syscall.O_RDWR)
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("flock while another process holds it: %v, want EWOULDBLOCK", err)
	}
	if out, err := exec.Command("flock", "-n", p, "true").CombinedOutput(); err == nil {
		t.Fatalf("flock(1) got the lock another process holds: %s", out)
	}
	// Another mount: nothing holds across mounts.
	fdB := openFD(t, filepath.Join(b, "lockfile"), syscall.O_RDWR)
	if err := syscall.Flock(fdB, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("flock on the other mount: %v (locks are per mount)", err)
	}
	syscall.Flock(fdB, syscall.LOCK_UN)
	release()
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("flock after the holder ended: %v", err)
	}
	syscall.Flock(fd, syscall.LOCK_UN)

	release = holdLock(t, "fcntl", p)
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(uintptr(fd), syscall.F_SETLK, &lk); !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES) {
		t.Fatalf("fcntl lock while another process holds it: %v, want EAGAIN", err)
	}
	q := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: io.SeekStart, Start: 1, Len: 1}
	if err := syscall.FcntlFlock(uintptr(fd), syscall.F_GETLK, &q); err != nil {
		t.Fatal(err)
	}
	if q.Type != syscall.F_WRLCK || q.Pid == 0 || q.Pid == int32(os.Getpid()) {
		t.Fatalf("F_GETLK: type %d pid %d", q.Type, q.Pid)
	}
	release()
	lk = syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(uintptr(fd), syscall.F_SETLK, &lk); err != nil {
		t.Fatalf("fcntl lock after the holder ended: %v", err)
	}
}

// TestSQLiteWAL: SQLite in WAL mode (shared memory through mmap of the
// -shm file, fcntl locks) with a writer and a reader process at once on
// one mount.
func TestSQLiteWAL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	a := e.mountFG(t, "--domain="+e.domain)
	dbPath := filepath.Join(a, "db.sqlite")
	db, err := openDB(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	// This connection stays open: the -wal and -shm files live on.
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dbPath + suffix); err != nil {
			t.Fatalf("WAL mode without its %s file: %v", suffix, err)
		}
	}
	const rows = 200
	writer := helperCmd("sqlite-write", dbPath, strconv.Itoa(rows))
	reader := helperCmd("sqlite-read", dbPath, strconv.Itoa(rows))
	var wout, rout strings.Builder
	writer.Stdout, writer.Stderr = &wout, &wout
	reader.Stdout, reader.Stderr = &rout, &rout
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	if err := writer.Wait(); err != nil {
		t.Fatalf("writer: %v\n%s", err, wout.String())
	}
	if err := reader.Wait(); err != nil {
		t.Fatalf("reader: %v\n%s", err, rout.String())
	}
	t.Logf("reader: %s", strings.TrimSpace(rout.String()))
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != rows {
		t.Fatalf("count: %d, %v", n, err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The last connection checkpointed the database file, and another
	// mount reads it complete.
	b := e.mountFG(t, "--domain="+e.domain)
	db2, err := sql.Open("sqlite", "file:"+filepath.Join(b, "db.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != rows {
		t.Fatalf("count on another mount after the last close: %d, %v", n, err)
	}
}
