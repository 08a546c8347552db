package worker_test

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// startRebalance does what rebalance_set_policy and rebalance_start do
// (the tracker's commands).
func (e *env) startRebalance(pol string) {
	e.t.Helper()
	p, err := policy.ParseRebalance(pol)
	if err != nil {
		e.t.Fatal(err)
	}
	st := policy.NewRebalanceState(p, e.cl.Snapshot().PolicyDevices(), time.Now().Unix())
	for k, v := range map[string]string{"rebal_policy": pol, "rebal_state": st.String(), "rebal_host": "tracker-a"} {
		if err := e.st.SetSetting(e.ctx, k, v); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.cl.Reload(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) waitRebalanceDone() policy.RebalanceState {
	e.t.Helper()
	e.waitFor("rebalance finished", 90*time.Second, func() (bool, string) {
		host := e.setting("rebal_host")
		n := e.queueLen(store.QueueRebalance)
		return host == "" && n == 0, fmt.Sprintf("rebal_host %q, %d queued, state %s", host, n, e.setting("rebal_state"))
	})
	st, err := policy.ParseRebalanceState(e.setting("rebal_state"))
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// Draining a device moves every file off it: the device ends empty (rows
// and disk) and every file is still at its policy.
func TestDrainEmptiesDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1, 2}, {3}, {4}}})
	if err := e.st.SetSetting(e.ctx, "queue_rate_for_rebal", "7"); err != nil {
		t.Fatal(err)
	}
	data := map[int64][]byte{}
	var fids []int64
	for i := range 40 {
		b := bytes.Repeat([]byte{byte(i)}, 500+i)
		fid := e.upload(fmt.Sprintf("k%d", i), "2copies", b, 1+i%4, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.waitCopies(fids, data, 2, 60*time.Second)
	onDev1, _ := e.st.FIDsOnDevice(e.ctx, 1, 0, 1000)
	if len(onDev1) == 0 {
		t.Fatal("nothing on dev1 to drain")
	}

	e.startRebalance("from_devices=1 leave_in_drain_mode=1")
	st := e.waitRebalanceDone()
	if !slices.Equal(st.CompletedDevs, []int{1}) || st.TimeFinished == 0 || st.FIDsQueued != int64(len(onDev1)) {
		t.Errorf("final state %+v, want dev1 completed, %d fids queued", st, len(onDev1))
	}
	if left, _ := e.st.FIDsOnDevice(e.ctx, 1, 0, 1000); len(left) != 0 {
		t.Errorf("dev1 still holds %v", left)
	}
	if files := e.fidFilesOn(1); len(files) != 0 {
		t.Errorf("dev1's disk still holds %v", files)
	}
	e.waitCopies(fids, data, 2, 30*time.Second)
	devs, _ := e.st.Devices(e.ctx)
	for _, d := range devs {
		if d.ID == 1 && d.Status != "drain" {
			t.Errorf("dev1 is %s, want drain (leave_in_drain_mode=1)", d.Status)
		}
	}
}

// A count limit stops after that many files and puts the device back to
// alive; a stop signal ends a run.
func TestRebalanceLimitAndStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}, {3}}})
	data := map[int64][]byte{}
	var fids []int64
	for i := range 12 {
		b := []byte(fmt.Sprintf("file number %d", i))
		fid := e.upload(fmt.Sprintf("k%d", i), "1copy", b, 1, false)
		data[fid] = b
		fids = append(fids, fid)
	}
	e.startRebalance("from_devices=1 to_devices=3 limit_by=count limit=5")
	st := e.waitRebalanceDone()
	if st.FIDsQueued != 5 {
		t.Errorf("queued %d fids, want 5", st.FIDsQueued)
	}
	moved := 0
	for _, fid := range fids {
		ids := e.devids(fid)
		switch {
		case slices.Equal(ids, []int{3}):
			moved++
			got, err := os.ReadFile(e.diskPath(3, fid))
			if err != nil || !bytes.Equal(got, data[fid]) {
				t.Errorf("fid %d on dev3: %q %v", fid, got, err)
			}
		case !slices.Equal(ids, []int{1}):
			t.Errorf("fid %d on %v, want dev1 or dev3 only", fid, ids)
		}
	}
	if moved != 5 {
		t.Errorf("%d files moved to dev3, want 5", moved)
	}
	devs, _ := e.st.Devices(e.ctx)
	for _, d := range devs {
		if d.ID == 1 && d.Status != "alive" {
			t.Errorf("dev1 is %s after the run, want alive", d.Status)
		}
	}

	// Stop mid-run: the source goes back to alive, rebal_host and
	// rebal_signal are cleared, the state says when it stopped.
	for i := range 40 {
		e.upload(fmt.Sprintf("more%d", i), "1copy", []byte("more"), 1, false)
	}
	for k, v := range map[string]string{"queue_size_for_rebal": "1", "queue_rate_for_rebal": "1"} {
		if err := e.st.SetSetting(e.ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	e.startRebalance("from_devices=1 to_devices=2")
	e.waitFor("dev1 draining", 30*time.Second, func() (bool, string) {
		d := e.cl.Snapshot().Device(1)
		return d.Status == "drain", d.Status
	})
	if err := e.st.SetSetting(e.ctx, "rebal_signal", "stop"); err != nil {
		t.Fatal(err)
	}
	st = e.waitRebalanceDone()
	if st.TimeStopped == 0 || st.TimeFinished != 0 || st.SDevCurrent != 1 {
		t.Errorf("stopped state %+v: want time_stopped, no time_finished, dev1 current", st)
	}
	if e.setting("rebal_signal") != "" {
		t.Errorf("rebal_signal not cleared")
	}
	devs, _ = e.st.Devices(e.ctx)
	for _, d := range devs {
		if d.ID == 1 && d.Status != "alive" {
			t.Errorf("dev1 is %s after stop, want alive", d.Status)
		}
	}
}
