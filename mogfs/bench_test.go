package mogfs_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFigures measures the figures of docs/mogfs.md §9. It runs only with
// MOGFS_BENCH=1 (and should run without -race):
//
//	MOGFS_BENCH=1 go test -count=1 -v -run TestFigures ./mogfs/
//
// MOGFS_BENCH_KEYS sets the size of the big domain (default 100000).
func TestFigures(t *testing.T) {
	if os.Getenv("MOGFS_BENCH") == "" {
		t.Skip("figures: set MOGFS_BENCH=1")
	}
	e := newEnv(t, 2)

	t.Run("small files", func(t *testing.T) {
		mnt := e.mountFG(t, "--domain="+e.domain, "--class=one")
		const n = 2000
		data := bytes.Repeat([]byte("x"), 4096)
		if err := os.Mkdir(filepath.Join(mnt, "small"), 0o755); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := os.WriteFile(filepath.Join(mnt, "small", fmt.Sprintf("f%05d", i)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		w := time.Since(start)
		// Read them on a fresh mount: nothing cached.
		mnt2 := e.mountFG(t, "--domain="+e.domain)
		start = time.Now()
		for i := 0; i < n; i++ {
			b, err := os.ReadFile(filepath.Join(mnt2, "small", fmt.Sprintf("f%05d", i)))
			if err != nil || len(b) != len(data) {
				t.Fatalf("read: %d bytes, %v", len(b), err)
			}
		}
		r := time.Since(start)
		t.Logf("FIGURE small files (4 KiB, one process): %.0f writes/s, %.0f reads/s (cold mount)",
			n/w.Seconds(), n/r.Seconds())
	})

	t.Run("sequential GiB", func(t *testing.T) {
		mnt := e.mountFG(t, "--domain="+e.domain, "--class=one")
		p := filepath.Join(mnt, "gib.bin")
		start := time.Now()
		run(t, "dd", "if=/dev/zero", "of="+p, "bs=1M", "count=1024", "status=none")
		w := time.Since(start)
		mnt2 := e.mountFG(t, "--domain="+e.domain)
		start = time.Now()
		run(t, "dd", "if="+filepath.Join(mnt2, "gib.bin"), "of=/dev/null", "bs=1M", "status=none")
		r := time.Since(start)
		t.Logf("FIGURE 1 GiB sequential (dd bs=1M): write %.0f MiB/s, read %.0f MiB/s", 1024/w.Seconds(), 1024/r.Seconds())
	})

	t.Run("ls -l 10000", func(t *testing.T) {
		makeKeys(t, e, "ls10k/", 10000, 1)
		mnt := e.mountFG(t, "--domain="+e.domain)
		start := time.Now()
		out := run(t, "ls", "-l", filepath.Join(mnt, "ls10k/d0"))
		d := time.Since(start)
		if n := strings.Count(out, "\n") - 1; n != 10000 {
			t.Fatalf("ls -l listed %d files", n)
		}
		start = time.Now()
		run(t, "ls", "-l", filepath.Join(mnt, "ls10k/d0"))
		t.Logf("FIGURE ls -l of 10000 files: %v (again, cached: %v)", d, time.Since(start))
	})

	t.Run("ls -lR RSS", func(t *testing.T) {
		keys := 100000
		if v := os.Getenv("MOGFS_BENCH_KEYS"); v != "" {
			keys, _ = strconv.Atoi(v)
		}
		makeKeys(t, e, "big/", keys, 100)
		mnt, p := e.mountProc(t, "--domain="+e.domain)
		pid := p.Cmd.Process.Pid
		var maxRSS int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if r := rssKiB(pid); r > maxRSS {
					maxRSS = r
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		cmd := exec.Command("ls", "-lR", filepath.Join(mnt, "big"))
		out, err := cmd.Output()
		d := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("ls -lR: %v", err)
		}
		if n := strings.Count(string(out), " f"); n < keys {
			t.Fatalf("ls -lR listed %d files, want %d", n, keys)
		}
		t.Logf("FIGURE ls -lR of %d keys: %v, mogfs max RSS %d MiB", keys, d, maxRSS/1024)
	})
}

// makeKeys stores n one-byte keys under prefix, spread over dirs
// directories d0, d1, ..., with 16 uploads at a time.
func makeKeys(t *testing.T, e *env, prefix string, n, dirs int) {
	t.Helper()
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				key := fmt.Sprintf("%sd%d/f%06d", prefix, i%dirs, i)
				if _, err := e.c.StoreBytes(ctx(t), key, "one", []byte{'x'}); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	t.Logf("stored %d keys in %v", n, time.Since(start))
}

// rssKiB reads VmRSS of a process.
func rssKiB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
