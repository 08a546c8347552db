package worker_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// delete removes the key at once (the store's job); the delete worker then
// removes every copy from disk and the file_on rows, and empties the queue.
func TestDeleteRemovesCopies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	data := map[int64][]byte{}
	var fids []int64
	for i := range 5 {
		b := []byte(fmt.Sprintf("doomed %d", i))
		fid := e.upload(fmt.Sprintf("k%d", i), "2copies", b, 1, true)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.waitCopies(fids, data, 2, 30*time.Second)
	for _, fid := range fids {
		if err := e.st.DeleteFile(e.ctx, fid); err != nil {
			t.Fatal(err)
		}
	}
	e.waitFor("copies gone", 30*time.Second, func() (bool, string) {
		for _, fid := range fids {
			if ids := e.devids(fid); len(ids) > 0 {
				return false, fmt.Sprintf("fid %d still on %v", fid, ids)
			}
			for _, d := range []int{1, 2} {
				if _, err := os.Stat(e.diskPath(d, fid)); err == nil {
					return false, fmt.Sprintf("fid %d still on disk of dev%d", fid, d)
				}
			}
		}
		if n := e.queueLen(store.QueueDelete); n != 0 {
			return false, fmt.Sprintf("%d rows in the delete queue", n)
		}
		return true, ""
	})
	for _, fid := range fids {
		if _, err := e.st.Checksum(e.ctx, fid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("fid %d: checksum row still there (%v)", fid, err)
		}
	}
}

// A copy on a device that cannot take deletes now (readonly) waits; the
// others go at once and the queue row stays until the device is back.
func TestDeleteWaitsForReadonlyDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	b := []byte("wait for me")
	fid := e.upload("k", "2copies", b, 1, false)
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: b}, 2, 30*time.Second)
	e.setStatus(e.cl, 2, "readonly")
	if err := e.st.DeleteFile(e.ctx, fid); err != nil {
		t.Fatal(err)
	}
	e.waitFor("dev1 copy gone, delete rescheduled", 30*time.Second, func() (bool, string) {
		fd, err := e.st.FileDebug(e.ctx, fid)
		if err != nil || fd.Delete == nil {
			return false, fmt.Sprintf("%v %+v", err, fd.Delete)
		}
		ids := e.devids(fid)
		return len(ids) == 1 && ids[0] == 2 && fd.Delete.FailCount > 0, fmt.Sprintf("on %v, queue %+v", ids, *fd.Delete)
	})
	if _, err := os.Stat(e.diskPath(2, fid)); err != nil {
		t.Errorf("the readonly device's copy was touched: %v", err)
	}
	// Back to alive: the next try (brought forward by hand) finishes.
	e.setStatus(e.cl, 2, "alive")
	e.waitWriteable(e.cl)
	if err := e.st.Retry(e.ctx, store.QueueDelete, fid, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.waitFor("all copies gone", 30*time.Second, func() (bool, string) {
		_, err := os.Stat(e.diskPath(2, fid))
		return len(e.devids(fid)) == 0 && os.IsNotExist(err) && e.queueLen(store.QueueDelete) == 0,
			fmt.Sprintf("on %v, stat %v", e.devids(fid), err)
	})
}

// An upload never closed is reaped after TempfileTooOld: its copy is
// deleted from the device it was written to.
func TestTempfileReaper(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.TempfileTooOld = 2 * time.Second
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}, cfg: &cfg})
	fid, err := e.st.RegisterTempfile(e.ctx, store.Tempfile{DomainID: e.dmid, Key: "abandoned", ClassID: e.class["2copies"], DevIDs: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	e.httpPut(e.url(1, fid), []byte("never closed"))
	e.waitFor("abandoned upload reaped", 30*time.Second, func() (bool, string) {
		_, err := e.st.Tempfile(e.ctx, fid)
		_, statErr := os.Stat(e.diskPath(1, fid))
		return errors.Is(err, store.ErrNotFound) && os.IsNotExist(statErr) && len(e.devids(fid)) == 0 && e.queueLen(store.QueueDelete) == 0,
			fmt.Sprintf("tempfile %v, disk %v, file_on %v", err, statErr, e.devids(fid))
	})
	// A fresh upload is left alone.
	fid2, err := e.st.RegisterTempfile(e.ctx, store.Tempfile{DomainID: e.dmid, Key: "fresh", ClassID: e.class["2copies"], DevIDs: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	e.httpPut(e.url(1, fid2), []byte("in progress"))
	if _, err := e.st.CommitFile(e.ctx, store.CloseFile{FID: fid2, DevID: 1, DomainID: e.dmid, Key: "fresh", ClassID: e.class["2copies"], Length: 11}); err != nil {
		t.Fatalf("closing an upload younger than the limit: %v", err)
	}
	e.waitCopies([]int64{fid2}, map[int64][]byte{fid2: []byte("in progress")}, 2, 30*time.Second)
}

// Marking a device dead re-replicates every file on it from the other
// copies, a bounded number per pass, and forgets its file_on rows.
func TestReaperRestoresCopies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}, {3}}})
	if err := e.st.SetSetting(e.ctx, "queue_rate_for_reaper", "7"); err != nil {
		t.Fatal(err)
	}
	data := map[int64][]byte{}
	var fids []int64
	for i := range 30 {
		b := bytes.Repeat([]byte{byte('a' + i%26)}, 1000+i)
		fid := e.upload(fmt.Sprintf("k%d", i), "2copies", b, 1+i%2, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.waitCopies(fids, data, 2, 60*time.Second)
	onDead := 0
	for _, fid := range fids {
		for _, d := range e.devids(fid) {
			if d == 2 {
				onDead++
			}
		}
	}
	if onDead == 0 {
		t.Fatal("no file on dev2 to reap")
	}
	e.setStatus(e.cl, 2, "dead")
	e.waitFor("dev2 reaped", 60*time.Second, func() (bool, string) {
		ids, err := e.st.FIDsOnDevice(e.ctx, 2, 0, 1000)
		return err == nil && len(ids) == 0, fmt.Sprintf("%d fids left, %v", len(ids), err)
	})
	e.waitFor("every file back at 2 copies", 60*time.Second, func() (bool, string) {
		for _, fid := range fids {
			ids := e.devids(fid)
			if len(ids) != 2 || e.hostsOf(ids) != 2 {
				return false, fmt.Sprintf("fid %d on %v", fid, ids)
			}
			for _, d := range ids {
				if d == 2 {
					return false, fmt.Sprintf("fid %d still on the dead device", fid)
				}
				got, err := os.ReadFile(e.diskPath(d, fid))
				if err != nil || !bytes.Equal(got, data[fid]) {
					return false, fmt.Sprintf("fid %d on dev%d: %v", fid, d, err)
				}
			}
		}
		return true, ""
	})
	t.Logf("%d copies re-replicated off the dead device", onDead)
}
