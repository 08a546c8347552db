package policy

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Device is what the policies need to know about one device: its ids, its
// administrative state, its usage and whether it can take a new copy now.
type Device struct {
	ID     int
	HostID int
	// Status is the device's status (alive, readonly, drain, down, dead);
	// anything else counts as down, as in the original.
	Status string
	// HostStatus is the status of the device's host (alive, readonly,
	// down, dead).
	HostStatus string
	// GetsNewFiles is the original's should_get_new_files (the same as
	// should_get_replicated_files): status alive, observed writeable by the
	// monitor, host alive, and not below the tracker's min_free_space. The
	// caller computes it because it depends on the monitor's observations.
	GetsNewFiles bool
	// MBTotal and MBUsed are the device's usage in MiB; MBTotal 0 means
	// the usage is unknown.
	MBTotal int64
	MBUsed  int64
}

// Dead reports whether the device is permanently dead (its copies are lost
// and the reaper re-replicates them).
func (d Device) Dead() bool { return d.Status == "dead" }

// AcceptsNewFiles reports whether the device's status alone lets it receive
// new files (the original's DeviceState new_files flag: status alive),
// whatever its host and observed state.
func (d Device) AcceptsNewFiles() bool { return d.Status == "alive" }

// CanDeleteFrom is the original's can_delete_from: host alive and device
// status alive or drain.
func (d Device) CanDeleteFrom() bool {
	return d.HostStatus == "alive" && (d.Status == "alive" || d.Status == "drain")
}

// PercentFree is 1 - used/total, or 0 when the usage is unknown.
func (d Device) PercentFree() float64 {
	if d.MBTotal <= 0 {
		return 0
	}
	return 1 - float64(d.MBUsed)/float64(d.MBTotal)
}

// percentFull is used/total and whether the usage is known.
func (d Device) percentFull() (float64, bool) {
	if d.MBTotal <= 0 {
		return 0, false
	}
	return float64(d.MBUsed) / float64(d.MBTotal), true
}

// mbFree is total-used and whether the usage is known.
func (d Device) mbFree() (int64, bool) {
	if d.MBTotal <= 0 {
		return 0, false
	}
	return d.MBTotal - d.MBUsed, true
}

// Request is one question to a replication policy about one fid.
type Request struct {
	FID int64
	// On lists the devices holding a copy that should count. The
	// replicator passes the copies on devices that are not dead (and not
	// masked, when rebalancing); fsck's policy check passes all of them.
	On []Device
	// All lists the candidate devices (every known device, or the
	// destinations a rebalance allows).
	All []Device
	// Failed holds the devids a copy to has already failed this round.
	Failed map[int]bool
	// Min is the class's mindevcount; a policy's own N overrides it.
	Min int
	// Rand orders the destinations; nil uses the global source.
	Rand *rand.Rand
}

// Outcome classifies a policy's answer.
type Outcome int

const (
	// NeedCopies: copy to one of Ideal (else one of Desperate), then ask
	// again.
	NeedCopies Outcome = iota
	// AllGood: the policy holds.
	AllGood
	// TooGood: the policy holds with more copies than it wants.
	TooGood
	// TempNoAnswer: the policy does not hold and nothing can be done now.
	TempNoAnswer
)

func (o Outcome) String() string {
	switch o {
	case AllGood:
		return "all_good"
	case TooGood:
		return "too_good"
	case TempNoAnswer:
		return "temp_fail"
	default:
		return "need_copies"
	}
}

// Result is a policy's answer. Ideal and Desperate are devids in order of
// preference; either may be empty.
type Result struct {
	Outcome   Outcome
	Ideal     []int
	Desperate []int
}

// Happy reports whether the policy holds (possibly with copies to spare).
func (r Result) Happy() bool { return r.Outcome == AllGood || r.Outcome == TooGood }

// TooHappy reports whether there are more copies than the policy wants.
func (r Result) TooHappy() bool { return r.Outcome == TooGood }

// TempFail reports that nothing can be done now.
func (r Result) TempFail() bool { return r.Outcome == TempNoAnswer }

// MeetsPolicy is what fsck checks: happy and not too happy.
func (r Result) MeetsPolicy() bool { return r.Outcome == AllGood }

// String renders the result as the original test suite does:
// "all_good", "too_good", "temp_fail", "ideal(1,2)" or "desperate(3)"
// (devids sorted), or "none" for a request with empty lists.
func (r Result) String() string {
	switch r.Outcome {
	case AllGood, TooGood, TempNoAnswer:
		return r.Outcome.String()
	}
	list := func(name string, ids []int) string {
		s := slices.Clone(ids)
		slices.Sort(s)
		parts := make([]string, len(s))
		for i, id := range s {
			parts[i] = strconv.Itoa(id)
		}
		return name + "(" + strings.Join(parts, ",") + ")"
	}
	if len(r.Ideal) > 0 {
		return list("ideal", r.Ideal)
	}
	if len(r.Desperate) > 0 {
		return list("desperate", r.Desperate)
	}
	return "none"
}

// float returns a number in [0,1) from r or the global source.
func float(r *rand.Rand) float64 {
	if r != nil {
		return r.Float64()
	}
	return rand.Float64()
}

// candidates returns the devices of req.All that can take a copy: not
// already holding one, not failed this round, and should_get_new_files;
// sorted by percent free, emptiest first. Devices with equal free space
// come in random order (the original walks a hash).
func candidates(req Request) []Device {
	on := make(map[int]bool, len(req.On))
	for _, d := range req.On {
		on[d.ID] = true
	}
	var out []Device
	for _, d := range req.All {
		if on[d.ID] || req.Failed[d.ID] || !d.GetsNewFiles {
			continue
		}
		out = append(out, d)
	}
	for i := len(out) - 1; i > 0; i-- {
		j := int(float(req.Rand) * float64(i+1))
		out[i], out[j] = out[j], out[i]
	}
	slices.SortStableFunc(out, func(a, b Device) int {
		pa, pb := a.PercentFree(), b.PercentFree()
		switch {
		case pa > pb:
			return -1
		case pa < pb:
			return 1
		}
		return 0
	})
	return out
}

// weighted keeps the first 20 devices and returns their ids in a weighted
// random order, weight 100·percent_free; devices with no free space (or
// unknown usage) have weight 0 and are dropped, as in the original.
func weighted(devs []Device, r *rand.Rand) []int {
	if len(devs) > 20 {
		devs = devs[:20]
	}
	type item struct {
		id int
		w  float64
	}
	var list []item
	sum := 0.0
	for _, d := range devs {
		if w := 100 * d.PercentFree(); w > 0 {
			list = append(list, item{d.ID, w})
			sum += w
		}
	}
	out := make([]int, 0, len(list))
	for len(list) > 0 {
		if len(list) == 1 {
			out = append(out, list[0].id)
			break
		}
		v := float(r) * sum
		idx := len(list) - 1 // guards against rounding at the top end
		cur := 0.0
		for i, it := range list {
			cur += it.w
			if cur >= v {
				idx = i
				break
			}
		}
		out = append(out, list[idx].id)
		sum -= list[idx].w
		list = slices.Delete(list, idx, idx+1)
	}
	return out
}
