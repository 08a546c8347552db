package tracker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/fsckstate"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
)

// setOrDelete writes a setting, or removes it when v is "".
func (s *Server) setOrDelete(ctx context.Context, k, v string) error {
	if v == "" {
		return s.st.DeleteSetting(ctx, k)
	}
	return s.st.SetSetting(ctx, k, v)
}

func (s *Server) cmdFsckStart(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["fsck_host"] != "" {
		return errReply("fsck_running", "fsck is already running")
	}
	if set["rebal_host"] != "" {
		return errReply("rebal_running", "rebalance running; cannot run fsck at same time")
	}
	checked := fsckstate.Int(set, "fsck_highest_fid_checked")
	final := fsckstate.Int(set, "fsck_fid_at_end")
	if (checked != 0 && final != 0 && checked >= final) || (final == 0 && checked == 0) {
		if err := fsckstate.Reset(ctx, s.st); err != nil {
			s.log.Error(fmt.Sprintf("DB error in _do_fsck_reset: %v", err), watchlog.Job("queryworker"))
			return errReply("db", "")
		}
	}
	now, err := s.st.Now(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set, err = s.st.Settings(ctx); err != nil {
		return s.failure(r, err)
	}
	steps := [][2]string{
		{"fsck_start_time", strconv.FormatInt(now, 10)},
		{"fsck_stop_time", ""},
		{"fsck_fids_checked", "0"},
		{"fsck_start_fid", strconv.FormatInt(fsckstate.Int(set, "fsck_highest_fid_checked"), 10)},
		{"fsck_host", s.cfg.Hostname},
	}
	for _, st := range steps {
		if err := s.setOrDelete(ctx, st[0], st[1]); err != nil {
			return s.failure(r, err)
		}
	}
	s.log.Info("fsck started", "host", s.cfg.Hostname)
	return okReply(nil)
}

func (s *Server) cmdFsckStop(ctx context.Context, r *request) reply {
	now, err := s.st.Now(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if err := s.st.DeleteSetting(ctx, "fsck_host"); err != nil {
		return s.failure(r, err)
	}
	if err := s.st.SetSetting(ctx, "fsck_stop_time", strconv.FormatInt(now, 10)); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("fsck stopped")
	return okReply(nil)
}

func (s *Server) cmdFsckReset(ctx context.Context, r *request) reply {
	po := ""
	if r.truthy("policy_only") {
		po = "1"
	}
	if err := s.setOrDelete(ctx, "fsck_opt_policy_only", po); err != nil {
		return s.failure(r, err)
	}
	start := "0"
	if r.truthy("startpos") {
		start = strconv.FormatInt(numPrefix(r.arg("startpos")), 10)
	}
	if err := s.st.SetSetting(ctx, "fsck_highest_fid_checked", start); err != nil {
		return s.failure(r, err)
	}
	if err := fsckstate.Reset(ctx, s.st); err != nil {
		s.log.Error(fmt.Sprintf("DB error in _do_fsck_reset: %v", err), watchlog.Job("queryworker"))
		return errReply("db", "")
	}
	return okReply(nil)
}

func (s *Server) cmdFsckClearLog(ctx context.Context, r *request) reply {
	if err := s.st.ClearFsckLog(ctx); err != nil {
		return s.failure(r, err)
	}
	return okReply(nil)
}

func (s *Server) cmdFsckGetLog(ctx context.Context, r *request) reply {
	evs, err := s.st.FsckEvents(ctx, numPrefix(r.arg("after_logid")), 100)
	if err != nil {
		return s.failure(r, err)
	}
	a := wire.Args{}
	for i, e := range evs {
		p := "row_" + strconv.Itoa(i+1) + "_"
		a[p+"logid"] = strconv.FormatInt(e.LogID, 10)
		a[p+"utime"] = strconv.FormatInt(e.UTime, 10)
		if e.FID != 0 {
			a[p+"fid"] = strconv.FormatInt(e.FID, 10)
		}
		if e.EvCode != "" {
			a[p+"evcode"] = e.EvCode
		}
		if e.DevID != 0 {
			a[p+"devid"] = strconv.Itoa(e.DevID)
		}
	}
	a["row_count"] = strconv.Itoa(len(evs))
	return okReply(a)
}

func (s *Server) cmdFsckStatus(ctx context.Context, r *request) reply {
	if err := fsckstate.Summarize(ctx, s.st); err != nil {
		s.log.Warn("fsck log summary failed", "err", err)
	}
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	now, err := s.st.Now(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	maxLog, err := s.st.MaxFsckLogID(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	i := func(k string) string { return strconv.FormatInt(fsckstate.Int(set, k), 10) }
	running := "0"
	if set["fsck_host"] != "" {
		running = "1"
	}
	a := wire.Args{
		"running":         running,
		"host":            set["fsck_host"],
		"max_fid_checked": i("fsck_highest_fid_checked"),
		"policy_only":     i("fsck_opt_policy_only"),
		"end_fid":         i("fsck_fid_at_end"),
		"start_time":      i("fsck_start_time"),
		"stop_time":       i("fsck_stop_time"),
		"current_time":    strconv.FormatInt(now, 10),
		"max_logid":       strconv.FormatInt(maxLog, 10),
	}
	for k := range set {
		if code, ok := strings.CutPrefix(k, fsckstate.SumPrefix); ok {
			a["num_"+code] = i(k)
		}
	}
	return okReply(a)
}

// ---- rebalance ----

func (s *Server) cmdRebalanceStatus(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["rebal_state"] == "" {
		return errReply("no_rebal_state", "")
	}
	return okReply(wire.Args{"state": set["rebal_state"]})
}

func (s *Server) cmdRebalanceStart(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["rebal_host"] != "" {
		return errReply("rebal_running", "rebalance is already running")
	}
	if set["fsck_host"] != "" {
		return errReply("fsck_running", "fsck running; cannot run rebalance at same time")
	}
	state := set["rebal_state"]
	if state == "" {
		if set["rebal_policy"] == "" {
			return errReply("no_rebal_policy", "")
		}
		p, err := policy.ParseRebalance(set["rebal_policy"])
		if err != nil {
			return errReply("bad_rebal_pol", err.Error())
		}
		snap, err := s.fresh(ctx)
		if err != nil {
			return s.failure(r, err)
		}
		state = policy.NewRebalanceState(p, snap.PolicyDevices(), time.Now().Unix()).String()
		if err := s.st.SetSetting(ctx, "rebal_state", state); err != nil {
			return s.failure(r, err)
		}
	}
	if err := s.st.SetSetting(ctx, "rebal_host", s.cfg.Hostname); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("rebalance started", "host", s.cfg.Hostname)
	return okReply(wire.Args{"state": state})
}

func (s *Server) cmdRebalanceTest(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["rebal_policy"] == "" {
		return errReply("no_rebal_policy", "")
	}
	p, err := policy.ParseRebalance(set["rebal_policy"])
	if err != nil {
		return errReply("bad_rebal_pol", err.Error())
	}
	devs := s.cl.Snapshot().PolicyDevices()
	st := policy.NewRebalanceState(p, devs, time.Now().Unix())
	return okReply(wire.Args{
		"sdevs": joinInts(st.SourceDevs),
		"ddevs": joinInts(p.DestDevices(st, devs)),
	})
}

func (s *Server) cmdRebalanceReset(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["rebal_host"] != "" {
		return errReply("rebal_running", "rebalance is running")
	}
	if err := s.st.DeleteSetting(ctx, "rebal_state"); err != nil {
		return s.failure(r, err)
	}
	return okReply(nil)
}

func (s *Server) cmdRebalanceStop(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["rebal_host"] == "" {
		return errReply("rebal_not_started", "")
	}
	if err := s.st.SetSetting(ctx, "rebal_signal", "stop"); err != nil {
		return s.failure(r, err)
	}
	return okReply(nil)
}

func (s *Server) cmdRebalanceSetPolicy(ctx context.Context, r *request) reply {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	if set["rebal_host"] != "" {
		return errReply("no_set_rebal", "cannot change rebalance policy while rebalance is running")
	}
	pol := r.arg("policy")
	if _, err := policy.ParseRebalance(pol); err != nil {
		return errReply("bad_rebal_pol", err.Error())
	}
	if err := s.setOrDelete(ctx, "rebal_policy", pol); err != nil {
		return s.failure(r, err)
	}
	if err := s.st.DeleteSetting(ctx, "rebal_state"); err != nil {
		return s.failure(r, err)
	}
	return okReply(nil)
}

func joinInts(l []int) string {
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
