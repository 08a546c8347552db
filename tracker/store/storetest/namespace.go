package storetest

import (
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func testNow(t *testing.T, s store.Store) {
	before := time.Now().Unix()
	now, err := s.Now(ctxT(t))
	must(t, err)
	after := time.Now().Unix()
	// The database runs on this machine's clock; allow for rounding.
	if now < before-1 || now > after+1 {
		t.Fatalf("database clock %d outside the local clock's %d..%d", now, before, after)
	}
}

func testDomains(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ds, err := s.Domains(ctx)
	must(t, err)
	if len(ds) != 0 {
		t.Fatalf("fresh database has domains %v", ds)
	}
	a, err := s.CreateDomain(ctx, "alpha")
	must(t, err)
	b, err := s.CreateDomain(ctx, "beta")
	must(t, err)
	if a.ID != 1 || b.ID != 2 || a.Name != "alpha" || b.Name != "beta" {
		t.Fatalf("created %+v %+v, want ids 1 and 2", a, b)
	}
	_, err = s.CreateDomain(ctx, "alpha")
	wantErr(t, err, store.ErrExists, "duplicate domain")

	// The default class row goes with its domain.
	_, err = s.CreateClass(ctx, store.Class{DomainID: a.ID, Name: "default", MinDevCount: 3})
	must(t, err)
	must(t, s.DeleteDomain(ctx, a.ID))
	ds, err = s.Domains(ctx)
	must(t, err)
	if !reflect.DeepEqual(ds, []store.Domain{b}) {
		t.Fatalf("after delete: %+v", ds)
	}
	cs, err := s.Classes(ctx)
	must(t, err)
	if len(cs) != 0 {
		t.Fatalf("default class survived its domain: %+v", cs)
	}
	// ids continue from the maximum.
	c, err := s.CreateDomain(ctx, "gamma")
	must(t, err)
	if c.ID != 3 {
		t.Fatalf("next domain id %d, want 3", c.ID)
	}
	// A name that is a LIKE pattern or has odd bytes is stored as is.
	odd, err := s.CreateDomain(ctx, "we%ird_ dömain")
	must(t, err)
	ds, err = s.Domains(ctx)
	must(t, err)
	if ds[len(ds)-1] != odd {
		t.Fatalf("odd domain read back as %+v, want %+v", ds[len(ds)-1], odd)
	}
}

func testClasses(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	d, err := s.CreateDomain(ctx, "d")
	must(t, err)
	d2, err := s.CreateDomain(ctx, "d2")
	must(t, err)
	c1, err := s.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "photos", MinDevCount: 2})
	must(t, err)
	c2, err := s.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "thumbs", MinDevCount: 1, ReplPolicy: "MultipleHosts(1)", HashType: store.HashMD5})
	must(t, err)
	def, err := s.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "default", MinDevCount: 3})
	must(t, err)
	other, err := s.CreateClass(ctx, store.Class{DomainID: d2.ID, Name: "photos", MinDevCount: 4, HashType: store.HashSHA1})
	must(t, err)
	if c1.ID != 1 || c2.ID != 2 || def.ID != 0 || other.ID != 1 {
		t.Fatalf("class ids %d %d %d %d, want 1 2 0 1", c1.ID, c2.ID, def.ID, other.ID)
	}
	_, err = s.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "photos", MinDevCount: 2})
	wantErr(t, err, store.ErrExists, "duplicate class")
	_, err = s.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "default", MinDevCount: 2})
	wantErr(t, err, store.ErrExists, "second default class")

	cs, err := s.Classes(ctx)
	must(t, err)
	want := []store.Class{def, c1, c2, other}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("classes\n got %+v\nwant %+v", cs, want)
	}

	c1.MinDevCount, c1.ReplPolicy, c1.HashType, c1.Name = 5, "MultipleDevices()", store.HashSHA1, "pics"
	must(t, s.UpdateClass(ctx, c1))
	c1.ReplPolicy, c1.HashType = "", store.HashNone
	must(t, s.UpdateClass(ctx, c1))
	cs, err = s.Classes(ctx)
	must(t, err)
	if cs[1] != c1 {
		t.Fatalf("updated class %+v, want %+v", cs[1], c1)
	}
	dup := c2
	dup.Name = "pics"
	wantErr(t, s.UpdateClass(ctx, dup), store.ErrExists, "rename class onto another")
	wantErr(t, s.UpdateClass(ctx, store.Class{DomainID: d.ID, ID: 99, Name: "x", MinDevCount: 1}), store.ErrNotFound, "update missing class")

	has, err := s.ClassHasFiles(ctx, d.ID, c2.ID)
	must(t, err)
	dhas, err := s.DomainHasFiles(ctx, d.ID)
	must(t, err)
	if has || dhas {
		t.Fatal("empty class/domain reported as having files")
	}
	commitFile(t, s, d.ID, c2.ID, "k", 1)
	has, err = s.ClassHasFiles(ctx, d.ID, c2.ID)
	must(t, err)
	dhas, err = s.DomainHasFiles(ctx, d.ID)
	must(t, err)
	otherHas, err := s.ClassHasFiles(ctx, d.ID, c1.ID)
	must(t, err)
	d2has, err := s.DomainHasFiles(ctx, d2.ID)
	must(t, err)
	if !has || !dhas || otherHas || d2has {
		t.Fatalf("has files: class %v domain %v other class %v other domain %v", has, dhas, otherHas, d2has)
	}

	must(t, s.DeleteClass(ctx, d.ID, c1.ID))
	cs, err = s.Classes(ctx)
	must(t, err)
	if !reflect.DeepEqual(cs, []store.Class{def, c2, other}) {
		t.Fatalf("after delete: %+v", cs)
	}
	// The next id is MAX+1 again.
	c3, err := s.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "new", MinDevCount: 2})
	must(t, err)
	if c3.ID != 3 {
		t.Fatalf("next class id %d, want 3", c3.ID)
	}
}

func testHosts(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	h1, err := s.CreateHost(ctx, store.Host{Name: "node1", IP: "10.0.0.1"})
	must(t, err)
	if h1.ID != 1 || h1.Status != "down" || h1.HTTPPort != 7500 {
		t.Fatalf("created %+v, want id 1, status down, port 7500", h1)
	}
	h2, err := s.CreateHost(ctx, store.Host{Name: "node2", IP: "10.0.0.2", Status: "alive", HTTPPort: 7600, HTTPGetPort: 7601, AltIP: "192.168.0.2", AltMask: "192.168.0.0/24"})
	must(t, err)
	h3, err := s.CreateHost(ctx, store.Host{Name: "node3", IP: "10.0.0.3"}) // second NULL altip is fine
	must(t, err)
	for _, bad := range []store.Host{
		{Name: "node1", IP: "10.0.0.9"},
		{Name: "node9", IP: "10.0.0.1"},
		{Name: "node9", IP: "10.0.0.9", AltIP: "192.168.0.2"},
	} {
		_, err := s.CreateHost(ctx, bad)
		wantErr(t, err, store.ErrExists, "clashing host "+bad.Name)
	}
	hs, err := s.Hosts(ctx)
	must(t, err)
	if !reflect.DeepEqual(hs, []store.Host{h1, h2, h3}) {
		t.Fatalf("hosts\n got %+v\nwant %+v", hs, []store.Host{h1, h2, h3})
	}
	h1.Status, h1.HTTPGetPort, h1.AltIP, h1.AltMask, h1.Name = "readonly", 8000, "192.168.0.1", "192.168.0.0/24", "node1b"
	must(t, s.UpdateHost(ctx, h1))
	h2.AltIP, h2.AltMask, h2.HTTPGetPort = "", "", 0
	must(t, s.UpdateHost(ctx, h2))
	hs, err = s.Hosts(ctx)
	must(t, err)
	if hs[0] != h1 || hs[1] != h2 {
		t.Fatalf("updated hosts %+v %+v, want %+v %+v", hs[0], hs[1], h1, h2)
	}
	clash := h3
	clash.IP = h1.IP
	wantErr(t, s.UpdateHost(ctx, clash), store.ErrExists, "update host onto another's ip")
	wantErr(t, s.UpdateHost(ctx, store.Host{ID: 42, Name: "x", IP: "1.2.3.4"}), store.ErrNotFound, "update missing host")
	must(t, s.DeleteHost(ctx, h3.ID))
	h4, err := s.CreateHost(ctx, store.Host{Name: "node4", IP: "10.0.0.4"})
	must(t, err)
	if h4.ID != 3 {
		t.Fatalf("host id after deleting the last: %d, want 3", h4.ID)
	}
}

func testDevices(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	h, err := s.CreateHost(ctx, store.Host{Name: "n", IP: "10.0.0.1"})
	must(t, err)
	must(t, s.CreateDevice(ctx, store.Device{ID: 1, HostID: h.ID, Status: "alive"}))
	must(t, s.CreateDevice(ctx, store.Device{ID: 7, HostID: h.ID, Status: "down", Weight: 50,
		MBTotal: sql.NullInt64{Int64: 1000, Valid: true}, MBUsed: sql.NullInt64{Int64: 10, Valid: true}, MBAsOf: sql.NullInt64{Int64: 12345, Valid: true}}))
	wantErr(t, s.CreateDevice(ctx, store.Device{ID: 1, HostID: h.ID, Status: "alive"}), store.ErrExists, "duplicate device")
	ds, err := s.Devices(ctx)
	must(t, err)
	want := []store.Device{
		{ID: 1, HostID: h.ID, Status: "alive", Weight: 100},
		{ID: 7, HostID: h.ID, Status: "down", Weight: 50, MBTotal: sql.NullInt64{Int64: 1000, Valid: true}, MBUsed: sql.NullInt64{Int64: 10, Valid: true}, MBAsOf: sql.NullInt64{Int64: 12345, Valid: true}},
	}
	if !reflect.DeepEqual(ds, want) {
		t.Fatalf("devices\n got %+v\nwant %+v", ds, want)
	}
	for _, st := range []string{"readonly", "drain", "dead", "alive"} {
		must(t, s.SetDeviceStatus(ctx, 1, st))
		ds, err = s.Devices(ctx)
		must(t, err)
		if ds[0].Status != st {
			t.Fatalf("status %q read back as %q", st, ds[0].Status)
		}
	}
	must(t, s.SetDeviceWeight(ctx, 1, 0))
	must(t, s.SetDeviceUsage(ctx, 1, 5_000_000, 4_000_000, 1700000000)) // > 16 TB in MB needs INT
	ds, err = s.Devices(ctx)
	must(t, err)
	if d := ds[0]; d.Weight != 0 || d.MBTotal.Int64 != 5_000_000 || d.MBUsed.Int64 != 4_000_000 || d.MBAsOf.Int64 != 1700000000 || !d.MBTotal.Valid {
		t.Fatalf("device after weight/usage: %+v", d)
	}
	wantErr(t, s.SetDeviceStatus(ctx, 99, "alive"), store.ErrNotFound, "status of missing device")
	wantErr(t, s.SetDeviceWeight(ctx, 99, 1), store.ErrNotFound, "weight of missing device")
	wantErr(t, s.SetDeviceUsage(ctx, 99, 1, 1, 1), store.ErrNotFound, "usage of missing device")
}

func testSettings(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	base, err := s.Settings(ctx)
	must(t, err)
	if base["schema_version"] != "17" {
		t.Fatalf("schema_version setting %q, want 17", base["schema_version"])
	}
	long := strings.Repeat("key,", 250) // value is TEXT, not VARCHAR(255)
	must(t, s.SetSetting(ctx, "enable_rebalance", "1"))
	must(t, s.SetSetting(ctx, "slave_keys", long))
	must(t, s.SetSetting(ctx, "enable_rebalance", "0"))
	got, err := s.Settings(ctx)
	must(t, err)
	if got["enable_rebalance"] != "0" || got["slave_keys"] != long || len(got) != len(base)+2 {
		t.Fatalf("settings %v", got)
	}
	must(t, s.DeleteSetting(ctx, "slave_keys"))
	must(t, s.DeleteSetting(ctx, "never_set"))
	got, err = s.Settings(ctx)
	must(t, err)
	if _, ok := got["slave_keys"]; ok || len(got) != len(base)+1 {
		t.Fatalf("after delete: %v", got)
	}
}
