package faulttest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// mountTmpfs mounts a tmpfs of the given size on dir and lazily unmounts
// it at cleanup. Without permission to mount the test is skipped, loudly,
// unless CI=true.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot mount tmpfs on %s (%v) but CI=true: the device fault tests must run as root", dir, err)
		}
		t.Skipf("SKIPPING device fault test: cannot mount tmpfs (%v); it needs root", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// fill writes a file on dir until the filesystem is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return
		}
	}
}

// TestDeviceFaults: on a cluster of five single-device hosts, three
// devices are small tmpfs mounts. Once files live on every device, one
// tmpfs turns read-only, one disappears (unmounted, its directory
// removed) and one fills up, all at once. The monitor reports each
// (get_devices: readable, unreachable, full); every file stored before
// reads back; uploads started while the monitor has not noticed yet
// either succeed or leave nothing; uploads after that all succeed, and
// their copies land only on the two healthy devices.
func TestDeviceFaults(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "fault", "two"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 5, Domain: domain, Classes: map[string]int{class: 2},
		Tracker: mogtest.TrackerOptions{Args: []string{"--min_free_space=1"}}, NodeArgs: []string{"--nofsync"}})
	tc := &tconn{addr: cl.Tracker.Addr}
	defer tc.close()
	c := newClient(t, domain, 20*time.Second, cl.Tracker.Addr)
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	const ro, gone, full = 2, 3, 4
	healthy := []int{1, 5}
	dir := func(devid int) string { return cl.Nodes[devid-1].Mogstored.DevDir(devid) }
	for _, d := range []int{ro, gone, full} {
		mountTmpfs(t, dir(d), "4m")
	}
	waitFor(t, "the monitor to see the tmpfs sizes", 60*time.Second, func() (bool, string) {
		devs := devices(t, tc)
		for _, d := range []int{ro, gone, full} {
			if devs[d]["mb_total"] != "4" || devs[d]["observed_state"] != "writeable" {
				return false, fmt.Sprint(devs[d])
			}
		}
		return true, ""
	})

	// Files on every device.
	sz := sizes{4 << 10, 48 << 10}
	before := upload(ctx, c, class, keyList("before", scale(60, 300)), 4, sz, nil)
	if len(before.failedKeys()) > 0 {
		t.Fatalf("uploads failed on a healthy cluster:\n%s", before.errorSummary())
	}
	waitFor(t, "2 copies of every file", 120*time.Second, func() (bool, string) {
		short, err := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		return err == nil && short == 0, fmt.Sprint(short, " files short ", err)
	})
	for _, d := range []int{ro, gone, full} {
		if n, _ := queryInt(t, db, "SELECT COUNT(*) FROM file_on WHERE devid = ?", d); n == 0 {
			t.Fatalf("no copies on dev%d before the faults", d)
		}
	}

	// The faults, all at once, with uploads running.
	faultAt := time.Now()
	if err := syscall.Mount("", dir(ro), "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	if err := syscall.Unmount(dir(gone), syscall.MNT_DETACH); err != nil {
		t.Fatalf("unmount: %v", err)
	}
	if err := os.RemoveAll(dir(gone)); err != nil {
		t.Fatal(err)
	}
	fill(t, dir(full))
	stop := make(chan struct{})
	during := uploadUntil(ctx, c, class, "during", sz, stop)
	var reported map[int]map[string]string
	noticed := waitFor(t, "the monitor to report all three devices", 90*time.Second, func() (bool, string) {
		reported = devices(t, tc)
		okRO := reported[ro]["observed_state"] == "readable"
		okGone := reported[gone]["observed_state"] == "unreachable"
		okFull := reported[full]["observed_state"] == "readable" || reported[full]["mb_free"] == "0"
		return okRO && okGone && okFull, fmt.Sprintf("read-only %v, gone %v, full %v", reported[ro], reported[gone], reported[full])
	})
	close(stop)
	du := <-during
	var duringFailed []string
	for k := range du.failedKeys() {
		duringFailed = append(duringFailed, k)
	}
	absent, complete, half := checkUnacked(t, ctx, c, duringFailed, sz)

	// Reads keep working.
	lost := checkAcked(t, ctx, c, before.ackedKeys(), sz)
	lost += checkAcked(t, ctx, c, du.ackedKeys(), sz)

	// Writes go elsewhere.
	after := upload(ctx, c, class, keyList("after", scale(40, 200)), 4, sz, nil)
	if len(after.failedKeys()) > 0 {
		t.Errorf("uploads failed after the monitor noticed:\n%s", after.errorSummary())
	}
	waitFor(t, "2 copies of every new file", 120*time.Second, func() (bool, string) {
		short, err := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE f.dkey LIKE 'after/%' AND (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		return err == nil && short == 0, fmt.Sprint(short, " files short ", err)
	})
	misplaced := 0
	for _, k := range after.ackedKeys() {
		fi, err := c.FileInfo(ctx, k)
		if err != nil {
			t.Errorf("file_info %q: %v", k, err)
			continue
		}
		for _, d := range fi.DevIDs {
			if !slices.Contains(healthy, d) {
				misplaced++
				t.Errorf("%q has a copy on dev%d", k, d)
			}
		}
	}
	lost += checkAcked(t, ctx, c, after.ackedKeys(), sz)
	figure(t, "files_before=%d acknowledged_lost=%d monitor_reported_after=%.1fs (read-only %s, gone %s, full %s mb_free=%s) "+
		"uploads_while_unnoticed=%d failed=%d (absent %d, complete %d, half-there %d) uploads_after=%d failed=%d misplaced_copies=%d",
		len(before.ackedKeys()), lost, noticed.Seconds(), reported[ro]["observed_state"], reported[gone]["observed_state"],
		reported[full]["observed_state"], reported[full]["mb_free"], len(du.ackedKeys())+len(duringFailed), len(duringFailed),
		absent, complete, half, len(after.ackedKeys())+len(after.failedKeys()), len(after.failedKeys()), misplaced)
	t.Logf("faults injected at %s", faultAt.Format(time.TimeOnly))
}
