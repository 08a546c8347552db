package tracker

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// commandTable maps protocol commands to handlers.
func (s *Server) commandTable() map[string]handler {
	t := map[string]handler{
		// File commands.
		"create_open":  s.cmdCreateOpen,
		"create_close": s.cmdCreateClose,
		"get_paths":    s.cmdGetPaths,
		"delete":       s.cmdDelete,
		"rename":       s.cmdRename,
		"updateclass":  s.cmdUpdateClass,
		"file_info":    s.cmdFileInfo,
		"file_debug":   s.cmdFileDebug,
		"list_keys":    s.cmdListKeys,
		"list_fids":    s.cmdListFids,
		"edit_file":    s.cmdEditFile,
		"httpcopy":     s.cmdHTTPCopy,
		// Namespace, hosts and devices.
		"create_domain": s.cmdCreateDomain,
		"delete_domain": s.cmdDeleteDomain,
		"get_domains":   s.cmdGetDomains,
		"create_class":  func(ctx context.Context, r *request) reply { return s.cmdCreateClass(ctx, r, false) },
		"update_class":  func(ctx context.Context, r *request) reply { return s.cmdCreateClass(ctx, r, true) },
		"delete_class":  s.cmdDeleteClass,
		"create_host":   func(ctx context.Context, r *request) reply { return s.cmdCreateHost(ctx, r, false) },
		"update_host":   func(ctx context.Context, r *request) reply { return s.cmdCreateHost(ctx, r, true) },
		"delete_host":   s.cmdDeleteHost,
		"get_hosts":     s.cmdGetHosts,
		"create_device": s.cmdCreateDevice,
		"get_devices":   s.cmdGetDevices,
		"set_state":     s.cmdSetState,
		"set_weight":    s.cmdSetWeight,
		// Settings and control.
		"server_setting":     s.cmdServerSetting,
		"server_settings":    s.cmdServerSettings,
		"set_server_setting": s.cmdSetServerSetting,
		"replicate_now":      s.cmdReplicateNow,
		"clear_cache":        s.cmdClearCache,
		"do_monitor_round":   s.cmdDoMonitorRound,
		"noop":               func(context.Context, *request) reply { return okReply(nil) },
		"test":               s.cmdTest,
		"sleep":              s.cmdSleep,
		// fsck and rebalance.
		"fsck_start":           s.cmdFsckStart,
		"fsck_stop":            s.cmdFsckStop,
		"fsck_reset":           s.cmdFsckReset,
		"fsck_clearlog":        s.cmdFsckClearLog,
		"fsck_getlog":          s.cmdFsckGetLog,
		"fsck_status":          s.cmdFsckStatus,
		"rebalance_status":     s.cmdRebalanceStatus,
		"rebalance_start":      s.cmdRebalanceStart,
		"rebalance_test":       s.cmdRebalanceTest,
		"rebalance_reset":      s.cmdRebalanceReset,
		"rebalance_stop":       s.cmdRebalanceStop,
		"rebalance_set_policy": s.cmdRebalanceSetPolicy,
	}
	for name, h := range s.fastpathCommands() {
		t[name] = h
	}
	return t
}

// failure logs err and answers ERR failure.
func (s *Server) failure(r *request, err error) reply {
	s.log.Error("command failed", "cmd", r.cmd, "err", err)
	return errReply("failure", "")
}

// fresh reloads the cluster view from the database (admin commands work
// on current rows, as the original's admin commands read the database).
func (s *Server) fresh(ctx context.Context) (*cluster.Snapshot, error) {
	if err := s.cl.Reload(ctx); err != nil {
		return nil, err
	}
	return s.cl.Snapshot(), nil
}

// refreshed finishes an admin change: the original's implicit clear_cache
// (reload and wait for a monitor round) before answering.
func (s *Server) refreshed(ctx context.Context, r *request, a wire.Args) reply {
	if err := s.cl.Refresh(ctx); err != nil {
		s.log.Warn("refresh after admin change failed", "cmd", r.cmd, "err", err)
	}
	return okReply(a)
}

func (s *Server) cmdClearCache(ctx context.Context, r *request) reply {
	if err := s.cl.Refresh(ctx); err != nil {
		return s.failure(r, err)
	}
	a := wire.Args{}
	for k, v := range r.args {
		a[k] = v
	}
	return okReply(a)
}

func (s *Server) cmdDoMonitorRound(ctx context.Context, r *request) reply {
	if err := s.cl.Refresh(ctx); err != nil {
		return s.failure(r, err)
	}
	return okReply(nil)
}

func (s *Server) cmdTest(_ context.Context, r *request) reply {
	if r.truthy("crash") {
		s.log.Error("Error running command 'test': Crashed on purpose", watchlog.Job("queryworker"))
		return errReply("failure", "")
	}
	return okReply(nil)
}

func (s *Server) cmdSleep(ctx context.Context, r *request) reply {
	d := 10.0
	if v := r.arg("duration"); v != "" && v != "0" {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 {
			f = 0
		}
		d = f
	}
	t := time.NewTimer(time.Duration(d * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-s.stopping: // shutting down: do not hold it up
	}
	return okReply(nil)
}

// ---- domains and classes ----

func (s *Server) cmdCreateDomain(ctx context.Context, r *request) reply {
	name := r.arg("domain")
	if !r.truthy("domain") {
		return errReply("no_domain", "")
	}
	if len(name) > 255 {
		return errReply("failure", "Domain name longer than 255 bytes")
	}
	if _, err := s.st.CreateDomain(ctx, name); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errReply("domain_exists", "")
		}
		s.log.Error("create_domain failed", "domain", name, "err", err)
		return errReply("failure", err.Error())
	}
	s.log.Info("domain created", "domain", name)
	return s.refreshed(ctx, r, wire.Args{"domain": name})
}

func (s *Server) cmdDeleteDomain(ctx context.Context, r *request) reply {
	name := r.arg("domain")
	if !r.truthy("domain") {
		return errReply("no_domain", "")
	}
	snap, err := s.fresh(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	d := snap.DomainByName(name)
	if d == nil {
		return errReply("domain_not_found", "")
	}
	has, err := s.st.DomainHasFiles(ctx, d.ID)
	if err != nil {
		return s.failure(r, err)
	}
	if has {
		return errReply("domain_has_files", "")
	}
	for _, c := range d.Classes {
		if c.ID != 0 {
			return errReply("domain_has_classes", "")
		}
	}
	if err := s.st.DeleteDomain(ctx, d.ID); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("domain deleted", "domain", name)
	return s.refreshed(ctx, r, wire.Args{"domain": name})
}

func (s *Server) cmdGetDomains(_ context.Context, _ *request) reply {
	snap := s.cl.Snapshot()
	a := wire.Args{}
	for i, d := range snap.Domains {
		p := "domain" + strconv.Itoa(i+1)
		a[p] = d.Name
		for j, c := range d.Classes {
			cp := p + "class" + strconv.Itoa(j+1)
			a[cp+"name"] = c.Name
			a[cp+"mindevcount"] = strconv.Itoa(c.MinDevCount)
			a[cp+"replpolicy"] = c.ReplPolicyString()
			a[cp+"hashtype"] = c.HashName()
		}
		a[p+"classes"] = strconv.Itoa(len(d.Classes))
	}
	a["domains"] = strconv.Itoa(len(snap.Domains))
	return okReply(a)
}

func (s *Server) cmdCreateClass(ctx context.Context, r *request, update bool) reply {
	domain, class := r.arg("domain"), r.arg("class")
	if domain == "" {
		return errReply("no_domain", "")
	}
	if class == "" {
		return errReply("no_class", "")
	}
	mindev := numPrefix(r.arg("mindevcount"))
	if mindev <= 0 {
		return errReply("invalid_mindevcount", "")
	}
	if mindev > 255 {
		return errReply("invalid_mindevcount", "The mindevcount must be between 1 and 255")
	}
	repl := r.arg("replpolicy")
	if repl == "0" {
		repl = ""
	}
	if repl != "" {
		if _, err := policy.Parse(repl); err != nil {
			return errReply("invalid_replpolicy", err.Error())
		}
		if len(repl) > 255 {
			return errReply("invalid_replpolicy", "Policy longer than 255 bytes")
		}
	}
	hashSet := false
	hash := store.HashNone
	if ht := r.arg("hashtype"); ht != "" && ht != "0" {
		hashSet = true
		if ht != "NONE" {
			t, ok := cluster.HashTypeOf(ht)
			if !ok {
				return errReply("invalid_hashtype", "")
			}
			hash = t
		}
	}
	if len(class) > 50 {
		return errReply("failure", "Class name longer than 50 bytes")
	}
	snap, err := s.fresh(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	d := snap.DomainByName(domain)
	if d == nil {
		return errReply("domain_not_found", "")
	}
	existing := d.ClassByName(class)
	if existing != nil && existing.Implicit {
		existing = nil
	}
	if update && existing == nil && class == "default" {
		update = false
	}
	if update {
		if existing == nil {
			return errReply("class_not_found", "")
		}
		c := existing.Class
		c.MinDevCount = int(mindev)
		if repl != "" {
			c.ReplPolicy = repl
		}
		if hashSet {
			c.HashType = hash
		}
		if err := s.st.UpdateClass(ctx, c); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errReply("class_not_found", "")
			}
			return s.failure(r, err)
		}
		s.log.Info("class updated", "domain", domain, "class", class)
	} else {
		c := store.Class{DomainID: d.ID, Name: class, MinDevCount: int(mindev), ReplPolicy: repl, HashType: hash}
		if _, err := s.st.CreateClass(ctx, c); err != nil {
			if errors.Is(err, store.ErrExists) {
				return errReply("class_exists", "")
			}
			s.log.Error("create_class failed", "domain", domain, "class", class, "err", err)
			return errReply("failure", err.Error())
		}
		s.log.Info("class created", "domain", domain, "class", class)
	}
	return s.refreshed(ctx, r, wire.Args{"class": class, "mindevcount": strconv.FormatInt(mindev, 10), "domain": domain})
}

func (s *Server) cmdDeleteClass(ctx context.Context, r *request) reply {
	domain, class := r.arg("domain"), r.arg("class")
	if domain == "" {
		return errReply("no_domain", "")
	}
	if class == "" {
		return errReply("no_class", "")
	}
	if class == "default" {
		return errReply("nodel_default_class", "")
	}
	snap, err := s.fresh(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	d := snap.DomainByName(domain)
	if d == nil {
		return errReply("domain_not_found", "")
	}
	c := d.ClassByName(class)
	if c == nil {
		return errReply("class_not_found", "")
	}
	has, err := s.st.ClassHasFiles(ctx, d.ID, c.ID)
	if err != nil {
		return s.failure(r, err)
	}
	if has {
		return errReply("class_has_files", "")
	}
	if err := s.st.DeleteClass(ctx, d.ID, c.ID); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("class deleted", "domain", domain, "class", class)
	return s.refreshed(ctx, r, wire.Args{"domain": domain, "class": class})
}

// ---- hosts and devices ----

func validPort(v string, allowEmpty bool) (int, bool) {
	if v == "" {
		return 0, allowEmpty
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}

func (s *Server) cmdCreateHost(ctx context.Context, r *request, update bool) reply {
	name := r.arg("host")
	if !r.truthy("host") {
		return errReply("no_host", "")
	}
	snap, err := s.fresh(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	existing := snap.HostByName(name)
	var h store.Host
	if update {
		if existing == nil {
			return errReply("host_not_found", "")
		}
		h = existing.Host
	} else {
		if existing != nil {
			return errReply("host_exists", "")
		}
		if !r.truthy("ip") {
			return errReply("no_ip", "")
		}
		if !r.truthy("port") {
			return errReply("no_port", "")
		}
		h = store.Host{Name: name, Status: "down", HTTPPort: 7500}
	}
	if st := r.arg("status"); st != "" && st != "0" {
		if !cluster.ValidHostState(st) {
			return errReply("unknown_state", "")
		}
		h.Status = st
	}
	if len(name) > 40 {
		return errReply("failure", "Host name longer than 40 bytes")
	}
	if v, ok := r.args["ip"]; ok {
		if !validIPv4(v) {
			return errReply("failure", "Invalid IP address "+v)
		}
		h.IP = v
	}
	if v, ok := r.args["port"]; ok {
		p, ok := validPort(v, false)
		if !ok {
			return errReply("failure", "Invalid port "+v)
		}
		h.HTTPPort = p
	}
	if v, ok := r.args["getport"]; ok {
		p, ok := validPort(v, true)
		if !ok {
			return errReply("failure", "Invalid port "+v)
		}
		h.HTTPGetPort = p
	}
	if v, ok := r.args["altip"]; ok {
		if v != "" && !validIPv4(v) {
			return errReply("failure", "Invalid IP address "+v)
		}
		h.AltIP = v
	}
	if v, ok := r.args["altmask"]; ok {
		if len(v) > 18 {
			return errReply("failure", "Invalid netmask "+v)
		}
		h.AltMask = v
	}
	if update {
		if err := s.st.UpdateHost(ctx, h); err != nil {
			if errors.Is(err, store.ErrExists) {
				return errReply("dup", "")
			}
			return s.failure(r, err)
		}
		s.log.Info("host updated", "host", name)
	} else {
		nh, err := s.st.CreateHost(ctx, h)
		if err != nil {
			if errors.Is(err, store.ErrExists) {
				return errReply("dup", "")
			}
			return s.failure(r, err)
		}
		h.ID = nh.ID
		s.log.Info("host created", "host", name, "hostid", h.ID)
	}
	return s.refreshed(ctx, r, wire.Args{"hostid": strconv.Itoa(h.ID), "hostname": name, "host": name})
}

// validIPv4: the schema's host columns hold dotted IPv4 addresses.
func validIPv4(v string) bool {
	ip := net.ParseIP(v)
	return ip != nil && ip.To4() != nil && len(v) <= 15 && strings.Count(v, ".") == 3
}

func (s *Server) cmdDeleteHost(ctx context.Context, r *request) reply {
	snap, err := s.fresh(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	h := snap.HostByName(r.arg("host"))
	if h == nil {
		return errReply("unknown_host", "")
	}
	for _, d := range snap.Devices {
		if d.HostID == h.ID {
			return errReply("host_not_empty", "")
		}
	}
	if err := s.st.DeleteHost(ctx, h.ID); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("host deleted", "host", h.Name)
	return s.refreshed(ctx, r, nil)
}

func nullInt(v sql.NullInt64) string {
	if !v.Valid {
		return ""
	}
	return strconv.FormatInt(v.Int64, 10)
}

func (s *Server) cmdGetHosts(_ context.Context, r *request) reply {
	snap := s.cl.Snapshot()
	a := wire.Args{}
	n := 0
	_, filter := r.args["hostid"]
	want := int(numPrefix(r.arg("hostid")))
	for _, h := range snap.Hosts {
		if filter && h.ID != want {
			continue
		}
		n++
		p := "host" + strconv.Itoa(n) + "_"
		a[p+"hostid"] = strconv.Itoa(h.ID)
		a[p+"status"] = h.Status
		a[p+"hostname"] = h.Name
		a[p+"hostip"] = h.Host.IP
		a[p+"http_port"] = strconv.Itoa(h.HTTPPort)
		a[p+"http_get_port"] = ""
		if h.HTTPGetPort > 0 {
			a[p+"http_get_port"] = strconv.Itoa(h.HTTPGetPort)
		}
		a[p+"altip"] = h.AltIP
		a[p+"altmask"] = h.AltMask
	}
	a["hosts"] = strconv.Itoa(n)
	return okReply(a)
}

func (s *Server) cmdGetDevices(_ context.Context, r *request) reply {
	snap := s.cl.Snapshot()
	a := wire.Args{}
	n := 0
	_, filter := r.args["devid"]
	want := int(numPrefix(r.arg("devid")))
	for _, d := range snap.Devices {
		if filter && d.ID != want {
			continue
		}
		n++
		p := "dev" + strconv.Itoa(n) + "_"
		a[p+"devid"] = strconv.Itoa(d.ID)
		a[p+"hostid"] = strconv.Itoa(d.HostID)
		a[p+"status"] = d.Status
		a[p+"weight"] = strconv.Itoa(d.Weight)
		total, used, ok := d.Usage()
		a[p+"mb_total"], a[p+"mb_used"], a[p+"mb_free"] = "", "", ""
		if ok {
			a[p+"mb_total"] = strconv.FormatInt(total, 10)
			a[p+"mb_used"] = strconv.FormatInt(used, 10)
			a[p+"mb_free"] = strconv.FormatInt(total-used, 10)
		}
		a[p+"mb_asof"] = nullInt(d.MBAsOf)
		a[p+"observed_state"] = d.Obs.State
		a[p+"utilization"] = d.Obs.Utilization
		a[p+"reject_bad_md5"] = ""
		if d.Obs.RejectBadMD5 >= 0 {
			a[p+"reject_bad_md5"] = strconv.Itoa(d.Obs.RejectBadMD5)
		}
	}
	a["devices"] = strconv.Itoa(n)
	return okReply(a)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (s *Server) cmdCreateDevice(ctx context.Context, r *request) reply {
	status := r.arg("state")
	if status == "" || status == "0" {
		status = "alive"
	}
	if !cluster.ValidDeviceState(status) {
		return errReply("invalid_state", "")
	}
	devid := r.arg("devid")
	if !r.truthy("devid") || !isDigits(devid) {
		return errReply("invalid_devid", "")
	}
	id, err := strconv.Atoi(devid)
	if err != nil || id <= 0 || id > 16777215 {
		return errReply("invalid_devid", "")
	}
	snap, err := s.fresh(ctx)
	if err != nil {
		return s.failure(r, err)
	}
	var hostid int
	switch {
	case r.truthy("hostid") && isDigits(r.arg("hostid")):
		hid, _ := strconv.Atoi(r.arg("hostid"))
		h := snap.HostByID(hid)
		if h == nil {
			return errReply("unknown_hostid", "")
		}
		hostid = h.ID
	case r.truthy("hostname"):
		h := snap.HostByName(r.arg("hostname"))
		if h == nil {
			return errReply("unknown_host", "")
		}
		hostid = h.ID
	default:
		return errReply("bad_args", "No hostid/hostname parameter")
	}
	if err := s.st.CreateDevice(ctx, store.Device{ID: id, HostID: hostid, Status: status, Weight: 100}); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errReply("existing_devid", "")
		}
		return s.failure(r, err)
	}
	s.log.Info("device created", "devid", id, "hostid", hostid, "status", status)
	return s.refreshed(ctx, r, nil)
}

// deviceOnHost does set_state's and set_weight's common checks.
func (s *Server) deviceOnHost(ctx context.Context, r *request, valid bool) (*cluster.Device, reply, bool) {
	host := r.arg("host")
	devid := numPrefix(r.arg("device"))
	if !r.truthy("host") || devid == 0 || !valid {
		return nil, errReply("bad_params", ""), false
	}
	snap, err := s.fresh(ctx)
	if err != nil {
		return nil, s.failure(r, err), false
	}
	d := snap.Device(int(devid))
	if d == nil {
		return nil, errReply("no_device", ""), false
	}
	if d.Host == nil || d.Host.Name != host {
		return nil, errReply("host_mismatch", ""), false
	}
	return d, reply{}, true
}

func (s *Server) cmdSetState(ctx context.Context, r *request) reply {
	state := r.arg("state")
	d, rep, ok := s.deviceOnHost(ctx, r, cluster.ValidDeviceState(state))
	if !ok {
		return rep
	}
	if !d.CanChangeToState(state) {
		return errReply("state_too_high", "")
	}
	if err := s.st.SetDeviceStatus(ctx, d.ID, state); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("device state changed", "devid", d.ID, "from", d.Status, "to", state)
	return s.refreshed(ctx, r, nil)
}

func (s *Server) cmdSetWeight(ctx context.Context, r *request) reply {
	weight := numPrefix(r.arg("weight"))
	d, rep, ok := s.deviceOnHost(ctx, r, weight >= 0 && weight <= 8388607)
	if !ok {
		return rep
	}
	if err := s.st.SetDeviceWeight(ctx, d.ID, int(weight)); err != nil {
		return s.failure(r, err)
	}
	s.log.Info("device weight changed", "devid", d.ID, "weight", weight)
	return s.refreshed(ctx, r, nil)
}
