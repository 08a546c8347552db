package worker

import (
	"math/rand/v2"

	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// classInfo is what the workers need of a file's class.
type classInfo struct {
	name     string
	min      int // mindevcount
	pol      policy.Policy
	hashType store.HashType
}

// hashName is the class's hash algorithm name, "" for none.
func (c classInfo) hashName() string {
	if c.hashType == store.HashNone {
		return ""
	}
	return cluster.HashName(c.hashType)
}

// policyOf parses a class's replpolicy (cached). A bad string can only
// come from outside the tracker (create_class validates); the files are
// kept safe with the default policy.
func (w *Workers) policyOf(s string) policy.Policy {
	p, err := w.policies.Parse(s)
	if err != nil {
		w.log.Error("worker: bad replication policy, using MultipleHosts()", "replpolicy", s, "err", err)
		return policy.MultipleHosts{}
	}
	return p
}

// classOf finds the class of f. A class the snapshot does not know (the
// original dies on it) is taken as the domain's default class, else as a
// MultipleHosts class of 2 copies.
func (w *Workers) classOf(snap *cluster.Snapshot, f store.File) classInfo {
	var cl *cluster.Class
	if dom := snap.DomainByID(f.DomainID); dom != nil {
		cl = dom.ClassByID(f.ClassID)
		if cl == nil {
			w.log.Warn("worker: file of unknown class, using the default class", "fid", f.FID, "dmid", f.DomainID, "classid", f.ClassID)
			cl = dom.ClassByID(0)
		}
	}
	if cl == nil {
		return classInfo{name: "default", min: 2, pol: policy.MultipleHosts{}}
	}
	min := cl.MinDevCount
	if min < 1 {
		min = 1
	}
	return classInfo{
		name:     cl.Name,
		min:      min,
		pol:      w.policyOf(cl.ReplPolicy),
		hashType: cl.HashType,
	}
}

// meetsPolicy is fsck's check: the devices listed (whatever their state,
// as the original) satisfy the class policy exactly (happy, not too happy).
func (w *Workers) meetsPolicy(snap *cluster.Snapshot, cls classInfo, fid int64, devids []int) bool {
	var on []policy.Device
	for _, id := range devids {
		if d := snap.Device(id); d != nil {
			on = append(on, d.PolicyDevice())
		}
	}
	r := cls.pol.ReplicateTo(policy.Request{
		FID:    fid,
		On:     on,
		All:    snap.PolicyDevices(),
		Failed: map[int]bool{},
		Min:    cls.min,
	})
	return r.MeetsPolicy()
}

// shuffled returns a random permutation of ids.
func shuffled[T any](s []T) []T {
	out := append([]T(nil), s...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
