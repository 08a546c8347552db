package worker_test

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// A file of a mindevcount-2 class reaches 2 devices on 2 hosts, with the
// bytes intact and devcount right, and leaves the queue.
func TestReplicationReachesPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1, 2}, {3, 4}}})
	data := map[int64][]byte{}
	var fids []int64
	for i := range 20 {
		b := bytes.Repeat([]byte(fmt.Sprintf("file %d;", i)), 100+i*37)
		fid := e.upload(fmt.Sprintf("key%d", i), "2copies", b, 1+i%2, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.waitCopies(fids, data, 2, 60*time.Second)
	e.waitFor("empty replication queue", 10*time.Second, func() (bool, string) {
		n := e.queueLen(store.QueueReplicate)
		return n == 0, fmt.Sprintf("%d rows", n)
	})
	// Nothing beyond the policy was written: 40 copies in all.
	total := 0
	for _, d := range []int{1, 2, 3, 4} {
		total += len(e.fidFilesOn(d))
	}
	if total != 40 {
		t.Errorf("%d .fid files on disk, want 40", total)
	}
}

// MultipleDevices(3) on two hosts puts three copies on three devices.
func TestReplicationMultipleDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1, 2}, {3}}})
	b := []byte("three devices please")
	fid := e.upload("k", "3devs", b, 1, false)
	e.waitFor("3 copies", 30*time.Second, func() (bool, string) {
		ids := e.devids(fid)
		return slices.Equal(ids, []int{1, 2, 3}), fmt.Sprint(ids)
	})
	for _, d := range []int{1, 2, 3} {
		got, err := os.ReadFile(e.diskPath(d, fid))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("dev%d: %q, %v", d, got, err)
		}
	}
}

// With a class hash type the replicator stores the checksum it computed,
// and verifies copies against a stored one: a source whose bytes do not
// match is not copied from.
func TestReplicationChecksums(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}, {3}}})

	// No checksum given at upload: replication computes and stores it.
	b := []byte("lazy checksum")
	fid := e.upload("lazy", "md5", b, 1, false)
	e.waitCopies([]int64{fid}, map[int64][]byte{fid: b}, 2, 30*time.Second)
	c, err := e.st.Checksum(e.ctx, fid)
	want := md5.Sum(b)
	if err != nil || c.HashType != store.HashMD5 || !bytes.Equal(c.Sum, want[:]) {
		t.Errorf("checksum row %+v, %v; want MD5 %x", c, err, want)
	}

	// A stored checksum the only copy does not match: the copy is never
	// spread (nor left half-made on a destination), and the file is
	// retried later.
	good := []byte("the right bytes")
	bad := []byte("the wrong bytes")
	fid3, err := e.st.RegisterTempfile(e.ctx, store.Tempfile{DomainID: e.dmid, Key: "corrupt2", ClassID: e.class["md5"], DevIDs: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	e.httpPut(e.url(2, fid3), bad)
	sum := md5.Sum(good)
	if _, err := e.st.CommitFile(e.ctx, store.CloseFile{FID: fid3, DevID: 2, DomainID: e.dmid, Key: "corrupt2", ClassID: e.class["md5"],
		Length: int64(len(bad)), Checksum: &store.Checksum{FID: fid3, HashType: store.HashMD5, Sum: sum[:]}}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("corrupt source rescheduled", 30*time.Second, func() (bool, string) {
		fd, err := e.st.FileDebug(e.ctx, fid3)
		if err != nil || fd.Replicate == nil {
			return false, fmt.Sprintf("%v %+v", err, fd.Replicate)
		}
		return fd.Replicate.FailCount > 0, fmt.Sprintf("queue row %+v", *fd.Replicate)
	})
	if ids := e.devids(fid3); !slices.Equal(ids, []int{2}) {
		t.Errorf("corrupt file spread to %v", ids)
	}
	for _, d := range []int{1, 3} {
		if _, err := os.Stat(e.diskPath(d, fid3)); err == nil {
			t.Errorf("a copy of the corrupt source was left on dev%d", d)
		}
	}
	// Repair the source by hand; replicate_now spreads it.
	e.httpPut(e.url(2, fid3), good)
	if _, err := e.st.ReplicateNow(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.waitCopies([]int64{fid3}, map[int64][]byte{fid3: good}, 2, 30*time.Second)
}

// A file with no copies anywhere is parked at the end of time, waiting for
// a manual replicate_now.
func TestReplicationNoSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}})
	fid := e.upload("k", "2copies", []byte("x"), 1, false)
	// Pause replication, drop the only copy's row, resume.
	if err := e.w.Want("job_master", 0); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RemoveFileOn(e.ctx, fid, 1, false); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Enqueue(e.ctx, store.QueueReplicate, store.QueueItem{FID: fid}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Want("job_master", 1); err != nil {
		t.Fatal(err)
	}
	e.waitFor("no_source parking", 30*time.Second, func() (bool, string) {
		fd, err := e.st.FileDebug(e.ctx, fid)
		if err != nil || fd.Replicate == nil {
			return false, fmt.Sprintf("%v %+v", err, fd.Replicate)
		}
		return fd.Replicate.NextTry == store.EndOfTime, fmt.Sprintf("queue row %+v", *fd.Replicate)
	})
	// In the original's words, for its !watch.
	if want := fmt.Sprintf("no_source: Source is no longer available replicating %d", fid); !e.logs.contains(want) {
		t.Errorf("no %q in the log", want)
	}
}

// Over-replicated files shed the extra copy.
func TestReplicationTooHappy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}, {3}}})
	b := []byte("one copy is plenty")
	fid := e.upload("k", "1copy", b, 1, false)
	// Add two more copies by hand, as if the class had asked for 3.
	for _, d := range []int{2, 3} {
		e.httpPut(e.url(d, fid), b)
		if err := e.st.AddFileOn(e.ctx, fid, d, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.Enqueue(e.ctx, store.QueueReplicate, store.QueueItem{FID: fid}, 0); err != nil {
		t.Fatal(err)
	}
	// Each pass sheds one copy, then backs off 15 s; replicate_now brings
	// the next pass forward.
	e.waitFor("one copy left", 60*time.Second, func() (bool, string) {
		if _, err := e.st.ReplicateNow(e.ctx); err != nil {
			return false, err.Error()
		}
		ids := e.devids(fid)
		return len(ids) == 1, fmt.Sprint(ids)
	})
	if want := fmt.Sprintf("too_happy: fid %d is on too many devices", fid); !e.logs.contains(want) {
		t.Errorf("no %q in the log", want)
	}
	ids := e.devids(fid)
	for _, d := range []int{1, 2, 3} {
		_, err := os.Stat(e.diskPath(d, fid))
		if on := slices.Contains(ids, d); on != (err == nil) {
			t.Errorf("dev%d: file_on %v but on disk: %v", d, on, err)
		}
	}
}

// kill -9 of a storage node: its files keep their rows and a readable copy
// elsewhere, new files are replicated among the nodes left, and once the
// node is back the files written meanwhile are untouched.
func TestNodeKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}, {3}}})
	data := map[int64][]byte{}
	var old []int64
	for i := range 10 {
		b := []byte(fmt.Sprintf("before the crash %d", i))
		fid := e.upload(fmt.Sprintf("old%d", i), "2copies", b, 1+i%3, false)
		data[fid] = b
		old = append(old, fid)
	}
	e.waitCopies(old, data, 2, 30*time.Second)
	before := map[int64][]int{}
	for _, fid := range old {
		before[fid] = e.devids(fid)
	}

	victim := e.hosts[0]
	if err := victim.proc.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	e.waitFor("dev1 seen unreachable", 30*time.Second, func() (bool, string) {
		return !e.cl.Snapshot().Device(1).ShouldReadFrom(), ""
	})
	var fresh []int64
	for i := range 10 {
		b := []byte(fmt.Sprintf("after the crash %d", i))
		fid := e.upload(fmt.Sprintf("new%d", i), "2copies", b, 2+i%2, false)
		data[fid] = b
		fresh = append(fresh, fid)
	}
	e.waitCopies(fresh, data, 2, 30*time.Second)
	for _, fid := range fresh {
		if slices.Contains(e.devids(fid), 1) {
			t.Errorf("fid %d copied to the dead node", fid)
		}
	}
	for _, fid := range old {
		if ids := e.devids(fid); !slices.Equal(ids, before[fid]) {
			t.Errorf("fid %d: copies %v changed to %v while a node was down", fid, before[fid], ids)
		}
		readable := false
		for _, d := range before[fid] {
			if d == 1 {
				continue
			}
			resp, err := e.hc.Get(e.url(d, fid))
			if err == nil {
				got := make([]byte, len(data[fid])+1)
				n, _ := resp.Body.Read(got)
				resp.Body.Close()
				readable = resp.StatusCode == 200 && bytes.Equal(got[:n], data[fid])
			}
		}
		if !readable {
			t.Errorf("fid %d has no readable copy while dev1 is down", fid)
		}
	}

	// The node comes back with its disk: everything is as before.
	e.startNode(victim, victim.proc.Cmd.Path)
	e.waitWriteable(e.cl)
	e.waitCopies(old, data, 2, 30*time.Second)
}

// TestReplicationNotPacedByJobMaster: workers that empty their local
// queue wake the job master for more instead of waiting out its idle
// pause (the original's once-a-second look capped replication at
// internal_queue_limit fids per second).
func TestReplicationNotPacedByJobMaster(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}}, noWorkers: true})
	data := map[int64][]byte{}
	var fids []int64
	for i := range 260 {
		b := []byte(fmt.Sprintf("small file %d", i))
		fid := e.upload(fmt.Sprintf("paced%d", i), "2copies", b, 1, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	cfg := fastConfig()
	cfg.JobMasterIdle = time.Minute
	cfg.ReplicateJobs = 2
	e.w = e.startWorkers(e.st, e.cl, cfg)
	// The first fetch takes 100 rows; without the wake-up the rest would
	// wait a minute, twice.
	e.waitCopies(fids, data, 2, 40*time.Second)
}
