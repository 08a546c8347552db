package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// injectRebalance advances the rebalance run (spec §4.7; run by the job
// master while rebal_host names the tracker that started it): unless the rebalance queue already holds
// queue_size_for_rebal rows, it queues the next queue_rate_for_rebal fids
// of the current source device (set to drain) with their shuffled
// destinations; a source with no fids left (or at its limit) goes back to
// alive unless leave_in_drain_mode; with no source left the run finishes.
// rebal_signal=stop stops the run.
//
// Deviations, both so a stopped or failing run never strands a device or
// loops: stopping puts the current source back to alive (the original's
// bug leaves it in drain), and resuming sets it to drain again; a policy
// that no longer parses ends the run instead of failing every second.
func (w *Workers) injectRebalance(ctx context.Context) error {
	snap := w.d.Cluster.Snapshot()
	n, err := w.d.Store.QueueLength(ctx, store.QueueRebalance)
	if err != nil {
		return err
	}
	if n >= int64(settingInt(snap.Setting("queue_size_for_rebal"), 10000)) {
		return nil
	}
	settings, err := w.d.Store.Settings(ctx)
	if err != nil {
		return err
	}
	if settings["rebal_host"] == "" {
		return nil // stopped meanwhile
	}
	now := time.Now().Unix() // the original keeps rebalance times in tracker time
	pol, err := policy.ParseRebalance(settings["rebal_policy"])
	if err != nil {
		w.log.Error("rebalance: stored policy does not parse; stopping the run", "err", err)
		st, _ := policy.ParseRebalanceState(settings["rebal_state"])
		st.TimeStopped = now
		return w.endRebalance(ctx, st)
	}
	devs := snap.PolicyDevices()
	var st policy.RebalanceState
	if s := settings["rebal_state"]; s != "" {
		if st, err = policy.ParseRebalanceState(s); err != nil {
			w.log.Error("rebalance: stored state does not parse; stopping the run", "err", err)
			return w.endRebalance(ctx, policy.RebalanceState{TimeStopped: now})
		}
	} else {
		st = policy.NewRebalanceState(pol, devs, now)
	}

	if settings["rebal_signal"] == "stop" {
		if st.SDevCurrent != 0 && !pol.LeaveInDrainMode {
			if err := w.setDeviceStatus(ctx, st.SDevCurrent, "alive"); err != nil {
				return err
			}
		}
		st.TimeStopped = now
		w.log.Info("rebalance: stopped", "state", st.String())
		return w.endRebalance(ctx, st)
	}
	sdev, fresh, ok := st.Source(pol)
	if !ok {
		st.TimeFinished = now
		w.log.Info("rebalance: finished", "state", st.String())
		return w.endRebalance(ctx, st)
	}
	if d := snap.Device(sdev); fresh || d == nil || d.Status != "drain" {
		if err := w.setDeviceStatus(ctx, sdev, "drain"); err != nil {
			return err
		}
	}
	err = w.queueRebalance(ctx, pol, &st, devs, settingInt(snap.Setting("queue_rate_for_rebal"), 500), now)
	if serr := w.d.Store.SetSetting(ctx, "rebal_state", st.String()); err == nil {
		err = serr
	}
	return err
}

// endRebalance saves the final state and clears rebal_signal and
// rebal_host.
func (w *Workers) endRebalance(ctx context.Context, st policy.RebalanceState) error {
	if err := w.d.Store.SetSetting(ctx, "rebal_state", st.String()); err != nil {
		return err
	}
	if err := w.d.Store.DeleteSetting(ctx, "rebal_signal"); err != nil {
		return err
	}
	return w.d.Store.DeleteSetting(ctx, "rebal_host")
}

// queueRebalance queues up to rate fids of the current source with their
// destinations, or finishes the source when it has none left or its limit
// is reached. The caller saves st.
func (w *Workers) queueRebalance(ctx context.Context, pol policy.RebalancePolicy, st *policy.RebalanceState, devs []policy.Device, rate int, now int64) error {
	sdev := st.SDevCurrent
	dests := pol.DestDevices(*st, devs)
	if len(dests) == 0 {
		// Try again next round (devices may come back); the original
		// dies here, over and over.
		return fmt.Errorf("source dev%d: %w", sdev, errNoDests)
	}
	var fids []int64
	var err error
	if pol.FIDAge == "new" {
		fids, err = w.d.Store.FIDsOnDeviceDesc(ctx, sdev, st.SDevLastFID, rate)
	} else {
		fids, err = w.d.Store.FIDsOnDevice(ctx, sdev, st.SDevLastFID, rate)
	}
	if err != nil {
		return err
	}
	if len(fids) == 0 || st.LimitReached(pol) {
		done := st.FinishSource()
		w.log.Info("rebalance: source device done", "devid", done)
		if !pol.LeaveInDrainMode {
			return w.setDeviceStatus(ctx, done, "alive")
		}
		return nil
	}
	st.SDevLastFID = fids[len(fids)-1]
	var items []store.QueueItem
	for _, fid := range fids {
		f, err := w.d.Store.FileByFID(ctx, fid)
		if errors.Is(err, store.ErrNotFound) {
			continue // a deleted file awaiting its delete worker
		}
		if err != nil {
			return err
		}
		if !st.Take(pol, f.Length) {
			continue
		}
		items = append(items, store.QueueItem{FID: fid, DevID: sdev, Arg: joinInts(pol.ChooseDests(dests, nil))})
	}
	st.TimeLatestRun = now
	if len(items) == 0 {
		st.EmptyRuns++
		st.TimeLatestEmptyRun = now
		return nil
	}
	return w.d.Store.EnqueueMany(ctx, store.QueueRebalance, items, 0)
}

func (w *Workers) setDeviceStatus(ctx context.Context, devid int, status string) error {
	if err := w.d.Store.SetDeviceStatus(ctx, devid, status); err != nil {
		return fmt.Errorf("set dev%d %s: %w", devid, status, err)
	}
	w.log.Info("rebalance: device status changed", "devid", devid, "status", status)
	return nil
}

func joinInts(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}
