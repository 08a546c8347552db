package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/fidcache"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// maxKeyLen is the width of file.dkey and tempfile.dkey.
const maxKeyLen = 255

// checkDomain is the original's check_domain: no_domain, unreg_domain.
func (s *Server) checkDomain(r *request) (*cluster.Domain, reply, bool) {
	name := r.arg("domain")
	if name == "" {
		return nil, errReply("no_domain", ""), false
	}
	d := s.cl.Snapshot().DomainByName(name)
	if d == nil {
		return nil, errReply("unreg_domain", ""), false
	}
	return d, reply{}, true
}

// validKey: defined and non-empty (so "0" is a valid key).
func (r *request) key(k string) (string, bool) {
	v, ok := r.args[k]
	return v, ok && v != ""
}

var checksumRe = regexp.MustCompile(`\A([\w-]+):([a-fA-F0-9]{32,128})\z`)

// parseChecksum reads "MD5:<hex>" or "SHA-1:<hex>".
func parseChecksum(s string) (store.HashType, []byte, error) {
	m := checksumRe.FindStringSubmatch(s)
	if m == nil {
		return 0, nil, errors.New("invalid checksum string")
	}
	t, ok := cluster.HashTypeOf(m[1])
	if !ok {
		return 0, nil, fmt.Errorf("invalid checksum name (%s) from %s", m[1], s)
	}
	hx := m[2]
	if len(hx)%2 == 1 {
		hx += "0" // Perl's pack("H*") pads an odd digit
	}
	sum, err := hex.DecodeString(hx)
	if err != nil {
		return 0, nil, err
	}
	want := 16
	if t == store.HashSHA1 {
		want = 20
	}
	if len(sum) != want {
		return 0, nil, fmt.Errorf("invalid checksum length=%d (expected %d)", len(sum), want)
	}
	return t, sum, nil
}

func checksumString(c store.Checksum) string {
	return cluster.HashName(c.HashType) + ":" + hex.EncodeToString(c.Sum)
}

func (s *Server) skipDevcount() bool { return s.cl.Snapshot().SettingBool("skip_devcount") }

func (s *Server) cmdCreateOpen(ctx context.Context, r *request) reply {
	t0 := time.Now()
	var prof []profPoint
	mark := func(name string) {
		if r.truthy("debug_profile") {
			prof = append(prof, profPoint{name, time.Now()})
		}
	}
	mark("begin")
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key := r.arg("key")
	if key == "0" {
		key = "" // the original reads it with "|| ''"
	}
	if len(key) > maxKeyLen {
		return errReply("db", fmt.Sprintf("Key longer than %d bytes", maxKeyLen))
	}
	n := 1
	if r.truthy("multi_dest") {
		n = 3
	}
	size := numPrefix(r.arg("size"))
	var fid int64
	if r.truthy("fid") {
		fid = numPrefix(r.arg("fid"))
		if fid < 0 {
			fid = 0
		}
	}
	classid := 0
	if cn := r.arg("class"); cn != "" && cn != "0" {
		c := dom.ClassByName(cn)
		if c == nil {
			return errReply("unreg_class", "")
		}
		classid = c.ID
	}
	mark("wait_monitor")
	if err := s.cl.WaitFirstRound(ctx); err != nil {
		return s.failure(r, err)
	}
	mark("find_deviceid")
	snap := s.cl.Snapshot()
	devs := snap.NewFileDevices(size, n)
	if len(devs) == 0 {
		return errReply("no_devices", "")
	}
	if fid != 0 && fid <= s.minFID {
		return errReply("fid_in_use", "")
	}
	devids := make([]int, len(devs))
	for i, d := range devs {
		devids[i] = d.ID
	}
	newFID, err := s.st.RegisterTempfile(ctx, store.Tempfile{FID: fid, DomainID: dom.ID, Key: key, ClassID: classid, DevIDs: devids})
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			return errReply("fid_in_use", "")
		}
		s.log.Error("Error registering tempfile", "key", key, "domain", dom.Name, "err", err)
		return errReply("db", "")
	}
	if fid == 0 {
		s.temps.put(newFID, classid, devids)
	}
	mark("vivify_dir_on_all_devs")
	dirTimes := s.makeDirs(ctx, snap, devs, newFID, r.zone)
	mark("end")

	a := wire.Args{"fid": strconv.FormatInt(newFID, 10)}
	if len(prof) > 0 {
		np := 0
		for i := 0; i+1 < len(prof); i++ {
			np++
			a["prof_"+strconv.Itoa(np)+"_name"] = prof[i].name
			a["prof_"+strconv.Itoa(np)+"_time"] = fmt.Sprintf("%0.03f", prof[i+1].t.Sub(prof[i].t).Seconds())
		}
		for devid, d := range dirTimes {
			np++
			a["prof_"+strconv.Itoa(np)+"_name"] = "vivify_dir_on_dev" + strconv.Itoa(devid)
			a["prof_"+strconv.Itoa(np)+"_time"] = fmt.Sprintf("%0.03f", d.Seconds())
		}
		a["profpoints"] = strconv.Itoa(np)
	}
	if r.truthy("multi_dest") {
		for i, d := range devs {
			a["devid_"+strconv.Itoa(i+1)] = strconv.Itoa(d.ID)
			a["path_"+strconv.Itoa(i+1)] = d.PutURL(newFID, r.zone)
		}
		a["dev_count"] = strconv.Itoa(len(devs))
	} else {
		a["devid"] = strconv.Itoa(devs[0].ID)
		a["path"] = devs[0].PutURL(newFID, r.zone)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) { // the arguments cost allocations even when no one listens
		s.log.Debug("create_open", "fid", newFID, "key", key, "domain", dom.Name, "devids", devids, "took", time.Since(t0))
	}
	return okReply(a)
}

type profPoint struct {
	name string
	t    time.Time
}

// makeDirs MKCOLs the fid's three directory levels on each device (in
// parallel; results are not checked, as in the original) unless the
// server setting skip_mkcol is on. It returns the time each device took.
func (s *Server) makeDirs(ctx context.Context, snap *cluster.Snapshot, devs []*cluster.Device, fid int64, z cluster.Zone) map[int]time.Duration {
	out := map[int]time.Duration{}
	if snap.SettingBool("skip_mkcol") {
		for _, d := range devs {
			out[d.ID] = 0
		}
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	t0 := time.Now()
	for _, d := range devs {
		wg.Add(1)
		go func(d *cluster.Device) {
			defer wg.Done()
			dirs := nodeproto.FIDDirs(d.ID, fid)
			if err := s.nodes.MkcolAll(ctx, d.ID, d.Host.BaseURL(z, true), dirs[:]); err != nil {
				s.log.Warn("MKCOL failed", "devid", d.ID, "fid", fid, "err", err)
			}
			mu.Lock()
			out[d.ID] = time.Since(t0)
			mu.Unlock()
		}(d)
	}
	wg.Wait()
	return out
}

func (s *Server) cmdCreateClose(ctx context.Context, r *request) reply {
	return s.createClose(ctx, r, true, nil, nil)
}

// createClose is create_close; attr, when not nil, is the mogfs_attr row
// written with the file (mogfs_create_close), s3m the s3_meta row
// (s3_create_close). With useTemps it may take the tempfile row
// from s.temps instead of the database. Such a row is trusted only on the
// way to the commit (which fails with no_temp_file if the row is gone):
// every other outcome is decided again by a call reading the database,
// before anything is discarded.
func (s *Server) createClose(ctx context.Context, r *request, useTemps bool, attr *store.MogfsAttr, s3m *store.S3Meta) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	if !r.truthy("fid") {
		return errReply("no_fid", "")
	}
	fid := numPrefix(r.arg("fid"))
	if !r.truthy("devid") {
		return errReply("no_devid", "")
	}
	devid := int(numPrefix(r.arg("devid")))
	if !r.truthy("path") {
		return errReply("no_path", "")
	}
	path := r.arg("path")
	var sum *store.Checksum
	if r.truthy("checksum") {
		t, b, err := parseChecksum(r.arg("checksum"))
		if err != nil {
			return errReply("invalid_checksum_format", "")
		}
		sum = &store.Checksum{FID: fid, HashType: t, Sum: b}
	}
	snap := s.cl.Snapshot()
	dev := snap.Device(devid)
	if dev == nil || dev.Host == nil || fid <= 0 || path != dev.PutURL(fid, r.zone) {
		return errReply("bogus_args", "")
	}
	var tf store.Tempfile
	cached := false
	if useTemps {
		tf, cached = s.temps.take(fid)
	}
	if !cached {
		var err error
		tf, err = s.st.Tempfile(ctx, fid)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errReply("no_temp_file", "")
			}
			return s.failure(r, err)
		}
	}
	key, hasKey := r.key("key")
	// discard turns the upload into a deletion so that no orphan stays.
	discard := func(why string) {
		if err := s.st.DiscardTempfile(ctx, fid, []int{devid}); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("cannot discard upload", "fid", fid, "devid", devid, "err", err)
			return
		}
		s.log.Info("upload discarded", "fid", fid, "devid", devid, "key", key, "reason", why)
	}
	inTemp := false
	for _, d := range tf.DevIDs {
		if d == devid {
			inTemp = true
		}
	}
	if cached && (!inTemp || !hasKey || len(key) > maxKeyLen) {
		return s.createClose(ctx, r, false, attr, s3m)
	}
	if !inTemp {
		discard("invalid_destdev")
		return errReply("invalid_destdev", "File uploaded to invalid dest "+strconv.Itoa(devid)+". Valid devices were: "+joinInts(tf.DevIDs))
	}
	if !hasKey {
		discard("no key")
		return okReply(nil)
	}
	if len(key) > maxKeyLen {
		discard("key too long")
		return errReply("db", fmt.Sprintf("Key longer than %d bytes", maxKeyLen))
	}
	want := numPrefix(r.arg("size"))
	if want == 0 {
		want = -1
	}
	size, err := s.nodes.Size(ctx, path)
	if cached && (err != nil || want > -1 && want != size) {
		return s.createClose(ctx, r, false, attr, s3m)
	}
	if err != nil {
		kind := "cantreach"
		if errors.Is(err, nodeclient.ErrMissing) {
			kind = "missing"
		}
		discard("size_verify_error")
		return errReply("size_verify_error", fmt.Sprintf("Expected: %d; actual: 0 (%s); path: %s; error: %v", want, kind, path, err))
	}
	if want > -1 && want != size {
		discard("size_mismatch")
		return errReply("size_mismatch", fmt.Sprintf("Expected: %d; actual: %d; path: %s", want, size, path))
	}
	if sum != nil && r.truthy("checksumverify") {
		alg := cluster.HashName(sum.HashType)
		actual, err := s.nodes.Digest(ctx, dev.Host.IP(r.zone), dev.Path(fid), path, alg, "", size)
		if cached && (err != nil || !equalBytes(actual, sum.Sum)) {
			return s.createClose(ctx, r, false, attr, s3m)
		}
		if err != nil || !equalBytes(actual, sum.Sum) {
			discard("checksum_mismatch")
			if err != nil {
				s.log.Warn("checksum verification failed", "fid", fid, "devid", devid, "err", err)
			}
			return errReply("checksum_mismatch", fmt.Sprintf("Expected: Checksum[f=%d;%s=%s]; actual: %s:%s; path: %s",
				fid, alg, hex.EncodeToString(sum.Sum), alg, hex.EncodeToString(actual), path))
		}
	}
	// The checksum is kept only if the class stores that hash type.
	if sum != nil {
		c := dom.ClassByID(tf.ClassID)
		if c == nil || c.HashType == store.HashNone || c.HashType != sum.HashType {
			sum = nil
		}
	}
	old, err := s.st.CommitFile(ctx, store.CloseFile{
		FID: fid, DevID: devid, DomainID: dom.ID, Key: key, ClassID: tf.ClassID, Length: size, Checksum: sum,
		Replicated: s.oneCopyEnough(fid, dom.ClassByID(tf.ClassID), dev, sum != nil), Attr: attr,
		Name: mogfsLongName(r, attr), ResolveNames: attr != nil, S3: s3m,
	})
	s.cache.InvalidateKey(dom.ID, key)
	s.cache.InvalidateFID(fid)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("no_temp_file", "")
	case errors.Is(err, store.ErrFIDExists):
		return errReply("fid_exists", "")
	case err != nil:
		return s.failure(r, err)
	}
	if old != 0 {
		s.cache.InvalidateFID(old)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("file stored", "fid", fid, "key", key, "domain", dom.Name, "devid", devid, "length", size, "replaced_fid", old)
	}
	return okReply(nil)
}

// oneCopyEnough reports whether the copy just written on dev already
// meets the class policy, so that queueing a replication job would only
// make the replicator read the file's rows to find nothing to do (the
// original queues one for every file). It holds for a class of
// mindevcount 1 whose policy is happy with this one copy, when the class
// stores no checksum or the client gave it (else the replicator computes
// it on its first copy).
func (s *Server) oneCopyEnough(fid int64, c *cluster.Class, dev *cluster.Device, haveSum bool) bool {
	if c == nil || c.MinDevCount > 1 || (c.HashType != store.HashNone && !haveSum) || dev.State().Dead {
		return false
	}
	pol, err := s.policies.Parse(c.ReplPolicy)
	if err != nil {
		return false
	}
	d := dev.PolicyDevice()
	return pol.ReplicateTo(policy.Request{
		FID: fid, On: []policy.Device{d}, All: []policy.Device{d}, Failed: map[int]bool{}, Min: 1,
	}).MeetsPolicy()
}

func equalBytes(a, b []byte) bool { return len(a) == len(b) && string(a) == string(b) }

// lookup finds (fid, length, devids) of a key; with noverify the answer
// may come from the in-process cache.
func (s *Server) lookup(ctx context.Context, dmid int, key string, useCache bool) (fidcache.Entry, error) {
	if useCache {
		if e, ok := s.cache.Get(dmid, key); ok {
			return e, nil
		}
	}
	tok := s.cache.Begin()
	f, devids, err := s.st.FileByKeyDevIDs(ctx, dmid, key)
	if err != nil {
		return fidcache.Entry{}, err
	}
	e := fidcache.Entry{FID: f.FID, Length: f.Length, DevIDs: devids}
	s.cache.Put(tok, dmid, key, e)
	return e, nil
}

func (s *Server) cmdGetPaths(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	pathcount := 2
	if v := r.arg("pathcount"); v != "" && v != "0" {
		if n := numPrefix(v); n > 2 {
			pathcount = int(min(n, 1<<20))
		}
	}
	noverify := r.truthy("noverify")
	e, err := s.lookup(ctx, dom.ID, key, noverify)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errReply("unknown_key", "")
		}
		return s.failure(r, err)
	}
	paths := s.readPaths(ctx, e, r.zone, pathcount, noverify)
	a := make(wire.Args, len(paths)+2)
	a["paths"] = strconv.Itoa(len(paths))
	for i, p := range paths {
		a["path"+strconv.Itoa(i+1)] = p
	}
	return okReply(a)
}

// readPaths lists up to pathcount URLs of e's copies in get_paths'
// order for zone: readable devices first (the first one's size checked
// unless noverify), draining ones after them, a device that should not
// be read from only when nothing else is left.
func (s *Server) readPaths(ctx context.Context, e fidcache.Entry, zone cluster.Zone, pathcount int, noverify bool) []string {
	snap := s.cl.Snapshot()
	var paths, drain []string
	backup := ""
	for _, d := range snap.ReadOrder(e.DevIDs) {
		if d.Host == nil {
			continue
		}
		url := d.GetURL(e.FID, zone)
		if !d.ShouldReadFrom() {
			backup = url
			continue
		}
		if len(paths) == 0 && !noverify {
			n, err := s.nodes.Size(ctx, url)
			if err != nil || n != e.Length {
				s.log.Debug("get_paths: copy failed size check", "fid", e.FID, "devid", d.ID, "url", url, "size", n, "err", err)
				continue
			}
		}
		if d.State().Drain {
			drain = append(drain, url)
			continue
		}
		paths = append(paths, url)
		if len(paths) == pathcount {
			break
		}
	}
	for _, p := range drain {
		if len(paths) >= pathcount {
			break
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 && backup != "" {
		paths = append(paths, backup)
	}
	return paths
}

func (s *Server) cmdDelete(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	f, err := s.st.FileByKey(ctx, dom.ID, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errReply("unknown_key", "")
		}
		return s.failure(r, err)
	}
	err = s.st.DeleteKey(ctx, dom.ID, key, f.FID)
	s.cache.InvalidateKey(dom.ID, key)
	s.cache.InvalidateFID(f.FID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errReply("unknown_key", "")
		}
		return s.failure(r, err)
	}
	s.dropLongName(ctx, dom.ID, key)
	s.log.Debug("file deleted", "fid", f.FID, "key", key, "domain", dom.Name)
	return okReply(nil)
}

func (s *Server) cmdRename(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	from, ok1 := r.key("from_key")
	to, ok2 := r.key("to_key")
	if !ok1 || !ok2 {
		return errReply("no_key", "")
	}
	if len(to) > maxKeyLen {
		return errReply("db", fmt.Sprintf("Key longer than %d bytes", maxKeyLen))
	}
	err := s.st.RenameFile(ctx, dom.ID, from, to)
	s.cache.InvalidateKey(dom.ID, from)
	s.cache.InvalidateKey(dom.ID, to)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("unknown_key", "")
	case errors.Is(err, store.ErrExists):
		return errReply("key_exists", "")
	case err != nil:
		return s.failure(r, err)
	}
	s.dropLongName(ctx, dom.ID, from)
	s.log.Debug("file renamed", "domain", dom.Name, "key", from, "to", to)
	return okReply(nil)
}

// dropLongName forgets the long key of a surrogate key that the original
// delete or rename took away (docs/mogfs-names.md): the long key names
// nothing from now on. A failure is logged; a name whose surrogate is
// gone is ignored by every command anyway.
func (s *Server) dropLongName(ctx context.Context, dmid int, key string) {
	ms, ok := s.st.(store.MogfsStore)
	if !ok || !strings.HasPrefix(key, store.SurrogatePrefix) {
		return
	}
	if err := ms.MogfsDropName(ctx, dmid, key); err != nil {
		s.log.Warn("cannot drop the long name of a surrogate key", "dmid", dmid, "key", key, "err", err)
	}
}

func (s *Server) cmdUpdateClass(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	if !r.truthy("class") {
		return errReply("no_class", "")
	}
	c := dom.ClassByName(r.arg("class"))
	if c == nil {
		return errReply("class_not_found", "")
	}
	f, err := s.st.FileByKey(ctx, dom.ID, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errReply("invalid_key", "")
		}
		return s.failure(r, err)
	}
	devids, err := s.st.FileDevIDs(ctx, f.FID)
	if err != nil {
		return s.failure(r, err)
	}
	if len(devids) == 0 {
		return errReply("no_devices", "")
	}
	if f.ClassID != c.ID {
		if err := s.st.SetFileClass(ctx, f.FID, c.ID); err != nil {
			return s.failure(r, err)
		}
		if err := s.st.Enqueue(ctx, store.QueueReplicate, store.QueueItem{FID: f.FID}, 0); err != nil {
			return s.failure(r, err)
		}
		s.log.Debug("file class changed", "fid", f.FID, "key", key, "class", c.Name)
	}
	return okReply(nil)
}

func (s *Server) cmdFileInfo(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	f, err := s.st.FileByKey(ctx, dom.ID, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errReply("unknown_key", "")
		}
		return s.failure(r, err)
	}
	snap := s.cl.Snapshot()
	a := wire.Args{
		"fid":      strconv.FormatInt(f.FID, 10),
		"domain":   snap.DomainName(f.DomainID),
		"class":    snap.ClassName(f.DomainID, f.ClassID),
		"key":      key,
		"length":   strconv.FormatInt(f.Length, 10),
		"devcount": strconv.Itoa(f.DevCount),
	}
	if c := dom.ClassByID(f.ClassID); c != nil && c.HashType != store.HashNone {
		cs, err := s.st.Checksum(ctx, f.FID)
		switch {
		case err == nil:
			a["checksum"] = checksumString(cs)
		case errors.Is(err, store.ErrNotFound):
			a["checksum"] = "MISSING"
		default:
			return s.failure(r, err)
		}
	}
	if r.truthy("devices") {
		devids, err := s.st.FileDevIDs(ctx, f.FID)
		if err != nil {
			return s.failure(r, err)
		}
		a["devids"] = joinInts(devids)
	}
	return okReply(a)
}

func (s *Server) cmdFileDebug(ctx context.Context, r *request) reply {
	var fid int64
	if r.truthy("fid") {
		fid = numPrefix(r.arg("fid"))
	} else {
		dom, rep, ok := s.checkDomain(r)
		if !ok {
			return rep
		}
		key, ok := r.key("key")
		if !ok {
			return errReply("no_key", "")
		}
		f, err := s.st.FileByKey(ctx, dom.ID, key)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errReply("unknown_key", "")
			}
			return s.failure(r, err)
		}
		fid = f.FID
	}
	fd, err := s.st.FileDebug(ctx, fid)
	if err != nil {
		return s.failure(r, err)
	}
	snap := s.cl.Snapshot()
	a := wire.Args{}
	i := func(n int) string { return strconv.Itoa(n) }
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	nz := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	if f := fd.File; f != nil {
		a["fid_fid"] = i64(f.FID)
		a["fid_dmid"] = i(f.DomainID)
		a["fid_dkey"] = f.Key
		a["fid_length"] = i64(f.Length)
		a["fid_classid"] = i(f.ClassID)
		a["fid_devcount"] = i(f.DevCount)
		a["fid_domain"] = snap.DomainName(f.DomainID)
		a["fid_class"] = snap.ClassName(f.DomainID, f.ClassID)
	}
	if t := fd.Tempfile; t != nil {
		a["tempfile_classid"] = i(t.ClassID)
		a["tempfile_dmid"] = i(t.DomainID)
		a["tempfile_dkey"] = t.Key
		a["tempfile_devids"] = joinInts(t.DevIDs)
	}
	if q := fd.Replicate; q != nil {
		a["replqueue_fid"] = i64(q.FID)
		a["replqueue_nexttry"] = i64(q.NextTry)
		a["replqueue_fromdevid"] = nz(q.FromDevID)
		a["replqueue_failcount"] = i(q.FailCount)
		a["replqueue_flags"] = i(q.Flags)
	}
	if q := fd.Delete; q != nil {
		a["delqueue_fid"] = i64(q.FID)
		a["delqueue_nexttry"] = i64(q.NextTry)
		a["delqueue_failcount"] = i(q.FailCount)
	}
	for _, qq := range []struct {
		p    string
		q    *store.QueueItem
		kind int
	}{{"rebqueue_", fd.Rebalance, 2}, {"fsckqueue_", fd.Fsck, 1}} {
		if q := qq.q; q != nil {
			a[qq.p+"fid"] = i64(q.FID)
			a[qq.p+"devid"] = nz(q.DevID)
			a[qq.p+"type"] = i(qq.kind)
			a[qq.p+"nexttry"] = i64(q.NextTry)
			a[qq.p+"failcount"] = i(q.FailCount)
			a[qq.p+"flags"] = i(q.Flags)
			a[qq.p+"arg"] = q.Arg
		}
	}
	for _, devid := range fd.DevIDs {
		if d := snap.Device(devid); d != nil && d.Host != nil {
			a["devpath_"+i(devid)] = d.GetURL(fid, r.zone)
		}
	}
	if len(fd.DevIDs) > 0 {
		a["devids"] = joinInts(fd.DevIDs)
	}
	if fd.Checksum != nil {
		a["checksum"] = checksumString(*fd.Checksum)
	} else {
		a["checksum"] = "NONE"
	}
	return okReply(a)
}

func (s *Server) cmdListKeys(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	prefix, after := r.arg("prefix"), r.arg("after")
	if prefix != "" && after != "" && after != "0" && !afterMatches(prefix, after) {
		return errReply("after_mismatch", "")
	}
	limit := int64(1000)
	if v := r.arg("limit"); v != "" && v != "0" {
		limit = numPrefix(v)
	}
	if limit > 1000 {
		limit = 1000
	}
	if limit <= 0 {
		return errReply("none_match", "")
	}
	cs := s.cl.Snapshot().SettingBool("case_sensitive_list_keys")
	keys, err := s.st.ListKeys(ctx, dom.ID, prefix, after, int(limit), cs)
	if err != nil {
		return s.failure(r, err)
	}
	if len(keys) == 0 {
		return errReply("none_match", "")
	}
	a := wire.Args{"key_count": strconv.Itoa(len(keys))}
	next := ""
	for i, k := range keys {
		a["key_"+strconv.Itoa(i+1)] = k
		if k > next {
			next = k
		}
	}
	a["next_after"] = next
	return okReply(a)
}

// afterMatches is the original's "$after =~ /^$prefix/": the prefix is
// used as a regular expression. A prefix that is not a valid expression
// is compared literally (the original fails the command instead).
func afterMatches(prefix, after string) bool {
	re, err := regexp.Compile("^(?:" + prefix + ")")
	if err != nil {
		return strings.HasPrefix(after, prefix)
	}
	return re.MatchString(after)
}

func (s *Server) cmdListFids(ctx context.Context, r *request) reply {
	from := numPrefix(r.arg("from"))
	count := numPrefix(r.arg("to"))
	if count == 0 {
		count = 100
	}
	if count > 500 || count < 0 {
		count = 500
	}
	files, err := s.st.ListFiles(ctx, from, int(count))
	if err != nil {
		return s.failure(r, err)
	}
	snap := s.cl.Snapshot()
	a := wire.Args{"fid_count": strconv.Itoa(len(files))}
	for i, f := range files {
		p := "fid_" + strconv.Itoa(i+1) + "_"
		a[p+"fid"] = strconv.FormatInt(f.FID, 10)
		a[p+"domain"] = snap.DomainName(f.DomainID)
		a[p+"class"] = snap.ClassName(f.DomainID, f.ClassID)
		a[p+"key"] = f.Key
		a[p+"length"] = strconv.FormatInt(f.Length, 10)
		a[p+"devcount"] = strconv.Itoa(f.DevCount)
	}
	return okReply(a)
}

// cmdEditFile is the original's experimental edit_file: it moves one
// readable copy of the key's file to a new fid registered as a tempfile,
// for the client to MOVE, edit with ranged PUTs and create_close. (The
// original needs memcache for it; this tracker does not.)
func (s *Server) cmdEditFile(ctx context.Context, r *request) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	f, err := s.st.FileByKey(ctx, dom.ID, key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errReply("unknown_key", "")
		}
		return s.failure(r, err)
	}
	devids, err := s.st.FileDevIDs(ctx, f.FID)
	if err != nil {
		return s.failure(r, err)
	}
	snap := s.cl.Snapshot()
	var dev *cluster.Device
	for _, d := range snap.ReadOrder(devids) {
		if d.ShouldReadFrom() {
			dev = d
			break
		}
	}
	if dev == nil {
		return errReply("no_devices", "")
	}
	newFID, err := s.st.RegisterTempfile(ctx, store.Tempfile{DomainID: dom.ID, Key: key, ClassID: f.ClassID, DevIDs: []int{dev.ID}})
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			return errReply("fid_in_use", "")
		}
		s.log.Error("Error registering tempfile", "key", key, "err", err)
		return errReply("db", "")
	}
	skip := s.skipDevcount()
	if err := s.st.RemoveFileOn(ctx, f.FID, dev.ID, skip); err != nil {
		s.log.Error("edit_file: cannot remove fid from device", "fid", f.FID, "devid", dev.ID, "err", err)
		return errReply("db", "")
	}
	if err := s.st.AddFileOn(ctx, newFID, dev.ID, true); err != nil {
		s.log.Error("edit_file: cannot add fid to device", "fid", newFID, "devid", dev.ID, "err", err)
		return errReply("db", "")
	}
	s.cache.InvalidateKey(dom.ID, key)
	s.cache.InvalidateFID(f.FID)
	return okReply(wire.Args{
		"oldpath": dev.GetURL(f.FID, r.zone),
		"newpath": dev.GetURL(newFID, r.zone),
		"fid":     strconv.FormatInt(newFID, 10),
		"devid":   strconv.Itoa(dev.ID),
		"class":   strconv.Itoa(f.ClassID),
	})
}

// cmdHTTPCopy copies fid from device sdevid to ddevid through the tracker
// and records the new copy (the original's ops helper).
func (s *Server) cmdHTTPCopy(ctx context.Context, r *request) reply {
	sdevid, ddevid, fid := int(numPrefix(r.arg("sdevid"))), int(numPrefix(r.arg("ddevid"))), numPrefix(r.arg("fid"))
	snap := s.cl.Snapshot()
	src, dst := snap.Device(sdevid), snap.Device(ddevid)
	if src == nil || src.Host == nil || dst == nil || dst.Host == nil || fid <= 0 {
		return errReply("copy_err", "unknown device or fid")
	}
	f, err := s.st.FileByFID(ctx, fid)
	if err != nil {
		return errReply("copy_err", "no such fid: "+err.Error())
	}
	if err := s.copyBlob(ctx, src, dst, f); err != nil {
		return errReply("copy_err", err.Error())
	}
	if err := s.st.AddFileOn(ctx, fid, ddevid, s.skipDevcount()); err != nil {
		return errReply("copy_err", "failed to add link to database")
	}
	s.cache.InvalidateFID(fid)
	return okReply(nil)
}

func (s *Server) copyBlob(ctx context.Context, src, dst *cluster.Device, f store.File) error {
	z := cluster.Zone{}
	getURL := src.Host.BaseURL(z, !s.cfg.ReplUseGetPort) + src.Path(f.FID)
	resp, cancel, err := s.nodes.Do(ctx, "GET", getURL, nil, nil, time.Hour)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", getURL, resp.Status)
	}
	if resp.ContentLength != f.Length {
		return fmt.Errorf("GET %s: length %d, expected %d", getURL, resp.ContentLength, f.Length)
	}
	dirs := nodeproto.FIDDirs(dst.ID, f.FID)
	base := dst.Host.BaseURL(z, true)
	if !s.cl.Snapshot().SettingBool("skip_mkcol") {
		if err := s.nodes.MkcolAll(ctx, dst.ID, base, dirs[:]); err != nil {
			s.log.Warn("MKCOL failed", "devid", dst.ID, "fid", f.FID, "err", err)
		}
	}
	body := io.LimitReader(resp.Body, f.Length)
	putURL := base + dst.Path(f.FID)
	presp, pcancel, err := s.nodes.Do(ctx, "PUT", putURL, sizedReader{body, f.Length}, nil, time.Hour)
	if err != nil {
		return err
	}
	defer pcancel()
	io.Copy(io.Discard, io.LimitReader(presp.Body, 1<<16))
	presp.Body.Close()
	if presp.StatusCode < 200 || presp.StatusCode > 299 {
		return fmt.Errorf("PUT %s: %s", putURL, presp.Status)
	}
	return nil
}

// sizedReader lets net/http send a Content-Length for a streamed body.
type sizedReader struct {
	io.Reader
	n int64
}

func (s sizedReader) Len() int { return int(s.n) }
