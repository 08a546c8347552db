package cluster

import (
	"net"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/tracker/policy"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Host observed states.
const (
	Reachable   = "reachable"
	Unreachable = "unreachable"
)

// Device observed states.
const (
	Writeable = "writeable"
	Readable  = "readable"
	// Unreachable (shared with hosts) is the third device state.
)

// DeviceState holds the flags of a device status (the original's
// MogileFS::DeviceState).
type DeviceState struct {
	Read     bool // can serve reads
	Write    bool // can be written to, e.g. for deletes
	NewFiles bool // gets new and replicated files
	Drain    bool // listed last by get_paths; rebalance moves files off
	Monitor  bool
	Dead     bool // permanently gone; the reaper re-replicates its files
}

var deviceStates = map[string]DeviceState{
	"alive":    {Read: true, Write: true, NewFiles: true, Monitor: true},
	"readonly": {Read: true, Monitor: true},
	"drain":    {Read: true, Write: true, Drain: true, Monitor: true},
	"down":     {},
	"dead":     {Dead: true},
}

// ValidDeviceState reports whether s is a device status: alive, readonly,
// drain, down or dead.
func ValidDeviceState(s string) bool { _, ok := deviceStates[s]; return ok }

// ValidHostState reports whether s is a host status: alive, dead, down or
// readonly.
func ValidHostState(s string) bool {
	switch s {
	case "alive", "dead", "down", "readonly":
		return true
	}
	return false
}

// StateOf returns the flags of a device status; an unknown status has the
// flags of "down".
func StateOf(status string) DeviceState { return deviceStates[status] }

// Zone says which address of a host a request should be given: the
// alternate IP when the request asked for zone=alt or when the client's
// address is inside the host's altmask.
type Zone struct {
	Alt      bool
	ClientIP net.IP
}

// Host is a host row plus what the monitor observed.
type Host struct {
	store.Host
	// Observed is Reachable, Unreachable or "" (not checked yet).
	Observed string
	altNet   *net.IPNet
}

// Alive reports host status alive.
func (h *Host) Alive() bool { return h.Status == "alive" }

// ShouldReadFrom reports host status alive or readonly.
func (h *Host) ShouldReadFrom() bool { return h.Status == "alive" || h.Status == "readonly" }

// ObservedReachable reports whether the monitor last reached the host.
func (h *Host) ObservedReachable() bool { return h.Observed == Reachable }

// GetPort is the port for reads: http_get_port, or http_port when unset.
func (h *Host) GetPort() int {
	if h.HTTPGetPort > 0 {
		return h.HTTPGetPort
	}
	return h.HTTPPort
}

// IP returns the address URLs for this host use in zone z.
func (h *Host) IP(z Zone) string {
	if h.altNet != nil && h.AltIP != "" && (z.Alt || (z.ClientIP != nil && h.altNet.Contains(z.ClientIP))) {
		return h.AltIP
	}
	return h.Host.IP
}

// BaseURL is "http://ip:port" for the upload port (put) or the get port.
func (h *Host) BaseURL(z Zone, put bool) string {
	port := h.HTTPPort
	if !put {
		port = h.GetPort()
	}
	return "http://" + h.IP(z) + ":" + strconv.Itoa(port)
}

// parseAltMask parses an altmask such as "10.0.0.0/8" (or a bare address,
// meaning a /32).
func parseAltMask(s string) *net.IPNet {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if !strings.Contains(s, "/") {
		if ip := net.ParseIP(s); ip != nil {
			if ip4 := ip.To4(); ip4 != nil {
				return &net.IPNet{IP: ip4, Mask: net.CIDRMask(32, 32)}
			}
			return &net.IPNet{IP: ip, Mask: net.CIDRMask(128, 128)}
		}
		return nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil
	}
	return n
}

// Observed is what the monitor saw of a device.
type Observed struct {
	// State is Writeable, Readable, Unreachable or "" (not checked yet).
	State string
	// Utilization is the last %util reported by the host's iostat, as
	// text ("" when unknown).
	Utilization string
	// RejectBadMD5 is 1 if the device refused an upload with a wrong
	// Content-MD5, 0 if it accepted it, -1 when not tested yet.
	RejectBadMD5 int
	// MBTotal and MBUsed come from the device's usage file; HaveUsage
	// says whether they are set.
	MBTotal, MBUsed int64
	HaveUsage       bool
}

// Device is a device row, its host (nil if the host is unknown) and what
// the monitor observed.
type Device struct {
	store.Device
	Host     *Host
	Obs      Observed
	minFree  int64
	fakeUtil string // T_FAKE_IO_DEV<n> under TESTING
	hasFake  bool
}

// State returns the flags of the device status.
func (d *Device) State() DeviceState { return StateOf(d.Status) }

// Usage returns the device's total and used MB: the monitor's latest
// reading if there is one, else the database row; ok is false when neither
// is known.
func (d *Device) Usage() (total, used int64, ok bool) {
	if d.Obs.HaveUsage {
		return d.Obs.MBTotal, d.Obs.MBUsed, d.Obs.MBTotal > 0
	}
	if d.MBTotal.Valid && d.MBTotal.Int64 > 0 && d.MBUsed.Valid {
		return d.MBTotal.Int64, d.MBUsed.Int64, true
	}
	return 0, 0, false
}

// MBFree is total-used, and whether it is known.
func (d *Device) MBFree() (int64, bool) {
	t, u, ok := d.Usage()
	if !ok {
		return 0, false
	}
	return t - u, true
}

// PercentFree is 1-used/total, or 0 when the usage is unknown.
func (d *Device) PercentFree() float64 {
	t, u, ok := d.Usage()
	if !ok {
		return 0
	}
	return 1 - float64(u)/float64(t)
}

// PercentFull is used/total, and whether it is known.
func (d *Device) PercentFull() (float64, bool) {
	t, u, ok := d.Usage()
	if !ok {
		return 0, false
	}
	return float64(u) / float64(t), true
}

// Utilization is the observed I/O utilization text ("" when unknown),
// replaced by T_FAKE_IO_DEV<devid> when the tracker runs with TESTING set.
func (d *Device) Utilization() string {
	if d.hasFake {
		return d.fakeUtil
	}
	return d.Obs.Utilization
}

func (d *Device) hostOK() bool { return d.Host != nil && d.Host.ObservedReachable() }

// ObservedWriteable: the monitor saw the device writeable on a reachable host.
func (d *Device) ObservedWriteable() bool { return d.hostOK() && d.Obs.State == Writeable }

// ObservedReadable: the monitor saw the device readable (only) on a
// reachable host.
func (d *Device) ObservedReadable() bool { return d.hostOK() && d.Obs.State == Readable }

// ObservedUnreachable: the host is not reachable or the device was seen
// unreachable.
func (d *Device) ObservedUnreachable() bool { return !d.hostOK() || d.Obs.State == Unreachable }

// CanReadFrom: host alive or readonly and the device status allows reads
// (what the monitor polls).
func (d *Device) CanReadFrom() bool {
	return d.Host != nil && d.Host.ShouldReadFrom() && d.State().Read
}

// ShouldReadFrom: CanReadFrom and observed readable or writeable.
func (d *Device) ShouldReadFrom() bool {
	return d.CanReadFrom() && (d.ObservedReadable() || d.ObservedWriteable())
}

// CanDeleteFrom: host alive and the device status allows writes.
func (d *Device) CanDeleteFrom() bool {
	return d.Host != nil && d.Host.Alive() && d.State().Write
}

// ShouldGetNewFiles: status alive, observed writeable, host alive, and at
// least min_free_space MB free when the usage is known.
func (d *Device) ShouldGetNewFiles() bool {
	if !d.State().NewFiles || !d.ObservedWriteable() || !d.Host.Alive() {
		return false
	}
	if free, ok := d.MBFree(); ok && free < d.minFree {
		return false
	}
	return true
}

// ShouldGetReplicatedFiles is the same as ShouldGetNewFiles.
func (d *Device) ShouldGetReplicatedFiles() bool { return d.ShouldGetNewFiles() }

// CanChangeToState refuses dead -> alive.
func (d *Device) CanChangeToState(s string) bool {
	return !(d.State().Dead && s == "alive")
}

// Path is the device-relative path of fid on this device.
func (d *Device) Path(fid int64) string { return nodeproto.FIDPath(d.ID, fid) }

// PutURL is the upload URL of fid on this device (host http_port); "" if
// the device has no known host.
func (d *Device) PutURL(fid int64, z Zone) string {
	if d.Host == nil {
		return ""
	}
	return d.Host.BaseURL(z, true) + d.Path(fid)
}

// GetURL is the read URL of fid on this device (host get port); "" if the
// device has no known host.
func (d *Device) GetURL(fid int64, z Zone) string {
	if d.Host == nil {
		return ""
	}
	return d.Host.BaseURL(z, false) + d.Path(fid)
}

// Domain is a domain and its classes.
type Domain struct {
	store.Domain
	// Classes are sorted by class id; the "default" class (id 0) is
	// always first, implicit or stored.
	Classes     []*Class
	classByName map[string]*Class
	classByID   map[int]*Class
}

// ClassByName finds a class of the domain by name.
func (d *Domain) ClassByName(name string) *Class { return d.classByName[name] }

// ClassByID finds a class of the domain by id.
func (d *Domain) ClassByID(id int) *Class { return d.classByID[id] }

// Class is a class row; Implicit marks the "default" class of a domain
// that has no class row for it.
type Class struct {
	store.Class
	Implicit bool
}

// HashName is the class hash type as the protocol shows it: NONE, MD5 or
// SHA-1.
func (c *Class) HashName() string { return HashName(c.HashType) }

// ReplPolicyString is the class's policy string, MultipleHosts() when unset.
func (c *Class) ReplPolicyString() string {
	if c.ReplPolicy == "" {
		return "MultipleHosts()"
	}
	return c.ReplPolicy
}

// HashName names a hash type as the protocol does.
func HashName(t store.HashType) string {
	switch t {
	case store.HashMD5:
		return "MD5"
	case store.HashSHA1:
		return "SHA-1"
	}
	return "NONE"
}

// HashTypeOf maps MD5 and SHA-1 to their hash type (ok false otherwise).
func HashTypeOf(name string) (store.HashType, bool) {
	switch name {
	case "MD5":
		return store.HashMD5, true
	case "SHA-1":
		return store.HashSHA1, true
	}
	return store.HashNone, false
}

// PolicyDevice describes the device for the replication and rebalance
// policies.
func (d *Device) PolicyDevice() policy.Device {
	pd := policy.Device{ID: d.ID, HostID: d.HostID, Status: d.Status, GetsNewFiles: d.ShouldGetNewFiles()}
	if d.Host != nil {
		pd.HostStatus = d.Host.Status
	}
	if t, u, ok := d.Usage(); ok {
		pd.MBTotal, pd.MBUsed = t, u
	}
	return pd
}

// PolicyDevices describes every device for the policies.
func (s *Snapshot) PolicyDevices() []policy.Device {
	out := make([]policy.Device, len(s.Devices))
	for i, d := range s.Devices {
		out[i] = d.PolicyDevice()
	}
	return out
}
