package mogstored

import (
	"testing"
	"time"
)

// newWaitFastPath is a fast path with one keeper holding no fids, the
// tracker's answer being that the fast path is on.
func newWaitFastPath() (*fastPath, *leaseKeeper) {
	fp := &fastPath{keepers: map[int]*leaseKeeper{}, leased: make(chan struct{})}
	fp.info.Store(&fpInfo{enabled: true, batchMax: 256, leaseMax: 1000, leaseTTL: time.Minute})
	k := newLeaseKeeper(fp, 7, func() {})
	fp.keepers[7] = k
	return fp, k
}

// An upload that finds no fid while its keeper is leasing gets the fid of
// the lease that lands, instead of a refusal.
func TestTakeWaitsForLease(t *testing.T) {
	fp, k := newWaitFastPath()
	got := make(chan int64, 1)
	go func() {
		_, fid, _, ok := fp.takeWait(false)
		if !ok {
			fid = 0
		}
		got <- fid
	}()
	// The keeper is woken by the waiting upload (take asks for a lease
	// when fids run low); the lease lands only then.
	select {
	case <-k.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting upload did not wake the keeper")
	}
	k.mu.Lock()
	k.blocks = append(k.blocks, &leaseBlock{fids: []int64{41, 42}, time: time.Now().Unix()})
	k.mu.Unlock()
	fp.noteLeased()
	select {
	case fid := <-got:
		if fid != 41 {
			t.Fatalf("took fid %d, want 41", fid)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upload still waits after the lease landed")
	}
}

// A keeper whose last lease failed is not waited for: the upload is
// refused at once and goes the three-step way.
func TestTakeDoesNotWaitForFailingKeeper(t *testing.T) {
	fp, k := newWaitFastPath()
	k.failing.Store(true)
	start := time.Now()
	if _, _, _, ok := fp.takeWait(false); ok {
		t.Fatal("took a fid from a keeper holding none")
	}
	if d := time.Since(start); d >= fpLeaseWait {
		t.Fatalf("waited %v for a keeper whose lease failed", d)
	}
	// A fast path turned off is not waited for either.
	k.failing.Store(false)
	fp.info.Store(&fpInfo{})
	if _, _, _, ok := fp.takeWait(false); ok {
		t.Fatal("took a fid with the fast path off")
	}
}
