package admin

import (
	"context"
	"strconv"
	"strings"
)

// FsckStart starts (or resumes) the background fsck.
func (a *Admin) FsckStart(ctx context.Context) error {
	_, err := a.do(ctx, "fsck_start")
	return err
}

// FsckStop pauses the background fsck.
func (a *Admin) FsckStop(ctx context.Context) error {
	_, err := a.do(ctx, "fsck_stop")
	return err
}

// FsckReset moves the fsck back to the beginning (or to startPos when
// startPos >= 0); policyOnly makes the next run check replication policy
// only.
func (a *Admin) FsckReset(ctx context.Context, policyOnly bool, startPos int64) error {
	var kv []string
	if policyOnly {
		kv = append(kv, "policy_only", "1")
	}
	if startPos >= 0 {
		kv = append(kv, "startpos", strconv.FormatInt(startPos, 10))
	}
	_, err := a.do(ctx, "fsck_reset", kv...)
	return err
}

// FsckClearLog empties the fsck log.
func (a *Admin) FsckClearLog(ctx context.Context) error {
	_, err := a.do(ctx, "fsck_clearlog")
	return err
}

// FsckStatus returns the fsck_status reply: running, host,
// max_fid_checked, policy_only, end_fid, start_time, stop_time,
// current_time, max_logid and num_<EVCODE> counters.
func (a *Admin) FsckStatus(ctx context.Context) (map[string]string, error) {
	return a.do(ctx, "fsck_status")
}

// FsckLogRow is one fsck_log row. FID and DevID are "" when NULL.
type FsckLogRow struct {
	LogID  int64
	UTime  string
	FID    string
	EvCode string
	DevID  string
}

// FsckLog returns up to 100 log rows with logid > after.
func (a *Admin) FsckLog(ctx context.Context, after int64) ([]FsckLogRow, error) {
	r, err := a.do(ctx, "fsck_getlog", "after_logid", strconv.FormatInt(after, 10))
	if err != nil {
		return nil, err
	}
	n := atoi(r["row_count"])
	out := make([]FsckLogRow, 0, n)
	for i := 1; i <= n; i++ {
		p := "row_" + strconv.Itoa(i) + "_"
		out = append(out, FsckLogRow{
			LogID:  atoi64(r[p+"logid"]),
			UTime:  r[p+"utime"],
			FID:    r[p+"fid"],
			EvCode: r[p+"evcode"],
			DevID:  r[p+"devid"],
		})
	}
	return out, nil
}

// RebalanceStart starts a rebalance and returns its state string.
func (a *Admin) RebalanceStart(ctx context.Context) (string, error) {
	r, err := a.do(ctx, "rebalance_start")
	if err != nil {
		return "", err
	}
	return r["state"], nil
}

// RebalanceStop asks a running rebalance to stop.
func (a *Admin) RebalanceStop(ctx context.Context) error {
	_, err := a.do(ctx, "rebalance_stop")
	return err
}

// RebalanceReset forgets the rebalance state.
func (a *Admin) RebalanceReset(ctx context.Context) error {
	_, err := a.do(ctx, "rebalance_reset")
	return err
}

// RebalanceStatus returns the rebalance state string ("k=v k=v ...").
func (a *Admin) RebalanceStatus(ctx context.Context) (string, error) {
	r, err := a.do(ctx, "rebalance_status")
	if err != nil {
		return "", err
	}
	return r["state"], nil
}

// RebalanceTest returns the source and destination devices the current
// policy selects.
func (a *Admin) RebalanceTest(ctx context.Context) (sdevs, ddevs []string, err error) {
	r, err := a.do(ctx, "rebalance_test")
	if err != nil {
		return nil, nil, err
	}
	return splitList(r["sdevs"]), splitList(r["ddevs"]), nil
}

// RebalanceSetPolicy stores a rebalance policy string.
func (a *Admin) RebalanceSetPolicy(ctx context.Context, policy string) error {
	_, err := a.do(ctx, "rebalance_set_policy", "policy", policy)
	return err
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
