package tracker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/fidcache"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The fast path's commands (docs/fastpath.md §10): fastpath_info,
// fastpath_lease, fastpath_commit and fastpath_paths. Storage nodes send
// them; original clients never do, and no original command changes.

const (
	// fastpathBatchMax bounds the items of one fastpath_commit and the
	// keys of one fastpath_paths.
	fastpathBatchMax = store.MaxKeyBatch
	// fastpathLeaseMax bounds the fids of one fastpath_lease.
	fastpathLeaseMax = 1000
	// fastpathPeersMax bounds the peer devices of one fastpath_lease.
	fastpathPeersMax = 2
	// defaultTempfileTooOld is the reaper's age for tempfile rows.
	defaultTempfileTooOld = time.Hour
)

// fastpathCommands are the handlers, for commandTable.
func (s *Server) fastpathCommands() map[string]handler {
	return map[string]handler{
		"fastpath_info":   s.cmdFastpathInfo,
		"fastpath_lease":  s.cmdFastpathLease,
		"fastpath_commit": s.cmdFastpathCommit,
		"fastpath_paths":  s.cmdFastpathPaths,
	}
}

// fastpathOn reads the server setting fastpath (default on).
func fastpathOn(snap *cluster.Snapshot) bool {
	v := snap.Setting("fastpath")
	return v == "" || !boolFalseRe.MatchString(v)
}

// leaseTTL is how long a node may use a leased fid: well inside the
// reaper's tempfile_too_old, which removes what was never committed.
func (s *Server) leaseTTL() int64 {
	tooOld := s.cfg.TempfileTooOld
	if tooOld <= 0 {
		tooOld = defaultTempfileTooOld
	}
	ttl := int64(tooOld/time.Second) - 600
	return min(max(ttl, 60), 3000)
}

func (s *Server) cmdFastpathInfo(ctx context.Context, r *request) reply {
	snap := s.cl.Snapshot()
	a := wire.Args{
		"enabled":   "0",
		"batch_max": strconv.Itoa(fastpathBatchMax),
		"lease_max": strconv.Itoa(fastpathLeaseMax),
		"lease_ttl": strconv.FormatInt(s.leaseTTL(), 10),
	}
	n := 0
	if fastpathOn(snap) {
		a["enabled"] = "1"
		for _, h := range snap.Hosts {
			if !h.Alive() || !hasAliveDevice(snap, h) {
				continue
			}
			n++
			a["host_"+strconv.Itoa(n)] = h.BaseURL(r.zone, true)
			a["hostid_"+strconv.Itoa(n)] = strconv.Itoa(h.ID)
		}
	}
	a["host_count"] = strconv.Itoa(n)
	if _, ok := s.handlers["mogfs_fastpath_commit"]; ok {
		a["attrs"] = "1" // docs/fastpath.md §10.3a
	}
	return okReply(a)
}

func hasAliveDevice(snap *cluster.Snapshot, h *cluster.Host) bool {
	for _, d := range snap.Devices {
		if d.HostID == h.ID && d.Status == "alive" {
			return true
		}
	}
	return false
}

func (s *Server) cmdFastpathLease(ctx context.Context, r *request) reply {
	snap := s.cl.Snapshot()
	if !fastpathOn(snap) {
		return errReply("fastpath_off", "")
	}
	count, err := strconv.Atoi(r.arg("count"))
	if err != nil || count < 1 || count > fastpathLeaseMax {
		return errReply("bad_params", "count must be a number from 1 to "+strconv.Itoa(fastpathLeaseMax))
	}
	devid, err := strconv.Atoi(r.arg("devid"))
	if err != nil {
		return errReply("bad_params", "devid must be a number")
	}
	dev := snap.Device(devid)
	switch {
	case dev == nil:
		return errReply("unknown_device", "")
	case dev.Status != "alive" || dev.Host == nil || !dev.Host.Alive():
		return errReply("dev_not_writable", "")
	}
	npeers := 0
	if v := r.arg("peers"); v != "" {
		if npeers, err = strconv.Atoi(v); err != nil || npeers < 0 || npeers > fastpathPeersMax {
			return errReply("bad_params", "peers must be a number from 0 to "+strconv.Itoa(fastpathPeersMax))
		}
	}
	peers := leasePeers(snap, dev, npeers)
	fids, created, err := s.st.LeaseTempfiles(ctx, devid, count, deviceIDs(peers)...)
	if err != nil {
		s.log.Error("fastpath_lease failed", "devid", devid, "count", count, "err", err)
		return errReply("db", "")
	}
	s.metrics.fastpathLease(len(fids))
	a := make(wire.Args, len(fids)+3+2*len(peers))
	a["count"] = strconv.Itoa(len(fids))
	a["time"] = strconv.FormatInt(created, 10)
	for i, fid := range fids {
		a["fid_"+strconv.Itoa(i+1)] = strconv.FormatInt(fid, 10)
	}
	if r.arg("peers") != "" {
		a["peer_count"] = strconv.Itoa(len(peers))
		for i, d := range peers {
			p := strconv.Itoa(i + 1)
			a["peer_devid_"+p] = strconv.Itoa(d.ID)
			a["peer_url_"+p] = d.Host.BaseURL(r.zone, true)
		}
	}
	return okReply(a)
}

// leasePeers chooses up to n devices for the further copies of files
// written on dev (docs/fastpath.md §4.5), as the replicator would choose
// their next copies under the default policy, MultipleHosts(): one at a
// time, the first ideal destination, else the first desperate one.
func leasePeers(snap *cluster.Snapshot, dev *cluster.Device, n int) []*cluster.Device {
	if n <= 0 {
		return nil
	}
	all := snap.PolicyDevices()
	on := []policy.Device{dev.PolicyDevice()}
	var out []*cluster.Device
	for len(out) < n {
		rr := policy.MultipleHosts{}.ReplicateTo(policy.Request{On: on, All: all, Failed: map[int]bool{}, Min: len(on) + 1})
		if rr.Happy() {
			break
		}
		var next *cluster.Device
		for _, id := range slices.Concat(rr.Ideal, rr.Desperate) {
			if d := snap.Device(id); d != nil && d.Host != nil {
				next = d
				break
			}
		}
		if next == nil {
			break
		}
		out = append(out, next)
		on = append(on, next.PolicyDevice())
	}
	return out
}

func deviceIDs(devs []*cluster.Device) []int {
	ids := make([]int, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	return ids
}

// batchCount reads count for fastpath_commit and fastpath_paths.
func batchCount(r *request, least int) (int, bool) {
	n, err := strconv.Atoi(r.arg("count"))
	return n, err == nil && n >= least && n <= fastpathBatchMax
}

// commitItem reads and checks item i of fastpath_commit (with attrs, of
// mogfs_fastpath_commit); code is the item's refusal ("" when it may be
// committed).
func (s *Server) commitItem(r *request, snap *cluster.Snapshot, i int, attrs bool) (it store.FastCommit, code string) {
	p := strconv.Itoa(i)
	dom := snap.DomainByName(r.arg("domain_" + p))
	if dom == nil {
		return it, "unreg_domain"
	}
	c := dom.ClassByID(0)
	if cn := r.arg("class_" + p); cn != "" {
		if c = dom.ClassByName(cn); c == nil {
			return it, "unreg_class"
		}
	}
	key := r.arg("key_" + p)
	switch {
	case key == "":
		return it, "no_key"
	case len(key) > maxKeyLen:
		return it, "key_too_long"
	}
	it = store.FastCommit{DomainID: dom.ID, Key: key, Length: numPrefix(r.arg("size_" + p))}
	if c != nil {
		it.ClassID = c.ID
	}
	if v := r.arg("checksum_" + p); v != "" {
		t, b, err := parseChecksum(v)
		if err != nil {
			return it, "invalid_checksum_format"
		}
		// Kept only when the class stores that hash type, as
		// create_close does.
		if c != nil && c.HashType != store.HashNone && c.HashType == t {
			it.Checksum = &store.Checksum{HashType: t, Sum: b}
		}
	}
	fid, err1 := strconv.ParseInt(r.arg("fid_"+p), 10, 64)
	devid, err2 := strconv.Atoi(r.arg("devid_" + p))
	dev := snap.Device(devid)
	if err1 != nil || err2 != nil || fid <= 0 || dev == nil || it.Length < 0 {
		return it, "bogus_args"
	}
	it.FID, it.DevID = fid, devid
	if it.Checksum != nil {
		it.Checksum.FID = fid
	}
	if attrs {
		// The attribute arguments of mogfs_create_close, read and
		// defaulted by the same code.
		u, bad := mogfsItemAttrArgs(r, "_"+p, key)
		if bad != nil {
			return it, bad.code
		}
		if !u.Empty() {
			row := u.Row()
			it.Attr = &row
		}
	}
	copies, ok := commitPeers(snap, dev, r.arg("peers_"+p))
	if !ok {
		return it, "bogus_args"
	}
	if len(copies) == 1 {
		it.Replicated = s.oneCopyEnough(fid, c, dev, it.Checksum != nil)
		return it, ""
	}
	it.PeerDevIDs = deviceIDs(copies[1:])
	it.Replicated = s.copiesEnough(fid, c, snap, copies, it.Checksum != nil)
	return it, ""
}

// commitPeers reads an item's peers_i (comma-separated devids of the
// peer copies, docs/fastpath.md §4.5) and returns dev followed by them;
// false when one is not a known device, is repeated or is dev.
func commitPeers(snap *cluster.Snapshot, dev *cluster.Device, v string) ([]*cluster.Device, bool) {
	copies := []*cluster.Device{dev}
	if v == "" {
		return copies, true
	}
	for _, f := range strings.Split(v, ",") {
		id, err := strconv.Atoi(f)
		d := snap.Device(id)
		if err != nil || d == nil || slices.Contains(copies, d) {
			return nil, false
		}
		copies = append(copies, d)
	}
	return copies, len(copies) <= 1+fastpathPeersMax
}

// copiesEnough is oneCopyEnough for several copies: they meet the class
// policy, asked as the replicator asks it (against every device), so no
// replication job is needed.
func (s *Server) copiesEnough(fid int64, c *cluster.Class, snap *cluster.Snapshot, copies []*cluster.Device, haveSum bool) bool {
	if c == nil || c.MinDevCount > len(copies) || (c.HashType != store.HashNone && !haveSum) {
		return false
	}
	on := make([]policy.Device, len(copies))
	for i, d := range copies {
		if d.State().Dead {
			return false
		}
		on[i] = d.PolicyDevice()
	}
	pol, err := s.policies.Parse(c.ReplPolicy)
	if err != nil {
		return false
	}
	return pol.ReplicateTo(policy.Request{
		FID: fid, On: on, All: snap.PolicyDevices(), Failed: map[int]bool{}, Min: c.MinDevCount,
	}).MeetsPolicy()
}

var commitStatus = map[store.CommitStatus]string{
	store.CommitOK:             "ok",
	store.CommitLeaseExpired:   "lease_expired",
	store.CommitInvalidDestDev: "invalid_destdev",
	store.CommitLinked:         "linked_key",
}

func (s *Server) cmdFastpathCommit(ctx context.Context, r *request) reply {
	return s.fastpathCommit(ctx, r, false)
}

// fastpathCommit is fastpath_commit, and with attrs
// mogfs_fastpath_commit, whose items may carry mogfs attributes.
func (s *Server) fastpathCommit(ctx context.Context, r *request, attrs bool) reply {
	n, ok := batchCount(r, 1)
	if !ok {
		return errReply("bad_params", "count must be a number from 1 to "+strconv.Itoa(fastpathBatchMax))
	}
	snap := s.cl.Snapshot()
	status := make([]string, n+1)
	var items []store.FastCommit
	var index []int // item i of items is request item index[i]
	seen := make(map[int64]bool, n)
	for i := 1; i <= n; i++ {
		it, code := s.commitItem(r, snap, i, attrs)
		if code == "" && seen[it.FID] {
			code = "bogus_args" // one fid twice in a batch
		}
		if code != "" {
			status[i] = code
			continue
		}
		seen[it.FID] = true
		items = append(items, it)
		index = append(index, i)
	}
	var res []store.CommitResult
	if len(items) > 0 {
		var err error
		res, err = s.st.CommitFiles(ctx, items)
		for _, it := range items {
			s.cache.InvalidateKey(it.DomainID, it.Key)
			s.cache.InvalidateFID(it.FID)
		}
		if err != nil {
			s.log.Error("fastpath_commit failed", "items", len(items), "err", err)
			return errReply("db", "commit failed: nothing committed")
		}
	}
	for j, x := range res {
		status[index[j]] = commitStatus[x.Status]
		if x.Replaced != 0 {
			s.cache.InvalidateFID(x.Replaced)
		}
	}
	a := make(wire.Args, n+1)
	a["count"] = strconv.Itoa(n)
	for i := 1; i <= n; i++ {
		a["status_"+strconv.Itoa(i)] = status[i]
	}
	s.metrics.fastpathCommit(status[1:])
	return okReply(a)
}

func (s *Server) cmdFastpathPaths(ctx context.Context, r *request) reply {
	n, ok := batchCount(r, 0)
	if !ok {
		return errReply("bad_params", "count must be a number from 0 to "+strconv.Itoa(fastpathBatchMax))
	}
	snap := s.cl.Snapshot()
	entries := make([]fidcache.Entry, n+1)
	status := make([]string, n+1)
	var miss []store.KeyRef
	var missIdx []int
	for i := 1; i <= n; i++ {
		p := strconv.Itoa(i)
		dom := snap.DomainByName(r.arg("domain_" + p))
		key := r.arg("key_" + p)
		switch {
		case dom == nil:
			status[i] = "unreg_domain"
		case key == "":
			status[i] = "no_key"
		default:
			if e, hit := s.cache.Get(dom.ID, key); hit {
				entries[i], status[i] = e, "ok"
				continue
			}
			miss = append(miss, store.KeyRef{DomainID: dom.ID, Key: key})
			missIdx = append(missIdx, i)
		}
	}
	if len(miss) > 0 {
		tok := s.cache.Begin()
		found, err := s.st.FilesByKeys(ctx, miss)
		if err != nil {
			return s.failure(r, err)
		}
		for j, kf := range found {
			i := missIdx[j]
			if !kf.Found {
				status[i] = "unknown_key"
				continue
			}
			e := fidcache.Entry{FID: kf.File.FID, Length: kf.File.Length, DevIDs: kf.DevIDs}
			s.cache.Put(tok, miss[j].DomainID, miss[j].Key, e)
			entries[i], status[i] = e, "ok"
		}
	}
	a := wire.Args{"count": strconv.Itoa(n)}
	for i := 1; i <= n; i++ {
		p := strconv.Itoa(i)
		a["status_"+p] = status[i]
		if status[i] != "ok" {
			continue
		}
		paths := readPaths(snap, entries[i], r.zone)
		a["fid_"+p] = strconv.FormatInt(entries[i].FID, 10)
		a["length_"+p] = strconv.FormatInt(entries[i].Length, 10)
		a["paths_"+p] = strconv.Itoa(len(paths))
		for j, u := range paths {
			a["path_"+p+"_"+strconv.Itoa(j+1)] = u
		}
	}
	return okReply(a)
}

// readPaths orders a file's copies as get_paths with noverify does (no
// bound on their number): readable devices by read order, draining ones
// after them, and an unreadable one only when there is nothing else.
func readPaths(snap *cluster.Snapshot, e fidcache.Entry, z cluster.Zone) []string {
	var paths, drain []string
	backup := ""
	for _, d := range snap.ReadOrder(e.DevIDs) {
		if d.Host == nil {
			continue
		}
		url := d.GetURL(e.FID, z)
		switch {
		case !d.ShouldReadFrom():
			backup = url
		case d.State().Drain:
			drain = append(drain, url)
		default:
			paths = append(paths, url)
		}
	}
	paths = append(paths, drain...)
	if len(paths) == 0 && backup != "" {
		paths = append(paths, backup)
	}
	return paths
}

// cleanFastpath is the validator of the server setting fastpath: on or
// off (the boolean spellings too); empty removes it (on).
func cleanFastpath(v string, _ bool) (string, bool, error) {
	switch {
	case v == "":
		return "", true, nil
	case boolFalseRe.MatchString(v):
		return "off", false, nil
	case boolTrueRe.MatchString(v):
		return "on", false, nil
	}
	return "", false, errors.New("Must be on or off")
}
