package admin

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/client"
)

// Admin runs administrative commands.
type Admin struct {
	c *client.Client
}

// New returns an Admin that sends its commands through c. c's domain is
// not used.
func New(c *client.Client) *Admin { return &Admin{c: c} }

// Client returns the underlying client.
func (a *Admin) Client() *client.Client { return a.c }

func (a *Admin) do(ctx context.Context, cmd string, kv ...string) (map[string]string, error) {
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	r, err := a.c.Do(ctx, cmd, args)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Host is one host of get_hosts.
type Host struct {
	ID          int
	Name        string
	Status      string
	IP          string
	HTTPPort    int
	HTTPGetPort int // 0 = not set
	AltIP       string
	AltMask     string
}

// Hosts lists the hosts (get_hosts).
func (a *Admin) Hosts(ctx context.Context) ([]Host, error) {
	r, err := a.do(ctx, "get_hosts")
	if err != nil {
		return nil, err
	}
	n := atoi(r["hosts"])
	out := make([]Host, 0, n)
	for i := 1; i <= n; i++ {
		p := "host" + strconv.Itoa(i) + "_"
		out = append(out, Host{
			ID:          atoi(r[p+"hostid"]),
			Name:        r[p+"hostname"],
			Status:      r[p+"status"],
			IP:          r[p+"hostip"],
			HTTPPort:    atoi(r[p+"http_port"]),
			HTTPGetPort: atoi(r[p+"http_get_port"]),
			AltIP:       r[p+"altip"],
			AltMask:     r[p+"altmask"],
		})
	}
	return out, nil
}

// HostArgs are the optional properties of create_host and update_host.
// Only the fields that are set are sent (an empty string is sent when a
// field is set to "", which clears altip/altmask).
type HostArgs struct {
	IP, Port, GetPort, AltIP, AltMask, Status *string
}

// S returns a pointer to s, for HostArgs.
func S(s string) *string { return &s }

func (h HostArgs) kv(name string) []string {
	kv := []string{"host", name}
	add := func(k string, v *string) {
		if v != nil {
			kv = append(kv, k, *v)
		}
	}
	add("ip", h.IP)
	add("port", h.Port)
	add("getport", h.GetPort)
	add("altip", h.AltIP)
	add("altmask", h.AltMask)
	add("status", h.Status)
	return kv
}

// CreateHost adds a host (create_host); ip and port are required by the
// tracker.
func (a *Admin) CreateHost(ctx context.Context, name string, h HostArgs) error {
	_, err := a.do(ctx, "create_host", h.kv(name)...)
	return err
}

// UpdateHost changes a host's properties (update_host).
func (a *Admin) UpdateHost(ctx context.Context, name string, h HostArgs) error {
	_, err := a.do(ctx, "update_host", h.kv(name)...)
	return err
}

// DeleteHost removes a host that has no devices (delete_host).
func (a *Admin) DeleteHost(ctx context.Context, name string) error {
	_, err := a.do(ctx, "delete_host", "host", name)
	return err
}

// Device is one device of get_devices. Sizes the tracker does not know
// yet are 0 (and MBFree -1).
type Device struct {
	ID            int
	HostID        int
	Status        string
	Weight        int
	MBTotal       int64
	MBUsed        int64
	MBFree        int64
	ObservedState string // writeable, readable, unreachable or ""
	Utilization   string // iostat %util text or ""
	RejectBadMD5  string
}

// Devices lists the devices (get_devices).
func (a *Admin) Devices(ctx context.Context) ([]Device, error) {
	r, err := a.do(ctx, "get_devices")
	if err != nil {
		return nil, err
	}
	n := atoi(r["devices"])
	out := make([]Device, 0, n)
	for i := 1; i <= n; i++ {
		p := "dev" + strconv.Itoa(i) + "_"
		d := Device{
			ID:            atoi(r[p+"devid"]),
			HostID:        atoi(r[p+"hostid"]),
			Status:        r[p+"status"],
			Weight:        atoi(r[p+"weight"]),
			MBTotal:       atoi64(r[p+"mb_total"]),
			MBUsed:        atoi64(r[p+"mb_used"]),
			MBFree:        -1,
			ObservedState: r[p+"observed_state"],
			Utilization:   r[p+"utilization"],
			RejectBadMD5:  r[p+"reject_bad_md5"],
		}
		if v := r[p+"mb_free"]; v != "" {
			d.MBFree = atoi64(v)
		}
		out = append(out, d)
	}
	return out, nil
}

// CreateDevice adds device devid to the host named hostname with state
// ("" = alive).
func (a *Admin) CreateDevice(ctx context.Context, hostname string, devid int, state string) error {
	kv := []string{"hostname", hostname, "devid", strconv.Itoa(devid)}
	if state != "" {
		kv = append(kv, "state", state)
	}
	_, err := a.do(ctx, "create_device", kv...)
	return err
}

// SetDeviceState changes a device's state (set_state).
func (a *Admin) SetDeviceState(ctx context.Context, host string, devid int, state string) error {
	_, err := a.do(ctx, "set_state", "host", host, "device", strconv.Itoa(devid), "state", state)
	return err
}

// SetDeviceWeight changes a device's weight (set_weight).
func (a *Admin) SetDeviceWeight(ctx context.Context, host string, devid int, weight int) error {
	_, err := a.do(ctx, "set_weight", "host", host, "device", strconv.Itoa(devid), "weight", strconv.Itoa(weight))
	return err
}

// Domains lists domains with their classes (get_domains).
func (a *Admin) Domains(ctx context.Context) ([]client.DomainInfo, error) {
	return a.c.Domains(ctx)
}

// CreateDomain adds a domain.
func (a *Admin) CreateDomain(ctx context.Context, domain string) error {
	r, err := a.do(ctx, "create_domain", "domain", domain)
	if err != nil {
		return err
	}
	if r["domain"] != domain {
		return fmt.Errorf("create_domain: tracker echoed domain %q, not %q", r["domain"], domain)
	}
	return nil
}

// DeleteDomain removes an empty domain.
func (a *Admin) DeleteDomain(ctx context.Context, domain string) error {
	_, err := a.do(ctx, "delete_domain", "domain", domain)
	return err
}

// ClassArgs are the properties of create_class and update_class.
type ClassArgs struct {
	MinDevCount int    // required by the tracker (≥ 1)
	ReplPolicy  string // sent as given ("" keeps the default)
	HashType    string // "MD5", "SHA-1", "NONE"; "" = not sent
}

func (c ClassArgs) kv(domain, class string) []string {
	kv := []string{"domain", domain, "class", class, "mindevcount", strconv.Itoa(c.MinDevCount), "replpolicy", c.ReplPolicy}
	if c.HashType != "" {
		kv = append(kv, "hashtype", c.HashType)
	}
	return kv
}

// CreateClass adds a class to a domain.
func (a *Admin) CreateClass(ctx context.Context, domain, class string, c ClassArgs) error {
	return a.modClass(ctx, "create_class", domain, class, c)
}

// UpdateClass changes a class.
func (a *Admin) UpdateClass(ctx context.Context, domain, class string, c ClassArgs) error {
	return a.modClass(ctx, "update_class", domain, class, c)
}

func (a *Admin) modClass(ctx context.Context, cmd, domain, class string, c ClassArgs) error {
	r, err := a.do(ctx, cmd, c.kv(domain, class)...)
	if err != nil {
		return err
	}
	a.c.ForgetClasses()
	if r["class"] != class {
		return fmt.Errorf("%s: tracker echoed class %q, not %q", cmd, r["class"], class)
	}
	return nil
}

// DeleteClass removes a class without files.
func (a *Admin) DeleteClass(ctx context.Context, domain, class string) error {
	_, err := a.do(ctx, "delete_class", "domain", domain, "class", class)
	a.c.ForgetClasses()
	return err
}

// ServerSettings returns the stored server settings (server_settings).
func (a *Admin) ServerSettings(ctx context.Context) (map[string]string, error) {
	r, err := a.do(ctx, "server_settings")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	n := atoi(r["key_count"])
	for i := 1; i <= n; i++ {
		s := strconv.Itoa(i)
		out[r["key_"+s]] = r["value_"+s]
	}
	return out, nil
}

// ServerSetting returns one setting ("" if unset).
func (a *Admin) ServerSetting(ctx context.Context, key string) (string, error) {
	r, err := a.do(ctx, "server_setting", "key", key)
	if err != nil {
		return "", err
	}
	return r["value"], nil
}

// SetServerSetting sets a writable server setting.
func (a *Admin) SetServerSetting(ctx context.Context, key, value string) error {
	_, err := a.do(ctx, "set_server_setting", "key", key, "value", value)
	return err
}

// ReplicateNow makes every delayed replication due now; it returns the
// number of queue rows changed.
func (a *Admin) ReplicateNow(ctx context.Context) (int64, error) {
	r, err := a.do(ctx, "replicate_now")
	if err != nil {
		return 0, err
	}
	return atoi64(r["count"]), nil
}

// ClearCache makes the tracker reload its caches and waits for it.
func (a *Admin) ClearCache(ctx context.Context) error {
	_, err := a.do(ctx, "clear_cache", "all", "1")
	return err
}

// ListFids lists files by fid (list_fids); see client.ListFids.
func (a *Admin) ListFids(ctx context.Context, from int64, count int) ([]client.FidInfo, error) {
	return a.c.ListFids(ctx, from, count)
}

// Stat is one line of the tracker's "!stats" answer.
type Stat struct {
	Name  string
	Value string
}

// Stats returns the tracker's "!stats" counters (uptime, pending_queries,
// queries, ...) in the order the tracker sent them.
func (a *Admin) Stats(ctx context.Context) ([]Stat, error) {
	lines, err := a.c.AdminCommand(ctx, "!stats")
	if err != nil {
		return nil, err
	}
	out := make([]Stat, 0, len(lines))
	for _, l := range lines {
		k, v, _ := strings.Cut(l, " ")
		out = append(out, Stat{Name: k, Value: v})
	}
	return out, nil
}

// Slave is a read-slave database entry (server settings slave_keys and
// slave_<key> = "dsn|user|pass").
type Slave struct {
	Key, DSN, Username, Password string
}

func (a *Admin) slaveKeys(ctx context.Context) ([]string, map[string]string, error) {
	v, err := a.ServerSetting(ctx, "slave_keys")
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	weights := map[string]string{}
	for _, s := range strings.Split(v, ",") {
		if s == "" {
			continue
		}
		k, w, _ := strings.Cut(s, "=")
		if _, dup := weights[k]; !dup {
			keys = append(keys, k)
		}
		weights[k] = w
	}
	return keys, weights, nil
}

func (a *Admin) setSlaveKeys(ctx context.Context, keys []string, weights map[string]string) error {
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if w := weights[k]; w != "" && w != "1" {
			k += "=" + w
		}
		parts = append(parts, k)
	}
	return a.SetServerSetting(ctx, "slave_keys", strings.Join(parts, ","))
}

// Slaves lists the read slaves, sorted by key.
func (a *Admin) Slaves(ctx context.Context) ([]Slave, error) {
	keys, _, err := a.slaveKeys(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out []Slave
	for _, k := range keys {
		v, err := a.ServerSetting(ctx, "slave_"+k)
		if err != nil {
			return nil, err
		}
		p := strings.SplitN(v, "|", 3)
		for len(p) < 3 {
			p = append(p, "")
		}
		out = append(out, Slave{Key: k, DSN: p[0], Username: p[1], Password: p[2]})
	}
	return out, nil
}

// ErrSlaveExists and ErrNoSlave report slave_add of an existing key and
// slave_modify/delete of a missing one.
var (
	ErrSlaveExists = errors.New("slave key already exists")
	ErrNoSlave     = errors.New("no such slave key")
)

// AddSlave adds a read slave.
func (a *Admin) AddSlave(ctx context.Context, s Slave) error {
	keys, weights, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	if _, ok := weights[s.Key]; ok {
		return ErrSlaveExists
	}
	if err := a.SetServerSetting(ctx, "slave_"+s.Key, s.DSN+"|"+s.Username+"|"+s.Password); err != nil {
		return err
	}
	weights[s.Key] = ""
	return a.setSlaveKeys(ctx, append(keys, s.Key), weights)
}

// ModifySlave changes the fields of a read slave that are not nil.
func (a *Admin) ModifySlave(ctx context.Context, key string, dsn, user, pass *string) error {
	_, weights, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	if _, ok := weights[key]; !ok {
		return ErrNoSlave
	}
	v, err := a.ServerSetting(ctx, "slave_"+key)
	if err != nil {
		return err
	}
	p := strings.SplitN(v, "|", 3)
	for len(p) < 3 {
		p = append(p, "")
	}
	for i, nv := range []*string{dsn, user, pass} {
		if nv != nil {
			p[i] = *nv
		}
	}
	return a.SetServerSetting(ctx, "slave_"+key, strings.Join(p, "|"))
}

// DeleteSlave removes a read slave.
func (a *Admin) DeleteSlave(ctx context.Context, key string) error {
	keys, weights, err := a.slaveKeys(ctx)
	if err != nil {
		return err
	}
	if _, ok := weights[key]; !ok {
		return ErrNoSlave
	}
	if err := a.SetServerSetting(ctx, "slave_"+key, ""); err != nil {
		return err
	}
	kept := keys[:0]
	for _, k := range keys {
		if k != key {
			kept = append(kept, k)
		}
	}
	return a.setSlaveKeys(ctx, kept, weights)
}
