package cluster

import (
	"sort"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Snapshot is an immutable view of the cluster. Do not modify anything
// reachable from it.
type Snapshot struct {
	// Domains, Hosts and Devices are sorted by id.
	Domains []*Domain
	Hosts   []*Host
	Devices []*Device
	// Settings are the server_settings rows.
	Settings map[string]string
	// Loaded is when the database part was read (zero before the first
	// load).
	Loaded time.Time

	domainByName map[string]*Domain
	domainByID   map[int]*Domain
	hostByID     map[int]*Host
	hostByName   map[string]*Host
	deviceByID   map[int]*Device
}

// DomainByName finds a domain by name.
func (s *Snapshot) DomainByName(name string) *Domain { return s.domainByName[name] }

// DomainByID finds a domain by id.
func (s *Snapshot) DomainByID(id int) *Domain { return s.domainByID[id] }

// HostByID finds a host by id.
func (s *Snapshot) HostByID(id int) *Host { return s.hostByID[id] }

// HostByName finds a host by name.
func (s *Snapshot) HostByName(name string) *Host { return s.hostByName[name] }

// Device finds a device by id.
func (s *Snapshot) Device(id int) *Device { return s.deviceByID[id] }

// Setting returns a server setting ("" when unset).
func (s *Snapshot) Setting(key string) string { return s.Settings[key] }

// SettingBool reads a boolean setting as the original does: set, non-empty
// and not "0".
func (s *Snapshot) SettingBool(key string) bool {
	v := s.Settings[key]
	return v != "" && v != "0"
}

// ClassName returns the name of class classid of domain dmid, falling back
// to "default" for class 0 and "" for an unknown class.
func (s *Snapshot) ClassName(dmid, classid int) string {
	if d := s.domainByID[dmid]; d != nil {
		if c := d.classByID[classid]; c != nil {
			return c.Name
		}
	}
	if classid == 0 {
		return "default"
	}
	return ""
}

// DomainName returns the name of domain dmid, "" if unknown.
func (s *Snapshot) DomainName(dmid int) string {
	if d := s.domainByID[dmid]; d != nil {
		return d.Name
	}
	return ""
}

// dbData is what Reload reads from the database.
type dbData struct {
	domains  []store.Domain
	classes  []store.Class
	hosts    []store.Host
	devices  []store.Device
	settings map[string]string
	loaded   time.Time
}

type buildParams struct {
	minFreeMB          int64
	defaultMinDevCount int
	fakeUtil           map[int]string
	obsHosts           map[int]string
	obsDevs            map[int]Observed
}

func build(db *dbData, p buildParams) *Snapshot {
	s := &Snapshot{
		Settings:     db.settings,
		Loaded:       db.loaded,
		domainByName: make(map[string]*Domain, len(db.domains)),
		domainByID:   make(map[int]*Domain, len(db.domains)),
		hostByID:     make(map[int]*Host, len(db.hosts)),
		hostByName:   make(map[string]*Host, len(db.hosts)),
		deviceByID:   make(map[int]*Device, len(db.devices)),
	}
	if s.Settings == nil {
		s.Settings = map[string]string{}
	}
	for _, d := range db.domains {
		dom := &Domain{Domain: d, classByName: map[string]*Class{}, classByID: map[int]*Class{}}
		s.Domains = append(s.Domains, dom)
		s.domainByName[d.Name] = dom
		s.domainByID[d.ID] = dom
	}
	sort.Slice(s.Domains, func(i, j int) bool { return s.Domains[i].ID < s.Domains[j].ID })
	for _, c := range db.classes {
		dom := s.domainByID[c.DomainID]
		if dom == nil {
			continue
		}
		cl := &Class{Class: c}
		if c.ID == 0 && cl.Name == "" {
			cl.Name = "default"
		}
		dom.Classes = append(dom.Classes, cl)
		dom.classByID[c.ID] = cl
		dom.classByName[cl.Name] = cl
	}
	for _, dom := range s.Domains {
		if dom.classByID[0] == nil {
			def := &Class{Class: store.Class{DomainID: dom.ID, ID: 0, Name: "default", MinDevCount: p.defaultMinDevCount}, Implicit: true}
			dom.Classes = append(dom.Classes, def)
			dom.classByID[0] = def
			if dom.classByName["default"] == nil {
				dom.classByName["default"] = def
			}
		}
		sort.Slice(dom.Classes, func(i, j int) bool { return dom.Classes[i].ID < dom.Classes[j].ID })
	}
	for _, h := range db.hosts {
		host := &Host{Host: h, Observed: p.obsHosts[h.ID]}
		if h.AltIP != "" && h.AltMask != "" {
			host.altNet = parseAltMask(h.AltMask)
		}
		s.Hosts = append(s.Hosts, host)
		s.hostByID[h.ID] = host
		s.hostByName[h.Name] = host
	}
	sort.Slice(s.Hosts, func(i, j int) bool { return s.Hosts[i].ID < s.Hosts[j].ID })
	for _, d := range db.devices {
		obs, ok := p.obsDevs[d.ID]
		if !ok {
			obs.RejectBadMD5 = -1
		}
		dev := &Device{Device: d, Host: s.hostByID[d.HostID], Obs: obs, minFree: p.minFreeMB}
		if u, ok := p.fakeUtil[d.ID]; ok {
			dev.fakeUtil, dev.hasFake = u, true
		}
		s.Devices = append(s.Devices, dev)
		s.deviceByID[d.ID] = dev
	}
	sort.Slice(s.Devices, func(i, j int) bool { return s.Devices[i].ID < s.Devices[j].ID })
	return s
}
