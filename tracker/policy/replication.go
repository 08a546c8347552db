package policy

import (
	"strconv"
	"strings"
)

// Policy is a parsed replication policy.
type Policy interface {
	// ReplicateTo decides what the fid described by req needs next.
	ReplicateTo(req Request) Result
	// String is the canonical policy string (it parses back to the same
	// policy).
	String() string
}

// MultipleHosts wants copies on Min distinct hosts; Min 0 means the class
// mindevcount.
type MultipleHosts struct{ Min int }

// MultipleDevices wants copies on Min distinct devices; Min 0 means the
// class mindevcount.
type MultipleDevices struct{ Min int }

// Union holds when every one of its policies holds.
type Union struct{ Policies []Policy }

func (p MultipleHosts) String() string   { return "MultipleHosts(" + minString(p.Min) + ")" }
func (p MultipleDevices) String() string { return "MultipleDevices(" + minString(p.Min) + ")" }

func (p Union) String() string {
	parts := make([]string, len(p.Policies))
	for i, m := range p.Policies {
		parts[i] = m.String()
	}
	return "Union(" + strings.Join(parts, ", ") + ")"
}

func minString(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func effectiveMin(own, class int) int {
	if own != 0 {
		return own
	}
	return class
}

// ReplicateTo implements the original MultipleHosts rules (spec §4.6).
func (p MultipleHosts) ReplicateTo(req Request) Result {
	min := effectiveMin(p.Min, req.Min)
	alreadyOn := len(req.On)
	if min == 1 && alreadyOn == 1 {
		return Result{Outcome: AllGood}
	}

	totalDisks := 0
	for _, d := range req.All {
		if !d.Dead() {
			totalDisks++
		}
	}
	onHost := map[int]bool{}
	for _, d := range req.On {
		onHost[d.HostID] = true
	}
	hostsOn := len(onHost)
	// The original counts hosts with a device whose status takes new
	// files, whatever the host's own status or observed state.
	allHosts := map[int]bool{}
	for _, d := range req.All {
		if d.AcceptsNewFiles() {
			allHosts[d.HostID] = true
		}
	}
	totalHosts := len(allHosts)

	switch {
	case hostsOn > min, alreadyOn > min:
		return Result{Outcome: TooGood}
	case hostsOn == min:
		return Result{Outcome: AllGood}
	case hostsOn >= totalHosts && alreadyOn >= min:
		return Result{Outcome: AllGood}
	case alreadyOn >= 2 && alreadyOn == totalDisks:
		// Every disk there is already holds a copy: good enough until
		// more disks arrive (and an fsck asks again).
		return Result{Outcome: AllGood}
	}

	skipHost := map[int]bool{}
	if hostsOn < totalHosts {
		skipHost = onHost
	}
	dests := candidates(req)
	if len(dests) == 0 {
		return Result{Outcome: TempNoAnswer}
	}
	var ideal, desperate []Device
	for _, d := range dests {
		if skipHost[d.HostID] {
			desperate = append(desperate, d)
		} else {
			ideal = append(ideal, d)
		}
	}
	if alreadyOn >= min && len(ideal) == 0 {
		return Result{Outcome: TempNoAnswer}
	}
	return Result{
		Outcome:   NeedCopies,
		Ideal:     weighted(ideal, req.Rand),
		Desperate: weighted(desperate, req.Rand),
	}
}

// ReplicateTo implements the original MultipleDevices rules (spec §4.6).
func (p MultipleDevices) ReplicateTo(req Request) Result {
	min := effectiveMin(p.Min, req.Min)
	alreadyOn := len(req.On)
	if alreadyOn == min {
		return Result{Outcome: AllGood}
	}
	if alreadyOn > min {
		return Result{Outcome: TooGood}
	}
	totalDisks := 0
	for _, d := range req.All {
		if !d.Dead() {
			totalDisks++
		}
	}
	if alreadyOn >= 2 && alreadyOn == totalDisks {
		return Result{Outcome: AllGood}
	}
	dests := candidates(req)
	if len(dests) == 0 {
		return Result{Outcome: TempNoAnswer}
	}
	return Result{Outcome: NeedCopies, Ideal: weighted(dests, req.Rand)}
}

// ReplicateTo combines the members' answers. This is a deviation: the
// original Union dies here. The union holds when every member holds, is
// too happy only when every member is (dropping a copy one member does not
// need could break another), and otherwise asks for what the unsatisfied
// members want: their ideal devices first, then their desperate ones, each
// device once, in member order.
func (p Union) ReplicateTo(req Request) Result {
	if len(p.Policies) == 0 {
		return Result{Outcome: AllGood}
	}
	allTooGood := true
	unhappy := false
	anyRequest := false
	var ideal, desperate []int
	seen := map[int]bool{}
	for _, m := range p.Policies {
		r := m.ReplicateTo(req)
		if r.Outcome != TooGood {
			allTooGood = false
		}
		if r.Happy() {
			continue
		}
		unhappy = true
		if r.Outcome == TempNoAnswer {
			continue
		}
		anyRequest = true
		for _, id := range r.Ideal {
			if !seen[id] {
				seen[id] = true
				ideal = append(ideal, id)
			}
		}
		desperate = append(desperate, r.Desperate...)
	}
	switch {
	case !unhappy && allTooGood:
		return Result{Outcome: TooGood}
	case !unhappy:
		return Result{Outcome: AllGood}
	case !anyRequest:
		return Result{Outcome: TempNoAnswer}
	}
	var desp []int
	for _, id := range desperate {
		if !seen[id] {
			seen[id] = true
			desp = append(desp, id)
		}
	}
	return Result{Outcome: NeedCopies, Ideal: ideal, Desperate: desp}
}
