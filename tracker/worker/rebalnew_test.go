package worker_test

import (
	"fmt"
	"slices"
	"testing"
)

// fid_age=new moves the newest files first.
func TestRebalanceNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{hosts: [][]int{{1}, {2}, {3}}})
	var fids []int64
	for i := range 12 {
		fids = append(fids, e.upload(fmt.Sprintf("k%d", i), "1copy", []byte(fmt.Sprintf("file %d", i)), 1, false))
	}
	// Pages of 4: the run has to go on below the last fid of a page.
	if err := e.st.SetSetting(e.ctx, "queue_rate_for_rebal", "4"); err != nil {
		t.Fatal(err)
	}
	e.startRebalance("from_devices=1 to_devices=3 fid_age=new limit_by=count limit=6")
	st := e.waitRebalanceDone()
	if st.FIDsQueued != 6 {
		t.Errorf("queued %d fids, want 6", st.FIDsQueued)
	}
	slices.Sort(fids)
	for i, fid := range fids {
		want := []int{1}
		if i >= len(fids)-6 {
			want = []int{3}
		}
		if ids := e.devids(fid); !slices.Equal(ids, want) {
			t.Errorf("fid %d (%d of %d, oldest first) on %v, want %v", fid, i+1, len(fids), ids, want)
		}
	}
}
