package policy

import (
	"strconv"
	"strings"
)

// RebalanceState is the progress of a rebalance run (server setting
// rebal_state), in the original's format: space-separated key=value, lists
// comma-separated.
type RebalanceState struct {
	CompletedDevs []int // sources already emptied (or at their limit)
	SourceDevs    []int // sources still to do, in order
	SDevCurrent   int   // the source being worked on; 0 = none
	SDevLastFID   int64 // paging position on the current source
	// SDevLimit is what is left of the current source's limit (files or
	// bytes) with limit_type=device; Limit the same with limit_type=global.
	SDevLimit          int64
	Limit              int64
	FIDsQueued         int64
	BytesQueued        int64
	TimeStarted        int64
	TimeFinished       int64
	TimeStopped        int64
	TimeLatestRun      int64
	TimeLatestEmptyRun int64
	EmptyRuns          int64
}

// NewRebalanceState starts a run of p over devs at time now: the sources
// are fixed now, in devid order. Deviation: with limit_type=global the
// original never loads the limit into the state (its global limit is
// always used up); here it is loaded from the policy.
func NewRebalanceState(p RebalancePolicy, devs []Device, now int64) RebalanceState {
	st := RebalanceState{
		SourceDevs:  p.SourceDevices(devs),
		TimeStarted: now,
	}
	if p.LimitType == "global" {
		st.Limit = policyLimit(p)
	}
	return st
}

// policyLimit is the policy's limit in files or bytes (0 for none).
func policyLimit(p RebalancePolicy) int64 {
	switch p.LimitBy {
	case "count":
		n, _ := strconv.ParseInt(p.Limit, 10, 64)
		return n
	case "size":
		n, _ := LimitBytes(p.Limit)
		return n
	}
	return 0
}

// Source returns the device being drained, taking the next one from
// SourceDevs when none is current (then fresh is true: the caller sets
// the device to drain). ok is false when no source is left.
func (s *RebalanceState) Source(p RebalancePolicy) (devid int, fresh, ok bool) {
	if s.SDevCurrent != 0 {
		return s.SDevCurrent, false, true
	}
	if len(s.SourceDevs) == 0 {
		return 0, false, false
	}
	s.SDevCurrent = s.SourceDevs[0]
	s.SourceDevs = s.SourceDevs[1:]
	s.SDevLastFID = 0
	s.SDevLimit = 0
	if p.LimitType == "device" {
		s.SDevLimit = policyLimit(p)
	}
	return s.SDevCurrent, true, true
}

func (s *RebalanceState) limitRef(p RebalancePolicy) *int64 {
	if p.LimitType == "global" {
		return &s.Limit
	}
	return &s.SDevLimit
}

// LimitReached reports whether the current limit leaves no room for more
// files (always false with limit_by=none; a size limit with under 1 KiB
// left counts as reached, as in the original).
func (s *RebalanceState) LimitReached(p RebalancePolicy) bool {
	l := s.limitRef(p)
	switch p.LimitBy {
	case "count":
		return *l <= 0
	case "size":
		return *l < 1024
	}
	return false
}

// Take charges one fid of the given length against the limit and reports
// whether it fits (a file bigger than what is left is skipped). Taken fids
// are counted in FIDsQueued and BytesQueued.
func (s *RebalanceState) Take(p RebalancePolicy, length int64) bool {
	l := s.limitRef(p)
	switch p.LimitBy {
	case "count":
		if *l <= 0 {
			return false
		}
		*l--
	case "size":
		if length > *l {
			return false
		}
		*l -= length
	}
	s.FIDsQueued++
	s.BytesQueued += length
	return true
}

// FinishSource moves the current source to CompletedDevs and returns it;
// the caller sets it back to alive unless the policy says
// leave_in_drain_mode.
func (s *RebalanceState) FinishSource() int {
	d := s.SDevCurrent
	if d != 0 {
		s.CompletedDevs = append(s.CompletedDevs, d)
	}
	s.SDevCurrent = 0
	s.SDevLastFID = 0
	s.SDevLimit = 0
	return d
}

// String renders the state in the original's format with every key.
func (s RebalanceState) String() string {
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return strings.Join([]string{
		"completed_devs=" + joinIDs(s.CompletedDevs),
		"source_devs=" + joinIDs(s.SourceDevs),
		"sdev_current=" + strconv.Itoa(s.SDevCurrent),
		"sdev_lastfid=" + i(s.SDevLastFID),
		"sdev_limit=" + i(s.SDevLimit),
		"limit=" + i(s.Limit),
		"fids_queued=" + i(s.FIDsQueued),
		"bytes_queued=" + i(s.BytesQueued),
		"time_started=" + i(s.TimeStarted),
		"time_finished=" + i(s.TimeFinished),
		"time_stopped=" + i(s.TimeStopped),
		"time_latest_run=" + i(s.TimeLatestRun),
		"time_latest_empty_run=" + i(s.TimeLatestEmptyRun),
		"empty_runs=" + i(s.EmptyRuns),
	}, " ")
}

// ParseRebalanceState reads a state string written by String or by the
// original (which omits the sdev_* keys between sources and writes
// sdev_limit=none or an empty value when there is no per-device limit).
// An unknown key is "Invalid setting KEY".
func ParseRebalanceState(str string) (RebalanceState, error) {
	var s RebalanceState
	for _, tok := range strings.Fields(str) {
		key, val, _ := strings.Cut(tok, "=")
		var err error
		ids := func(dst *[]int) {
			*dst = nil
			if val != "" {
				*dst, err = parseIDList(val)
			}
		}
		num := func(dst *int64) {
			*dst = 0
			if val != "" && val != "none" {
				*dst, err = strconv.ParseInt(val, 10, 64)
			}
		}
		switch key {
		case "completed_devs":
			ids(&s.CompletedDevs)
		case "source_devs":
			ids(&s.SourceDevs)
		case "sdev_current":
			var v int64
			num(&v)
			s.SDevCurrent = int(v)
		case "sdev_lastfid":
			num(&s.SDevLastFID)
		case "sdev_limit":
			num(&s.SDevLimit)
		case "limit":
			num(&s.Limit)
		case "fids_queued":
			num(&s.FIDsQueued)
		case "bytes_queued":
			num(&s.BytesQueued)
		case "time_started":
			num(&s.TimeStarted)
		case "time_finished":
			num(&s.TimeFinished)
		case "time_stopped":
			num(&s.TimeStopped)
		case "time_latest_run":
			num(&s.TimeLatestRun)
		case "time_latest_empty_run":
			num(&s.TimeLatestEmptyRun)
		case "empty_runs":
			num(&s.EmptyRuns)
		default:
			return s, badf("Invalid setting %s", key)
		}
		if err != nil {
			return s, badf("bad value for %s in rebalance state: %q", key, val)
		}
	}
	return s, nil
}
