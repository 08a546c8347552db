// Package fsckstate keeps the state of a cluster-wide fsck run the way the
// original does: in server settings (fsck_host, fsck_start_time,
// fsck_highest_fid_checked, fsck_fid_at_end, fsck_sum_evcount_<CODE>, ...)
// plus the fsck_log table. The tracker's fsck_* commands and the fsck
// injection of the job master both use it.
package fsckstate

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Store is the part of the metadata store fsck state needs.
type Store interface {
	Now(ctx context.Context) (int64, error)
	Settings(ctx context.Context) (map[string]string, error)
	SetSetting(ctx context.Context, key, value string) error
	DeleteSetting(ctx context.Context, key string) error
	MaxFID(ctx context.Context) (int64, error)
	MaxFsckLogID(ctx context.Context) (int64, error)
	FsckEventCounts(ctx context.Context, afterLogID, upTo int64) (map[string]int64, error)
	Lock(ctx context.Context, name string, timeout int) (bool, error)
	Unlock(ctx context.Context, name string) error
	LockContext(ctx context.Context, name string) (context.Context, context.CancelFunc)
}

// SumPrefix starts the settings holding per-event-code totals.
const SumPrefix = "fsck_sum_evcount_"

// Int reads an integer setting; unset or garbage reads as 0, as Perl's
// "|| 0" does.
func Int(set map[string]string, key string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(set[key]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Reset starts the fsck position over: start/stop times cleared, no fids
// checked, the end at the current highest fid, event totals cleared, and
// the log position at the current highest log id.
func Reset(ctx context.Context, st Store) error {
	for _, k := range []string{"fsck_start_time", "fsck_stop_time"} {
		if err := st.DeleteSetting(ctx, k); err != nil {
			return fmt.Errorf("fsckstate: reset: %w", err)
		}
	}
	if err := st.SetSetting(ctx, "fsck_fids_checked", "0"); err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	maxFID, err := st.MaxFID(ctx)
	if err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	if err := st.SetSetting(ctx, "fsck_fid_at_end", strconv.FormatInt(maxFID, 10)); err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	set, err := st.Settings(ctx)
	if err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	for k := range set {
		if strings.HasPrefix(k, SumPrefix) {
			if err := st.DeleteSetting(ctx, k); err != nil {
				return fmt.Errorf("fsckstate: reset: %w", err)
			}
		}
	}
	logid, err := st.MaxFsckLogID(ctx)
	if err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	l := strconv.FormatInt(logid, 10)
	if err := st.SetSetting(ctx, "fsck_start_maxlogid", l); err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	if err := st.SetSetting(ctx, "fsck_logid_processed", l); err != nil {
		return fmt.Errorf("fsckstate: reset: %w", err)
	}
	return nil
}

// Summarize adds the events logged since the last summary to the
// fsck_sum_evcount_<CODE> totals, under the named lock "mgfs:fscksum" (it
// does nothing if another tracker holds the lock for 10 s).
//
// A highest logid below the processed mark means the log was emptied and
// its ids started over (TRUNCATE on MySQL, as fsck_clearlog does): every
// row is then new and is counted. (The original counts none of them; a
// log emptied and refilled past the old mark between two summaries, a
// second apart on the fsck host, cannot be told from one that was not.)
func Summarize(ctx context.Context, st Store) error {
	ok, err := st.Lock(ctx, "mgfs:fscksum", 10)
	if err != nil {
		return fmt.Errorf("fsckstate: summarize: %w", err)
	}
	if !ok {
		return nil
	}
	defer st.Unlock(context.WithoutCancel(ctx), "mgfs:fscksum")
	// The summary runs under the lock's context: it stops if the lock
	// may pass to another tracker (a Galera lease not renewed in time),
	// and says why (the lock's name and the cause).
	ctx, cancel := st.LockContext(ctx, "mgfs:fscksum")
	defer cancel()
	fail := func(err error) error {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return fmt.Errorf("fsckstate: summarize: %w", err)
	}
	maxID, err := st.MaxFsckLogID(ctx)
	if err != nil {
		return fail(err)
	}
	set, err := st.Settings(ctx)
	if err != nil {
		return fail(err)
	}
	done := Int(set, "fsck_logid_processed")
	if maxID < done {
		done = 0
	}
	if maxID > done {
		counts, err := st.FsckEventCounts(ctx, done, maxID)
		if err != nil {
			return fail(err)
		}
		for code, n := range counts {
			k := SumPrefix + code
			if err := st.SetSetting(ctx, k, strconv.FormatInt(Int(set, k)+n, 10)); err != nil {
				return fail(err)
			}
		}
	}
	if err := st.SetSetting(ctx, "fsck_logid_processed", strconv.FormatInt(maxID, 10)); err != nil {
		return fail(err)
	}
	return nil
}

// store.Store has everything fsck state needs.
var _ Store = (store.Store)(nil)
