package mogfs_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// prng is a reproducible stream of pseudo-random bytes.
type prng struct{ r *rand.ChaCha8 }

func newPRNG(seed byte) *prng {
	var s [32]byte
	s[0] = seed
	return &prng{rand.NewChaCha8(s)}
}

func (p *prng) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestDDGiB writes 1 GiB through the mount with dd and reads it back with
// dd, comparing SHA-256 digests.
func TestDDGiB(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	mnt := e.mountFG(t, "--domain="+e.domain, "--class=one")
	const size = 1 << 30
	path := filepath.Join(mnt, "big.bin")

	wantH := sha256.New()
	in := io.TeeReader(io.LimitReader(newPRNG(7), size), wantH)
	w := exec.Command("dd", "of="+path, "bs=1M", "iflag=fullblock", "status=none")
	w.Stdin = in
	start := time.Now()
	if out, err := w.CombinedOutput(); err != nil {
		t.Fatalf("dd write: %v\n%s", err, out)
	}
	wdur := time.Since(start)

	st, err := os.Stat(path)
	if err != nil || st.Size() != size {
		t.Fatalf("stat after dd: %v, %v", st, err)
	}
	r := exec.Command("dd", "if="+path, "bs=1M", "status=none")
	gotH := sha256.New()
	r.Stdout = gotH
	var stderr bytes.Buffer
	r.Stderr = &stderr
	start = time.Now()
	if err := r.Run(); err != nil {
		t.Fatalf("dd read: %v\n%s", err, stderr.String())
	}
	rdur := time.Since(start)
	if !bytes.Equal(gotH.Sum(nil), wantH.Sum(nil)) {
		t.Fatal("SHA-256 of the file read back differs from what was written")
	}
	fi, err := e.c.FileInfo(ctx(t), "big.bin")
	if err != nil || fi.Length != size {
		t.Fatalf("file_info big.bin = %+v, %v", fi, err)
	}
	t.Logf("1 GiB: write %v (%.0f MiB/s), read %v (%.0f MiB/s)", wdur, 1024/wdur.Seconds(), rdur, 1024/rdur.Seconds())
}

// TestAppendAndRandomWrites appends to an existing key with >> and
// changes bytes in the middle of a file opened without O_TRUNC.
func TestAppendAndRandomWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.put(t, "log.txt", []byte("line 1\n"))
	mnt := e.mountFG(t, "--domain="+e.domain)
	path := filepath.Join(mnt, "log.txt")

	run(t, "sh", "-c", "echo 'line 2' >> "+path+" && echo 'line 3' >> "+path)
	if got := string(e.get(t, "log.txt")); got != "line 1\nline 2\nline 3\n" {
		t.Fatalf("after appends the key holds %q", got)
	}

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("LINE"), 7); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 21)
	if n, err := f.ReadAt(buf, 0); n != 21 || string(buf) != "line 1\nLINE 2\nline 3\n" {
		t.Fatalf("read back on the writing descriptor: %q, %v", buf[:n], err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if got := string(e.get(t, "log.txt")); got != "line 1\nLINE 2\nline 3\n" {
		t.Fatalf("after a write in the middle the key holds %q", got)
	}

	// O_APPEND from Go, and truncate(2) by path.
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 6); err != nil {
		t.Fatal(err)
	}
	if got := string(e.get(t, "log.txt")); got != "line 1" {
		t.Fatalf("after truncate the key holds %q", got)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "line 1" {
		t.Fatalf("read through the mount after truncate: %q, %v", got, err)
	}
}

// TestConcurrentWriters runs two processes writing different files at
// the same time.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	mnt := e.mountFG(t, "--domain="+e.domain)
	const size = 24 << 20
	var wg sync.WaitGroup
	sums := make([][]byte, 2)
	errs := make([]error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h := sha256.New()
			cmd := exec.Command("dd", "of="+filepath.Join(mnt, fmt.Sprintf("w%d.bin", i)), "bs=128k", "iflag=fullblock", "status=none")
			cmd.Stdin = io.TeeReader(io.LimitReader(newPRNG(byte(10+i)), size), h)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("dd %d: %v: %s", i, err, out)
			}
			sums[i] = h.Sum(nil)
		}(i)
	}
	wg.Wait()
	for i := 0; i < 2; i++ {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got := sha256.Sum256(e.get(t, fmt.Sprintf("w%d.bin", i)))
		if !bytes.Equal(got[:], sums[i]) {
			t.Errorf("w%d.bin differs", i)
		}
	}
}

// TestStorageDown: with every storage node down, close() of a written
// file returns EIO and the key keeps its previous content.
func TestStorageDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.put(t, "keep.txt", []byte("old content"))
	mnt := e.mountFG(t, "--domain="+e.domain)
	path := filepath.Join(mnt, "keep.txt")
	if got, err := os.ReadFile(path); err != nil || string(got) != "old content" {
		t.Fatalf("read before: %q, %v", got, err)
	}

	var restart [][]string
	for _, n := range e.cl.Nodes {
		restart = append(restart, n.Proc.Cmd.Args)
		n.Proc.Kill()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Whole pages: the kernel keeps them in its page cache.
	if _, err := f.Write(bytes.Repeat([]byte("new content that must not land\n"), 1024)); err != nil {
		t.Fatalf("write (to the spool) failed: %v", err)
	}
	err = f.Close()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("close with every storage node down = %v, want EIO", err)
	}
	// A new file fails the same way and does not appear.
	err = os.WriteFile(filepath.Join(mnt, "new.txt"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("writing a new file with every storage node down = %v, want EIO", err)
	}

	for _, args := range restart {
		p := mogtest.Start(t, args[0], args[1:]...)
		_ = p
	}
	for _, n := range e.cl.Nodes {
		mogtest.WaitPort(t, fmt.Sprintf("%s:%d", n.IP, n.HTTPPort), 30*time.Second)
	}
	if got := string(e.get(t, "keep.txt")); got != "old content" {
		t.Fatalf("after the failed commit the key holds %q", got)
	}
	// The mount dropped the changes, and the kernel's cached pages of
	// them: it reads the old content too.
	if got, err := os.ReadFile(path); err != nil || string(got) != "old content" {
		t.Fatalf("after the failed commit the mount reads %q, %v", got, err)
	}
	if _, err := e.c.FileInfo(ctx(t), "new.txt"); err == nil {
		t.Fatal("new.txt exists after its commit failed")
	}
}

// TestCloseToOpen: a second mount that has the file's attributes and
// pages cached sees the new content as soon as the writer's close
// returned, whatever the cache time.
func TestCloseToOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "c2o.txt", []byte("version one"))
	a := e.mountFG(t, "--domain="+e.domain, "--ttl=1h")
	b := e.mountFG(t, "--domain="+e.domain, "--ttl=1h")
	if got, err := os.ReadFile(filepath.Join(b, "c2o.txt")); err != nil || string(got) != "version one" {
		t.Fatalf("b reads %q, %v", got, err)
	}
	for i, v := range []string{"version two, longer than the first", "v3", "version four"} {
		if err := os.WriteFile(filepath.Join(a, "c2o.txt"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(b, "c2o.txt")); err != nil || string(got) != v {
			t.Fatalf("round %d: b reads %q, %v; want %q", i, got, err, v)
		}
	}
}

// TestOver4GiB reads a file longer than 4 GiB at offsets past 4 GiB. The
// file is registered the real way (create_open, a file at the returned
// path on the storage node's disk, create_close), but written sparse on
// the node's disk rather than sent over HTTP, to keep the test fast.
func TestOver4GiB(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	c := e.cl.Tracker.Conn(t)
	open := c.MustDo(t, "create_open", wire.Args{"domain": e.domain, "key": "huge.bin", "class": "one"})
	u, err := url.Parse(open["path"])
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(e.cl.Nodes[0].DocRoot, filepath.FromSlash(u.Path))
	const size = 5<<30 + 12345
	marks := map[int64]string{0: "start", 4<<30 - 3: "across 4 GiB", 4<<30 + 1<<20: "past 4 GiB", size - 7: "the end"}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off, m := range marks {
		if _, err := f.WriteAt([]byte(m), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	t.Cleanup(func() { os.Remove(local) })
	c.MustDo(t, "create_close", wire.Args{"domain": e.domain, "key": "huge.bin", "fid": open["fid"],
		"devid": open["devid"], "path": open["path"], "size": strconv.FormatInt(size, 10)})

	mnt := e.mountFG(t, "--domain="+e.domain)
	st, err := os.Stat(filepath.Join(mnt, "huge.bin"))
	if err != nil || st.Size() != size {
		t.Fatalf("stat: %v, %v", st, err)
	}
	rf, err := os.Open(filepath.Join(mnt, "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	for off, m := range marks {
		buf := make([]byte, len(m)+2)
		n, err := rf.ReadAt(buf, off)
		if off+int64(len(buf)) > size {
			if err != io.EOF || n != len(m) {
				t.Errorf("read at %d: %d, %v; want %d bytes and EOF", off, n, err, len(m))
			}
		} else if err != nil {
			t.Errorf("read at %d: %v", off, err)
		}
		if string(buf[:len(m)]) != m {
			t.Errorf("at %d read %q, want %q", off, buf[:len(m)], m)
		}
	}
}

// TestReadFailover: with one copy of every file gone from a storage node,
// reads through the mount fail over to the other copy.
func TestReadFailover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	const n = 10
	want := map[string][]byte{}
	for i := 0; i < n; i++ {
		b := make([]byte, 64<<10)
		newPRNG(byte(100 + i)).Read(b)
		k := fmt.Sprintf("rep/f%d", i)
		e.put(t, k, b)
		want[k] = b
	}
	deadline := time.Now().Add(90 * time.Second)
	for k := range want {
		for {
			fi, err := e.c.FileInfo(ctx(t), k)
			if err == nil && fi.DevCount >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not replicated to 2 devices: %+v, %v", k, fi, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	removed := 0
	filepath.WalkDir(e.cl.Nodes[0].DocRoot, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".fid" {
			if os.Remove(p) == nil {
				removed++
			}
		}
		return nil
	})
	if removed != n {
		t.Fatalf("removed %d copies from %s, want %d", removed, e.cl.Nodes[0].DocRoot, n)
	}
	mnt := e.mountFG(t, "--domain="+e.domain)
	for k, b := range want {
		got, err := os.ReadFile(filepath.Join(mnt, k))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: read %d bytes, %v", k, len(got), err)
		}
	}
}

// TestTrackerDown: with the tracker gone, calls fail with EIO (in bounded
// time, without crashing the mount); once it is back, the mount works
// again.
func TestTrackerDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.put(t, "before.txt", []byte("before"))
	mnt := e.mountFG(t, "--domain="+e.domain, "--timeout=2s", "--ttl=0")
	args := e.cl.Tracker.Proc.Cmd.Args
	e.cl.Tracker.Proc.Kill()

	start := time.Now()
	if _, err := os.ReadDir(filepath.Join(mnt, "nosuchdir")); !errors.Is(err, syscall.EIO) {
		t.Errorf("readdir with the tracker down: %v, want EIO", err)
	}
	err := os.WriteFile(filepath.Join(mnt, "new.txt"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("write with the tracker down: %v, want EIO", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("failing took %v", d)
	}

	p := mogtest.Start(t, args[0], args[1:]...)
	p.WaitPort(t, e.cl.Tracker.Addr, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(mnt, "before.txt"))
		if err == nil && string(got) == "before" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mount did not recover: %q, %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(mnt, "after.txt"), []byte("after"), 0o644); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
}
