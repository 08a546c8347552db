package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// RebalancePolicy is a parsed rebalance policy (server setting
// rebal_policy). Zero thresholds mean "no filter", as in the original.
type RebalancePolicy struct {
	FromAllDevs string // accepted and unused, as in the original (default "1")
	FromHosts   []int
	FromDevices []int
	// From* thresholds are strict "greater than" filters; the percentages
	// are 0-100, the spaces MiB.
	FromPercentUsed float64
	FromPercentFree float64
	FromSpaceUsed   float64
	FromSpaceFree   float64
	FIDAge          string // "old" (ascending fid, default) or "new"
	LimitType       string // "device" (default) or "global"
	LimitBy         string // "none" (default), "count" or "size"
	Limit           string // as written: a count, or a size with b/k/m/g/t/p

	ToAllDevs     string // accepted and unused (default "1")
	ToHosts       []int
	ToDevices     []int
	ToPercentUsed float64
	ToPercentFree float64
	ToSpaceUsed   float64
	ToSpaceFree   float64
	NotToHosts    []int
	NotToDevices  []int
	// UseDestDevs is how many destinations each fid may go to; 0 = all.
	UseDestDevs      int
	LeaveInDrainMode bool
}

// DefaultRebalancePolicy returns the policy every key defaults to.
func DefaultRebalancePolicy() RebalancePolicy {
	return RebalancePolicy{
		FromAllDevs: "1",
		ToAllDevs:   "1",
		FIDAge:      "old",
		LimitType:   "device",
		LimitBy:     "none",
	}
}

// ErrBadRebalance marks a policy or state string that does not parse; the
// tracker answers bad_rebal_pol with the error's text.
var ErrBadRebalance = errors.New("bad rebalance policy")

type badRebalance struct{ msg string }

func (e badRebalance) Error() string        { return e.msg }
func (e badRebalance) Is(target error) bool { return target == ErrBadRebalance }

func badf(format string, args ...any) error {
	return badRebalance{fmt.Sprintf(format, args...)}
}

var limitSize = regexp.MustCompile(`(?i)^(\d+)([bkmgtp])?$`)

// ParseRebalance parses a rebalance policy: space-separated key=value
// pairs, lists comma-separated. An unknown key is the original's error
// "Invalid setting KEY". Unlike the original, which only notices bad
// values when the rebalance runs (and then loops failing), values are
// checked here: lists must hold device or host ids, thresholds numbers,
// fid_age old|new, limit_type device|global, limit_by none|count|size
// (percent is refused: the original never implemented it), a count or
// size limit must be given with limit_by, use_dest_devs is "all" or a
// positive number, leave_in_drain_mode 0 or 1. Runs of whitespace separate
// pairs (the original splits on each single whitespace character and then
// rejects the empty pairs). The empty string gives the defaults.
func ParseRebalance(s string) (RebalancePolicy, error) {
	p := DefaultRebalancePolicy()
	for _, tok := range strings.Fields(s) {
		key, val, ok := strings.Cut(tok, "=")
		if !ok {
			if !rebalanceKeys[key] {
				return p, badf("Invalid setting %s", key)
			}
			return p, badf("setting %s has no value", key)
		}
		if err := p.set(key, val); err != nil {
			return p, err
		}
	}
	if err := p.check(); err != nil {
		return p, err
	}
	return p, nil
}

var rebalanceKeys = map[string]bool{
	"from_all_devs": true, "from_hosts": true, "from_devices": true,
	"from_percent_used": true, "from_percent_free": true,
	"from_space_used": true, "from_space_free": true,
	"fid_age": true, "limit_type": true, "limit_by": true, "limit": true,
	"to_all_devs": true, "to_hosts": true, "to_devices": true,
	"to_percent_used": true, "to_percent_free": true,
	"to_space_used": true, "to_space_free": true,
	"not_to_hosts": true, "not_to_devices": true,
	"use_dest_devs": true, "leave_in_drain_mode": true,
}

func (p *RebalancePolicy) set(key, val string) error {
	var err error
	scalar := func() error {
		if strings.Contains(val, ",") {
			return badf("setting %s takes one value, not a list: %s", key, val)
		}
		return nil
	}
	num := func(dst *float64) error {
		if err := scalar(); err != nil {
			return err
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || v < 0 || v != v {
			return badf("setting %s needs a number >= 0, not %q", key, val)
		}
		*dst = v
		return nil
	}
	list := func(dst *[]int) error {
		*dst, err = parseIDList(val)
		if err != nil || len(*dst) == 0 {
			return badf("setting %s needs a comma-separated list of ids, not %q", key, val)
		}
		return nil
	}
	oneOf := func(dst *string, allowed ...string) error {
		if err := scalar(); err != nil {
			return err
		}
		if !slices.Contains(allowed, val) {
			return badf("setting %s must be one of %s, not %q", key, strings.Join(allowed, "|"), val)
		}
		*dst = val
		return nil
	}
	switch key {
	case "from_all_devs":
		p.FromAllDevs = val
	case "to_all_devs":
		p.ToAllDevs = val
	case "from_hosts":
		return list(&p.FromHosts)
	case "from_devices":
		return list(&p.FromDevices)
	case "to_hosts":
		return list(&p.ToHosts)
	case "to_devices":
		return list(&p.ToDevices)
	case "not_to_hosts":
		return list(&p.NotToHosts)
	case "not_to_devices":
		return list(&p.NotToDevices)
	case "from_percent_used":
		return num(&p.FromPercentUsed)
	case "from_percent_free":
		return num(&p.FromPercentFree)
	case "from_space_used":
		return num(&p.FromSpaceUsed)
	case "from_space_free":
		return num(&p.FromSpaceFree)
	case "to_percent_used":
		return num(&p.ToPercentUsed)
	case "to_percent_free":
		return num(&p.ToPercentFree)
	case "to_space_used":
		return num(&p.ToSpaceUsed)
	case "to_space_free":
		return num(&p.ToSpaceFree)
	case "fid_age":
		return oneOf(&p.FIDAge, "old", "new")
	case "limit_type":
		return oneOf(&p.LimitType, "device", "global")
	case "limit_by":
		if val == "percent" {
			return badf("setting limit_by=percent is not implemented")
		}
		return oneOf(&p.LimitBy, "none", "count", "size")
	case "limit":
		if err := scalar(); err != nil {
			return err
		}
		p.Limit = val
	case "use_dest_devs":
		if err := scalar(); err != nil {
			return err
		}
		if val == "all" {
			p.UseDestDevs = 0
			return nil
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return badf("setting use_dest_devs must be \"all\" or a number >= 1, not %q", val)
		}
		p.UseDestDevs = n
	case "leave_in_drain_mode":
		switch val {
		case "0", "":
			p.LeaveInDrainMode = false
		case "1":
			p.LeaveInDrainMode = true
		default:
			return badf("setting leave_in_drain_mode must be 0 or 1, not %q", val)
		}
	default:
		return badf("Invalid setting %s", key)
	}
	return nil
}

// check validates the combination of limit settings.
func (p *RebalancePolicy) check() error {
	switch p.LimitBy {
	case "count":
		if _, err := strconv.ParseInt(p.Limit, 10, 64); err != nil || strings.HasPrefix(p.Limit, "-") || strings.HasPrefix(p.Limit, "+") {
			return badf("limit_by=count needs limit=<number of files>, not %q", p.Limit)
		}
	case "size":
		if _, err := LimitBytes(p.Limit); err != nil {
			return err
		}
	}
	return nil
}

// LimitBytes converts a size limit ("100g", "512m", "1024") to bytes:
// suffixes b, k, m, g, t, p are powers of 1024, no suffix means bytes.
func LimitBytes(s string) (int64, error) {
	m := limitSize.FindStringSubmatch(s)
	if m == nil {
		return 0, badf("limit_by=size needs limit=<number>[b|k|m|g|t|p], not %q", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, badf("limit %q is out of range", s)
	}
	shift := strings.Index("bkmgtp", strings.ToLower(m[2])) * 10
	if m[2] == "" {
		shift = 0
	}
	if shift > 0 && n > (1<<62)>>shift {
		return 0, badf("limit %q is out of range", s)
	}
	return n << shift, nil
}

func parseIDList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f == "" || strings.HasPrefix(f, "+") || strings.HasPrefix(f, "-") {
			return nil, fmt.Errorf("bad id %q", f)
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func joinIDs(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// String renders the policy with every key, in the original's key order;
// it parses back to the same policy.
func (p RebalancePolicy) String() string {
	var b []string
	add := func(k, v string) { b = append(b, k+"="+v) }
	addList := func(k string, ids []int) {
		if len(ids) > 0 {
			add(k, joinIDs(ids))
		}
	}
	addNum := func(k string, v float64) {
		if v != 0 {
			add(k, fmtNum(v))
		}
	}
	add("from_all_devs", p.FromAllDevs)
	addList("from_hosts", p.FromHosts)
	addList("from_devices", p.FromDevices)
	addNum("from_percent_used", p.FromPercentUsed)
	addNum("from_percent_free", p.FromPercentFree)
	addNum("from_space_used", p.FromSpaceUsed)
	addNum("from_space_free", p.FromSpaceFree)
	add("fid_age", p.FIDAge)
	add("limit_type", p.LimitType)
	add("limit_by", p.LimitBy)
	if p.Limit != "" {
		add("limit", p.Limit)
	}
	add("to_all_devs", p.ToAllDevs)
	addList("to_hosts", p.ToHosts)
	addList("to_devices", p.ToDevices)
	addNum("to_percent_used", p.ToPercentUsed)
	addNum("to_percent_free", p.ToPercentFree)
	addNum("to_space_used", p.ToSpaceUsed)
	addNum("to_space_free", p.ToSpaceFree)
	addList("not_to_hosts", p.NotToHosts)
	addList("not_to_devices", p.NotToDevices)
	if p.UseDestDevs > 0 {
		add("use_dest_devs", strconv.Itoa(p.UseDestDevs))
	} else {
		add("use_dest_devs", "all")
	}
	if p.LeaveInDrainMode {
		add("leave_in_drain_mode", "1")
	} else {
		add("leave_in_drain_mode", "0")
	}
	return strings.Join(b, " ")
}

// sortedByID returns devs ordered by devid (the original walks a hash; a
// fixed order makes runs and rebalance_test answers reproducible).
func sortedByID(devs []Device) []Device {
	s := slices.Clone(devs)
	slices.SortFunc(s, func(a, b Device) int { return a.ID - b.ID })
	return s
}

// SourceDevices returns the devids a rebalance under p takes files from:
// devices that can be deleted from and pass every from_* filter.
func (p RebalancePolicy) SourceDevices(devs []Device) []int {
	out := []int{}
	for _, d := range sortedByID(devs) {
		if !d.CanDeleteFrom() {
			continue
		}
		if len(p.FromDevices) > 0 && !slices.Contains(p.FromDevices, d.ID) {
			continue
		}
		if len(p.FromHosts) > 0 && !slices.Contains(p.FromHosts, d.HostID) {
			continue
		}
		if !passesSpace(d, p.FromPercentUsed, p.FromPercentFree, p.FromSpaceUsed, p.FromSpaceFree) {
			continue
		}
		out = append(out, d.ID)
	}
	return out
}

// DestDevices returns the devids a rebalance under p in state st may copy
// to: devices that get new files, are neither a source (pending, current
// or completed) nor excluded, and pass every to_* filter.
func (p RebalancePolicy) DestDevices(st RebalanceState, devs []Device) []int {
	skip := map[int]bool{st.SDevCurrent: true}
	for _, id := range st.SourceDevs {
		skip[id] = true
	}
	for _, id := range st.CompletedDevs {
		skip[id] = true
	}
	out := []int{}
	for _, d := range sortedByID(devs) {
		if skip[d.ID] || !d.GetsNewFiles {
			continue
		}
		if len(p.ToDevices) > 0 && !slices.Contains(p.ToDevices, d.ID) {
			continue
		}
		if len(p.ToHosts) > 0 && !slices.Contains(p.ToHosts, d.HostID) {
			continue
		}
		if slices.Contains(p.NotToDevices, d.ID) || slices.Contains(p.NotToHosts, d.HostID) {
			continue
		}
		if !passesSpace(d, p.ToPercentUsed, p.ToPercentFree, p.ToSpaceUsed, p.ToSpaceFree) {
			continue
		}
		out = append(out, d.ID)
	}
	return out
}

// passesSpace applies the four "more than" usage filters; a zero threshold
// is no filter, and a device with unknown usage fails any filter.
func passesSpace(d Device, pctUsed, pctFree, spaceUsed, spaceFree float64) bool {
	if pctUsed > 0 {
		full, ok := d.percentFull()
		if !ok || !(full*100 > pctUsed) {
			return false
		}
	}
	if pctFree > 0 {
		free := d.PercentFree() * 100
		if free == 0 || !(free > pctFree) {
			return false
		}
	}
	if spaceUsed > 0 {
		if d.MBTotal <= 0 || d.MBUsed == 0 || !(float64(d.MBUsed) > spaceUsed) {
			return false
		}
	}
	if spaceFree > 0 {
		free, ok := d.mbFree()
		if !ok || free == 0 || !(float64(free) > spaceFree) {
			return false
		}
	}
	return true
}

// ChooseDests shuffles the destination devids and keeps UseDestDevs of
// them (all when 0), as the original does for each queued fid.
func (p RebalancePolicy) ChooseDests(dests []int, r *rand.Rand) []int {
	s := slices.Clone(dests)
	for i := len(s) - 1; i > 0; i-- {
		j := int(float(r) * float64(i+1))
		s[i], s[j] = s[j], s[i]
	}
	if p.UseDestDevs > 0 && len(s) > p.UseDestDevs {
		s = s[:p.UseDestDevs]
	}
	return s
}
