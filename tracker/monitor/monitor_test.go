package monitor_test

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/cluster"
	"github.com/mogilefs-go/mogilefs/tracker/monitor"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/store/sqlstore"
)

// TestMonitor runs monitor rounds against real storage nodes and a real
// SQLite store.
func TestMonitor(t *testing.T) {
	ctx := context.Background()
	cfg := sqlstore.Config{DSN: "DBI:SQLite:" + filepath.Join(t.TempDir(), "m.sqlite")}
	if err := sqlstore.Setup(ctx, cfg, sqlstore.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	up := mogtest.StartMogstored(t, mogtest.MogstoredOptions{IP: "127.0.0.1", DevIDs: []int{1, 2}})
	down := mogtest.StartMogstored(t, mogtest.MogstoredOptions{IP: "127.0.0.2", DevIDs: []int{3}})
	ro := mogtest.StartMogstored(t, mogtest.MogstoredOptions{IP: "127.0.0.3", DevIDs: []int{4}})
	addHost := func(name, addr, status string, devs ...int) {
		ip, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		h, err := st.CreateHost(ctx, store.Host{Name: name, IP: ip, HTTPPort: port, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		h.Status = status
		if err := st.UpdateHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if err := st.CreateDevice(ctx, store.Device{ID: d, HostID: h.ID, Status: "alive"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	addHost("up", up.HTTPAddr, "alive", 1, 2)
	addHost("down", down.HTTPAddr, "alive", 3)
	addHost("ro", ro.HTTPAddr, "readonly", 4)
	// dev5 has no directory on its node: the usage GET gets a 404.
	if err := st.CreateDevice(ctx, store.Device{ID: 5, HostID: 1, Status: "alive"}); err != nil {
		t.Fatal(err)
	}
	down.Kill()

	cl := cluster.New(cluster.Options{Source: st, MinFreeMB: 0})
	if err := cl.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	nodes := nodeclient.New(nodeclient.Options{})
	defer nodes.Close()
	m := monitor.New(monitor.Options{Cluster: cl, Store: st, Nodes: nodes, ConnTimeout: 2 * time.Second})
	m.Round(ctx)
	s := cl.Snapshot()
	for _, id := range []int{1, 2} {
		d := s.Device(id)
		if d.Obs.State != cluster.Writeable || !d.Obs.HaveUsage || d.Obs.MBTotal == 0 || d.Obs.RejectBadMD5 < 0 {
			t.Errorf("dev%d: %+v", id, d.Obs)
		}
		if !d.ShouldGetNewFiles() || !d.ShouldReadFrom() {
			t.Errorf("dev%d not usable", id)
		}
	}
	if d := s.Device(3); d.Obs.State != cluster.Unreachable || d.ShouldReadFrom() {
		t.Errorf("dev3 on a stopped node: %+v", d.Obs)
	}
	if d := s.Device(4); d.Obs.State != cluster.Readable || !d.ShouldReadFrom() || d.ShouldGetNewFiles() {
		t.Errorf("dev4 on a readonly host: %+v", d.Obs)
	}
	if d := s.Device(5); d.Obs.State != cluster.Unreachable {
		t.Errorf("dev5 without a directory: %+v", d.Obs)
	}
	if h := s.HostByName("up"); h.Observed != cluster.Reachable {
		t.Errorf("host up: %q", h.Observed)
	}
	// The usage reached the database.
	devs, err := st.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.ID == 1 && (!d.MBTotal.Valid || d.MBTotal.Int64 == 0 || !d.MBAsOf.Valid) {
			t.Errorf("dev1 usage not written: %+v", d)
		}
	}
	// Run keeps going and answers WaitForMonitorRound.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(rctx); close(done) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	before := cl.RoundsCompleted()
	if err := cl.WaitForMonitorRound(wctx); err != nil {
		t.Fatal(err)
	}
	if cl.RoundsCompleted() <= before {
		t.Fatal("no new round")
	}
	cancel()
	<-done
}
