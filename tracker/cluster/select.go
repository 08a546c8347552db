package cluster

import (
	"math/rand/v2"
	"sort"
	"strconv"
)

// WeightedOrder returns the indexes of weights in a random order where,
// at each step, an index is drawn with probability weight/sum among those
// left (the original's weighted_list). Indexes with a weight <= 0 are
// dropped.
func WeightedOrder(weights []float64) []int {
	type item struct {
		i int
		w float64
	}
	list := make([]item, 0, len(weights))
	sum := 0.0
	for i, w := range weights {
		if w > 0 {
			list = append(list, item{i, w})
			sum += w
		}
	}
	out := make([]int, 0, len(list))
	for len(list) > 0 {
		if len(list) == 1 {
			out = append(out, list[0].i)
			break
		}
		val := rand.Float64() * sum
		cur := 0.0
		pick := len(list) - 1 // guards against rounding at the end
		for j, it := range list {
			cur += it.w
			if cur >= val {
				pick = j
				break
			}
		}
		out = append(out, list[pick].i)
		sum -= list[pick].w
		list = append(list[:pick], list[pick+1:]...)
	}
	return out
}

// NewFileDevices picks up to n devices for a new file of size bytes (0 =
// unknown) as the original's create_open does: when size is given, only
// devices whose known free space exceeds it (or, if none, those with
// unknown usage); then those that should get new files, sorted by percent
// free, the best 20 in weighted random order (weight 100 x percent free, so
// a device with unknown usage is never picked). Unlike the original, whose
// host check compares device ids with host ids, the devices returned are on
// distinct hosts.
func (s *Snapshot) NewFileDevices(size int64, n int) []*Device {
	devs := s.Devices
	if size > 0 {
		var fit, unknown []*Device
		for _, d := range devs {
			if free, ok := d.MBFree(); ok {
				if free*1024*1024 > size {
					fit = append(fit, d)
				}
			} else {
				unknown = append(unknown, d)
			}
		}
		devs = fit
		if len(devs) == 0 {
			devs = unknown
		}
	}
	return PickByFreeSpace(devs, n, nil)
}

// PickByFreeSpace keeps the devices that should get new files and not in
// skip, sorts them by percent free, and returns up to n of the best 20 in
// weighted random order (weight 100 x percent free), at most one per host.
func PickByFreeSpace(devs []*Device, n int, skip func(*Device) bool) []*Device {
	cand := make([]*Device, 0, len(devs))
	for _, d := range devs {
		if d.ShouldGetNewFiles() && (skip == nil || !skip(d)) {
			cand = append(cand, d)
		}
	}
	// A random start order gives equal devices an equal chance (the
	// original sorts a hash-ordered list).
	rand.Shuffle(len(cand), func(i, j int) { cand[i], cand[j] = cand[j], cand[i] })
	sort.SliceStable(cand, func(i, j int) bool { return cand[i].PercentFree() > cand[j].PercentFree() })
	if len(cand) > 20 {
		cand = cand[:20]
	}
	w := make([]float64, len(cand))
	for i, d := range cand {
		w[i] = 100 * d.PercentFree()
	}
	var out []*Device
	hosts := map[int]bool{}
	for _, i := range WeightedOrder(w) {
		if len(out) >= n {
			break
		}
		d := cand[i]
		if hosts[d.HostID] {
			continue
		}
		hosts[d.HostID] = true
		out = append(out, d)
	}
	return out
}

// ReadWeight is the weight get_paths gives a device: 102 - utilization
// when the utilization is a whole number, else the device weight; 0
// becomes 100.
func (d *Device) ReadWeight() float64 {
	if u := d.Utilization(); u != "" && isDigits(u) {
		if n, err := strconv.Atoi(u); err == nil {
			w := 102 - n
			if w == 0 {
				w = 100
			}
			return float64(w)
		}
	}
	if d.Weight == 0 {
		return 100
	}
	return float64(d.Weight)
}

// ReadOrder orders the given devices (unknown ids are dropped) for reading
// with WeightedOrder over ReadWeight.
func (s *Snapshot) ReadOrder(devids []int) []*Device {
	devs := make([]*Device, 0, len(devids))
	for _, id := range devids {
		if d := s.deviceByID[id]; d != nil {
			devs = append(devs, d)
		}
	}
	if len(devs) <= 1 {
		if len(devs) == 1 && devs[0].ReadWeight() <= 0 {
			return nil
		}
		return devs
	}
	w := make([]float64, len(devs))
	for i, d := range devs {
		w[i] = d.ReadWeight()
	}
	idx := WeightedOrder(w)
	out := make([]*Device, len(idx))
	for i, j := range idx {
		out[i] = devs[j]
	}
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
