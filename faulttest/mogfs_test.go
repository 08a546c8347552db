package faulttest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// mountMogfs runs mogfs in the foreground on a new directory, waits for
// the mount, and unmounts it at cleanup.
func mountMogfs(t *testing.T, tracker string, args ...string) (string, *mogtest.Proc) {
	t.Helper()
	mnt := t.TempDir()
	all := append([]string{"-f", "--trackers=" + tracker, "--cache-dir=" + t.TempDir()}, args...)
	p := mogtest.Start(t, mogtest.Binary(t, "mogfs"), append(all, mnt)...)
	deadline := time.Now().Add(60 * time.Second)
	for !mogtest.IsFUSEMount(mnt) {
		select {
		case <-p.Exited():
			t.Fatalf("mogfs exited before mounting:\n%s", p.Output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not mounted after 60 s:\n%s", mnt, p.Output())
		}
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(20 * time.Second)
		for mogtest.IsFUSEMount(mnt) && time.Now().Before(deadline) {
			if syscall.Unmount(mnt, 0) != nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if mogtest.IsFUSEMount(mnt) {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
			t.Errorf("%s still mounted at cleanup", mnt)
		}
		if strings.Contains(p.Output(), "DATA RACE") {
			t.Errorf("mogfs reported a data race:\n%s", p.Output())
		}
	})
	return mnt, p
}

// tmpFiles lists mogstored upload temp files under root with their sizes.
func tmpFiles(root string) map[string]int64 {
	out := map[string]int64{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tmp") {
			if info, err := d.Info(); err == nil {
				out[p] = info.Size()
			}
		}
		return nil
	})
	return out
}

// TestMogfsNodesVanishDuringLargeWrite: a large file is being written over
// an existing key through the mount; while its upload to a storage node is
// under way, every storage node gets SIGKILL. close(2) returns EIO, the key
// keeps its old content (read through the client and the mount once the
// nodes are back), and the mount keeps working without a remount.
func TestMogfsNodesVanishDuringLargeWrite(t *testing.T) {
	parallelUnlessSoak(t)
	mogtest.NeedFUSE(t)
	ctx := ctxFor(t)
	const domain = "fsdom"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{"one": 1}})
	c := newClient(t, domain, 30*time.Second, cl.Tracker.Addr)
	old := content("big-old", 2<<20, 2<<20)
	if _, err := c.StoreBytes(ctx, "big.bin", "one", old); err != nil {
		t.Fatal(err)
	}
	mnt, p := mountMogfs(t, cl.Tracker.Addr, "--domain="+domain, "--class=one", "--timeout=5s")

	// Kill every node as soon as a temp file of the new upload reaches
	// 1 MiB on one of them.
	var killedAt atomic.Int64
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
			}
			for _, n := range cl.Nodes {
				for _, size := range tmpFiles(n.DocRoot) {
					if size >= 1<<20 {
						for _, m := range cl.Nodes {
							m.Proc.Kill()
						}
						killedAt.Store(time.Now().UnixNano())
						return
					}
				}
			}
		}
	}()
	size := scale(64<<20, 512<<20)
	f, err := os.OpenFile(filepath.Join(mnt, "big.bin"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	chunk := content("big-new", 1<<20, 1<<20)
	for off := 0; off < size; off += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("write at %d: %v", off, err)
		}
	}
	closeStart := time.Now()
	cerr := f.Close()
	closeTime := time.Since(closeStart)
	close(stopWatch)
	<-watched
	if killedAt.Load() == 0 {
		t.Fatalf("the upload ended (close: %v) before the storage nodes could be killed", cerr)
	}
	if !errors.Is(cerr, syscall.EIO) {
		t.Fatalf("close with the storage nodes killed during the upload = %v, want EIO", cerr)
	}
	for _, n := range cl.Nodes {
		n.Proc = restart(t, n.Proc)
		n.Proc.WaitPort(t, n.Mogstored.HTTPAddr, 30*time.Second)
	}
	got, err := c.GetBytes(ctx, "big.bin")
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after the failed write the key holds %d bytes (want the old %d), %v", len(got), len(old), err)
	}
	viaMount, err := os.ReadFile(filepath.Join(mnt, "big.bin"))
	if err != nil || !bytes.Equal(viaMount, old) {
		t.Fatalf("the mount reads %d bytes (want the old %d), %v", len(viaMount), len(old), err)
	}
	select {
	case <-p.Exited():
		t.Fatalf("mogfs exited:\n%s", p.Output())
	default:
	}
	small := content("after", 4096, 4096)
	if err := os.WriteFile(filepath.Join(mnt, "after.bin"), small, 0o644); err != nil {
		t.Fatalf("write after the nodes came back: %v", err)
	}
	if got, err := c.GetBytes(ctx, "after.bin"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("after.bin: %d bytes, %v", len(got), err)
	}
	leftovers := 0
	for _, n := range cl.Nodes {
		leftovers += len(tmpFiles(n.DocRoot))
	}
	figure(t, "write=%dMiB close=EIO after %.1fs old_content_intact=true temp_files_left_by_killed_nodes=%d",
		size>>20, closeTime.Seconds(), leftovers)
}

// fsOp is one operation of the busy-mount load.
type fsOp struct {
	kind  string
	start time.Time
	dur   time.Duration
	err   error
}

// TestMogfsTrackerRestartBusy: readers, directory listers and writers keep
// a mount busy while the tracker gets SIGKILL and is started again. Every
// operation ends in bounded time; failures are EIO; once the tracker is
// back every kind of operation succeeds again on the same mount (no
// remount, same process); every file whose close succeeded is stored
// with its content, and every failed write left the key absent or
// complete.
func TestMogfsTrackerRestartBusy(t *testing.T) {
	parallelUnlessSoak(t)
	mogtest.NeedFUSE(t)
	ctx := ctxFor(t)
	const domain = "fsdom"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: domain, Classes: map[string]int{"one": 1}})
	c := newClient(t, domain, 30*time.Second, cl.Tracker.Addr)
	sz := sizes{1 << 10, 64 << 10}
	var pre []string
	for i := 0; i < 20; i++ {
		k := fmt.Sprintf("pre/f%02d", i)
		if _, err := c.StoreBytes(ctx, k, "one", sz.of(k)); err != nil {
			t.Fatal(err)
		}
		pre = append(pre, k)
	}
	mnt, p := mountMogfs(t, cl.Tracker.Addr, "--domain="+domain, "--class=one", "--timeout=2s", "--ttl=0")

	if err := os.MkdirAll(filepath.Join(mnt, "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ops []fsOp
	written := map[string]error{}
	record := func(kind string, start time.Time, err error) {
		mu.Lock()
		ops = append(ops, fsOp{kind, start, time.Since(start), err})
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(kind string, f func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := f(i)
				record(kind, start, err)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var rndMu sync.Mutex
	worker("read", func(int) error {
		rndMu.Lock()
		k := pre[rnd.IntN(len(pre))]
		rndMu.Unlock()
		b, err := os.ReadFile(filepath.Join(mnt, k))
		if err == nil && !bytes.Equal(b, sz.of(k)) {
			return fmt.Errorf("%s: wrong content (%d bytes)", k, len(b))
		}
		return err
	})
	worker("list", func(int) error {
		ents, err := os.ReadDir(filepath.Join(mnt, "pre"))
		if err == nil && len(ents) != len(pre) {
			return fmt.Errorf("listed %d entries, want %d", len(ents), len(pre))
		}
		return err
	})
	for w := 0; w < 2; w++ {
		worker("write", func(i int) error {
			k := fmt.Sprintf("new/w%d-%04d", w, i)
			err := os.WriteFile(filepath.Join(mnt, k), sz.of(k), 0o644)
			mu.Lock()
			written[k] = err
			mu.Unlock()
			return err
		})
	}
	time.Sleep(2 * time.Second) // load before the fault
	cl.Tracker.Proc.Kill()
	down := time.Now()
	time.Sleep(3 * time.Second)
	tp := restart(t, cl.Tracker.Proc)
	tp.WaitPort(t, cl.Tracker.Addr, 60*time.Second)
	back := time.Now()
	// Run on until every kind of operation succeeded again.
	recovered := waitFor(t, "every kind of operation to succeed again", 60*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		ok := map[string]bool{}
		for _, o := range ops {
			if o.start.After(back) && o.err == nil {
				ok[o.kind] = true
			}
		}
		return ok["read"] && ok["list"] && ok["write"], fmt.Sprint("succeeded since the restart: ", ok)
	})
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	errs := map[string]int{}
	var slowest time.Duration
	failed := 0
	for _, o := range ops {
		slowest = max(slowest, o.dur)
		if o.err == nil {
			continue
		}
		failed++
		if !errors.Is(o.err, syscall.EIO) {
			t.Errorf("%s failed with %v, want EIO", o.kind, o.err)
		}
		errs[o.kind+": "+errnoName(o.err)]++
	}
	if slowest > 30*time.Second {
		t.Errorf("an operation took %v", slowest)
	}
	var okKeys, failedKeys []string
	for k, err := range written {
		if err == nil {
			okKeys = append(okKeys, k)
		} else {
			failedKeys = append(failedKeys, k)
		}
	}
	lost := checkAcked(t, ctx, c, okKeys, sz)
	absent, complete, half := checkUnacked(t, ctx, c, failedKeys, sz)
	select {
	case <-p.Exited():
		t.Fatalf("mogfs exited:\n%s", p.Output())
	default:
	}
	if !mogtest.IsFUSEMount(mnt) {
		t.Fatal("the mount is gone")
	}
	var es []string
	for k, n := range errs {
		es = append(es, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(es)
	figure(t, "ops=%d failed=%d (%s) tracker_down=%.1fs all_ops_ok_again_after=%.1fs slowest_op=%v files_written=%d lost=%d "+
		"failed_writes=%d (absent %d, complete %d, half-there %d)",
		len(ops), failed, strings.Join(es, ", "), back.Sub(down).Seconds(), recovered.Seconds(), slowest.Round(10*time.Millisecond),
		len(okKeys), lost, len(failedKeys), absent, complete, half)
}

func errnoName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}
