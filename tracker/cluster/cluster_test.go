package cluster

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// newTestCluster builds a cluster over a real SQLite store holding three
// hosts and seven devices, all observed writeable on reachable hosts.
func newTestCluster(t *testing.T) *Cluster {
	t.Helper()
	ctx := context.Background()
	cfg := sqlstore.Config{DSN: "DBI:SQLite:" + filepath.Join(t.TempDir(), "m.sqlite")}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	d, err := st.CreateDomain(ctx, "d")
	must(err)
	_, err = st.CreateClass(ctx, store.Class{DomainID: d.ID, Name: "c", MinDevCount: 3})
	must(err)
	for _, h := range []store.Host{
		{Name: "h1", Status: "alive", IP: "10.0.0.1", HTTPPort: 7500, AltIP: "192.168.0.1", AltMask: "172.16.0.0/12"},
		{Name: "h2", Status: "alive", IP: "10.0.0.2", HTTPPort: 7500, HTTPGetPort: 7600},
		{Name: "h3", Status: "readonly", IP: "10.0.0.3", HTTPPort: 7500},
	} {
		nh, err := st.CreateHost(ctx, h)
		must(err)
		h.ID = nh.ID
		must(st.UpdateHost(ctx, h))
	}
	for i, dv := range []struct {
		host   int
		status string
	}{{1, "alive"}, {1, "alive"}, {2, "alive"}, {2, "drain"}, {3, "alive"}, {2, "dead"}, {2, "alive"}} {
		must(st.CreateDevice(ctx, store.Device{ID: i + 1, HostID: dv.host, Status: dv.status, Weight: 100}))
		must(st.SetDeviceUsage(ctx, i+1, 1000, int64(100*(i+1)%900), time.Now().Unix()))
	}
	must(st.SetSetting(ctx, "skip_mkcol", "1"))
	c := New(Options{Source: st, MinFreeMB: 100})
	must(c.Reload(ctx))
	obs := Observation{Hosts: map[int]string{1: Reachable, 2: Reachable, 3: Reachable}, Devices: map[int]Observed{}}
	for id := 1; id <= 7; id++ {
		obs.Devices[id] = Observed{State: Writeable, RejectBadMD5: 0}
	}
	c.Observe(obs)
	return c
}

func TestPredicates(t *testing.T) {
	s := newTestCluster(t).Snapshot()
	type want struct{ canRead, shouldRead, canDelete, newFiles bool }
	cases := map[int]want{
		1: {true, true, true, true},     // alive on alive host
		4: {true, true, true, false},    // drain
		5: {true, true, false, false},   // alive on readonly host
		6: {false, false, false, false}, // dead
	}
	for id, w := range cases {
		d := s.Device(id)
		got := want{d.CanReadFrom(), d.ShouldReadFrom(), d.CanDeleteFrom(), d.ShouldGetNewFiles()}
		if got != w {
			t.Errorf("dev%d (%s): got %+v, want %+v", id, d.Status, got, w)
		}
	}
	if s.Device(6).CanChangeToState("alive") || !s.Device(6).CanChangeToState("down") {
		t.Error("dead -> alive must be refused, dead -> down allowed")
	}
	// Little free space: no new files.
	c := newTestCluster(t)
	c.Observe(Observation{Devices: map[int]Observed{1: {State: Writeable, HaveUsage: true, MBTotal: 1000, MBUsed: 950}}})
	if c.Snapshot().Device(1).ShouldGetNewFiles() {
		t.Error("device with 50 MB free gets new files (min_free_space 100)")
	}
	// Unreachable host: nothing readable.
	c.Observe(Observation{Hosts: map[int]string{1: Unreachable}})
	if d := c.Snapshot().Device(2); d.ShouldReadFrom() || d.ShouldGetNewFiles() || !d.ObservedUnreachable() {
		t.Error("device on an unreachable host is usable")
	}
}

func TestURLs(t *testing.T) {
	s := newTestCluster(t).Snapshot()
	if u := s.Device(3).GetURL(148056, Zone{}); u != "http://10.0.0.2:7600/dev3/0/000/148/0000148056.fid" {
		t.Errorf("get url: %s", u)
	}
	if u := s.Device(3).PutURL(1, Zone{}); u != "http://10.0.0.2:7500/dev3/0/000/000/0000000001.fid" {
		t.Errorf("put url: %s", u)
	}
	if u := s.Device(1).PutURL(1, Zone{Alt: true}); u != "http://192.168.0.1:7500/dev1/0/000/000/0000000001.fid" {
		t.Errorf("alt zone: %s", u)
	}
	if u := s.Device(1).PutURL(1, Zone{ClientIP: []byte{172, 20, 1, 1}}); u != "http://192.168.0.1:7500/dev1/0/000/000/0000000001.fid" {
		t.Errorf("altmask match: %s", u)
	}
	if s.DomainByName("d").ClassByName("default") == nil || s.ClassName(1, 0) != "default" || s.ClassName(1, 1) != "c" {
		t.Error("implicit default class missing")
	}
	if !s.SettingBool("skip_mkcol") {
		t.Error("settings not loaded")
	}
}

func TestNewFileDevices(t *testing.T) {
	s := newTestCluster(t).Snapshot()
	counts := map[int]int{}
	for i := 0; i < 2000; i++ {
		devs := s.NewFileDevices(0, 3)
		if len(devs) != 2 {
			t.Fatalf("got %d devices, want 2 (one per host with new-file devices)", len(devs))
		}
		if devs[0].HostID == devs[1].HostID {
			t.Fatalf("two devices on host %d", devs[0].HostID)
		}
		for _, d := range devs {
			if !d.ShouldGetNewFiles() {
				t.Fatalf("dev%d should not get new files", d.ID)
			}
		}
		counts[devs[0].ID]++
	}
	// Devices 1, 2, 3 all get picked first sometimes; weights follow free
	// space (dev1 90% free, dev3 70%).
	if counts[1] == 0 || counts[2] == 0 || counts[3] == 0 || counts[1] < counts[3] {
		t.Errorf("first picks %v", counts)
	}
	if d := s.NewFileDevices(2000*1024*1024, 1); len(d) != 0 {
		t.Errorf("a file larger than any free space got %v", d)
	}
}

func TestWeightedOrder(t *testing.T) {
	first := map[int]int{}
	for i := 0; i < 10000; i++ {
		o := WeightedOrder([]float64{7, 97, 0, -1})
		if len(o) != 2 {
			t.Fatalf("order %v keeps a zero/negative weight", o)
		}
		first[o[0]]++
	}
	if f := float64(first[1]) / 10000; f < 0.9 || f > 0.96 {
		t.Errorf("weight 97 of 104 first %.3f of the time", f)
	}
}

func TestReadWeight(t *testing.T) {
	c := newTestCluster(t)
	c.opts.FakeUtilization = map[int]string{1: "95"}
	c.Observe(Observation{Devices: map[int]Observed{2: {State: Writeable, Utilization: "52.55"}, 3: {State: Writeable, Utilization: "102"}}})
	s := c.Snapshot()
	if w := s.Device(1).ReadWeight(); w != 7 {
		t.Errorf("fake utilization 95: weight %v", w)
	}
	if w := s.Device(2).ReadWeight(); w != 100 {
		t.Errorf("decimal utilization: weight %v (want device weight)", w)
	}
	if w := s.Device(3).ReadWeight(); w != 100 {
		t.Errorf("utilization 102: weight %v", w)
	}
}

func TestRounds(t *testing.T) {
	c := newTestCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A fake monitor: runs a round per kick.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.Kicks():
				seq := c.BeginRound()
				c.EndRound(seq)
			}
		}
	}()
	if err := c.WaitForMonitorRound(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFirstRound(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if c.RoundsCompleted() < 2 {
		t.Fatalf("%d rounds", c.RoundsCompleted())
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	// The monitor stops. Wait until it has: a kick that is ready together
	// with ctx.Done could otherwise still be served (select picks at random).
	cancel()
	<-stopped
	if err := c.WaitForMonitorRound(short); err == nil {
		t.Fatal("wait without a monitor returned")
	}
}
