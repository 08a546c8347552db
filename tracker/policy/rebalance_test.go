package policy

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseRebalanceDefaults(t *testing.T) {
	p, err := ParseRebalance("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, DefaultRebalancePolicy()) {
		t.Errorf("ParseRebalance(\"\") = %+v, want the defaults", p)
	}
	want := "from_all_devs=1 fid_age=old limit_type=device limit_by=none to_all_devs=1 use_dest_devs=all leave_in_drain_mode=0"
	if got := p.String(); got != want {
		t.Errorf("defaults render as %q, want %q", got, want)
	}
}

func TestParseRebalanceEveryKey(t *testing.T) {
	in := "from_all_devs=1 from_hosts=1,2 from_devices=5 from_percent_used=80 from_percent_free=5.5 " +
		"from_space_used=100 from_space_free=200 fid_age=new limit_type=global limit_by=size limit=100g " +
		"to_all_devs=1 to_hosts=3 to_devices=7,8 to_percent_used=1 to_percent_free=20 to_space_used=10 " +
		"to_space_free=1000 not_to_hosts=4 not_to_devices=9,10 use_dest_devs=2 leave_in_drain_mode=1"
	p, err := ParseRebalance(in)
	if err != nil {
		t.Fatal(err)
	}
	want := RebalancePolicy{
		FromAllDevs: "1", FromHosts: []int{1, 2}, FromDevices: []int{5},
		FromPercentUsed: 80, FromPercentFree: 5.5, FromSpaceUsed: 100, FromSpaceFree: 200,
		FIDAge: "new", LimitType: "global", LimitBy: "size", Limit: "100g",
		ToAllDevs: "1", ToHosts: []int{3}, ToDevices: []int{7, 8},
		ToPercentUsed: 1, ToPercentFree: 20, ToSpaceUsed: 10, ToSpaceFree: 1000,
		NotToHosts: []int{4}, NotToDevices: []int{9, 10}, UseDestDevs: 2, LeaveInDrainMode: true,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	p2, err := ParseRebalance(p.String())
	if err != nil || !reflect.DeepEqual(p2, p) {
		t.Errorf("String() %q does not round-trip: %+v, %v", p.String(), p2, err)
	}
	// The example of the documentation, with runs of whitespace.
	p, err = ParseRebalance("  from_devices=5,6   to_hosts=2 limit_by=count\tlimit=1000 leave_in_drain_mode=1 ")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.FromDevices, []int{5, 6}) || !slices.Equal(p.ToHosts, []int{2}) ||
		p.LimitBy != "count" || p.Limit != "1000" || !p.LeaveInDrainMode {
		t.Errorf("got %+v", p)
	}
}

func TestParseRebalanceErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"foo=bar", "Invalid setting foo"},
		{"from_devices=5 bogus=1", "Invalid setting bogus"},
		{"nokey", "Invalid setting nokey"},
		{"from_devices", "setting from_devices has no value"},
		{"from_devices=", "setting from_devices needs a comma-separated list of ids"},
		{"from_devices=5,,6", "setting from_devices needs a comma-separated list of ids"},
		{"to_hosts=a", "setting to_hosts needs a comma-separated list of ids"},
		{"from_percent_used=lots", "setting from_percent_used needs a number >= 0"},
		{"to_space_free=-5", "setting to_space_free needs a number >= 0"},
		{"from_percent_free=1,2", "setting from_percent_free takes one value, not a list"},
		{"fid_age=middle", "setting fid_age must be one of old|new"},
		{"limit_type=cluster", "setting limit_type must be one of device|global"},
		{"limit_by=percent limit=10%", "setting limit_by=percent is not implemented"},
		{"limit_by=weight", "setting limit_by must be one of none|count|size"},
		{"limit_by=count", "limit_by=count needs limit=<number of files>"},
		{"limit_by=count limit=10k", "limit_by=count needs limit=<number of files>"},
		{"limit_by=size limit=lots", "limit_by=size needs limit=<number>[b|k|m|g|t|p]"},
		{"limit_by=size limit=10x", "limit_by=size needs limit=<number>[b|k|m|g|t|p]"},
		{"limit_by=size limit=99999999999p", "limit \"99999999999p\" is out of range"},
		{"use_dest_devs=0", "setting use_dest_devs must be \"all\" or a number >= 1"},
		{"use_dest_devs=some", "setting use_dest_devs must be \"all\" or a number >= 1"},
		{"leave_in_drain_mode=yes", "setting leave_in_drain_mode must be 0 or 1"},
	} {
		_, err := ParseRebalance(tc.in)
		if err == nil {
			t.Errorf("ParseRebalance(%q) succeeded, want %q", tc.in, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseRebalance(%q) = %q, want prefix %q", tc.in, err, tc.want)
		}
		if !errors.Is(err, ErrBadRebalance) {
			t.Errorf("ParseRebalance(%q) error is not ErrBadRebalance", tc.in)
		}
	}
}

func TestLimitBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1024", 1024}, {"10b", 10}, {"1k", 1024}, {"2K", 2048}, {"3m", 3 << 20},
		{"100g", 100 << 30}, {"1t", 1 << 40}, {"2p", 2 << 50},
	} {
		got, err := LimitBytes(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("LimitBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// devs: host 1 (alive) with devs 1-3, host 2 (alive) with 4-5, host 3
// (down) with 6. Usage differs per device.
func rebalDevs() []Device {
	return []Device{
		{ID: 3, HostID: 1, Status: "drain", HostStatus: "alive", MBTotal: 1000, MBUsed: 500},
		{ID: 1, HostID: 1, Status: "alive", HostStatus: "alive", GetsNewFiles: true, MBTotal: 1000, MBUsed: 900},
		{ID: 2, HostID: 1, Status: "readonly", HostStatus: "alive", MBTotal: 1000, MBUsed: 100},
		{ID: 4, HostID: 2, Status: "alive", HostStatus: "alive", GetsNewFiles: true, MBTotal: 1000, MBUsed: 100},
		{ID: 5, HostID: 2, Status: "alive", HostStatus: "alive", GetsNewFiles: true}, // usage unknown
		{ID: 6, HostID: 3, Status: "alive", HostStatus: "down", MBTotal: 1000, MBUsed: 0},
		{ID: 7, HostID: 2, Status: "dead", HostStatus: "alive"},
	}
}

func TestSourceDevices(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   []int
	}{
		// Deletable devices: alive or drain on an alive host.
		{"", []int{1, 3, 4, 5}},
		{"from_devices=3,2,6", []int{3}},
		{"from_hosts=2", []int{4, 5}},
		{"from_percent_used=50", []int{1}},    // strictly more than 50% used
		{"from_percent_used=49", []int{1, 3}}, // unknown usage never passes
		{"from_percent_free=60", []int{4}},
		{"from_space_used=400", []int{1, 3}},
		{"from_space_free=899", []int{4}},
		{"from_hosts=1 from_percent_used=10", []int{1, 3}},
	} {
		p, err := ParseRebalance(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.SourceDevices(rebalDevs()); !slices.Equal(got, tc.want) {
			t.Errorf("SourceDevices(%q) = %v, want %v", tc.policy, got, tc.want)
		}
	}
}

func TestDestDevices(t *testing.T) {
	for _, tc := range []struct {
		policy string
		state  RebalanceState
		want   []int
	}{
		// Devices that get new files.
		{"", RebalanceState{}, []int{1, 4, 5}},
		// Sources (pending, current, completed) are never destinations.
		{"", RebalanceState{SourceDevs: []int{1}}, []int{4, 5}},
		{"", RebalanceState{SDevCurrent: 4, CompletedDevs: []int{5}}, []int{1}},
		{"to_hosts=2", RebalanceState{}, []int{4, 5}},
		{"to_devices=1,5", RebalanceState{}, []int{1, 5}},
		{"not_to_hosts=1", RebalanceState{}, []int{4, 5}},
		{"not_to_devices=4", RebalanceState{}, []int{1, 5}},
		{"to_percent_free=50", RebalanceState{}, []int{4}},
		{"to_percent_used=50", RebalanceState{}, []int{1}},
		{"to_space_free=50", RebalanceState{}, []int{1, 4}},
		{"to_space_used=200", RebalanceState{}, []int{1}},
	} {
		p, err := ParseRebalance(tc.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.DestDevices(tc.state, rebalDevs()); !slices.Equal(got, tc.want) {
			t.Errorf("DestDevices(%q, %+v) = %v, want %v", tc.policy, tc.state, got, tc.want)
		}
	}
}

func TestChooseDests(t *testing.T) {
	p, _ := ParseRebalance("use_dest_devs=2")
	r := rand.New(rand.NewPCG(5, 6))
	seen := map[int]bool{}
	for range 100 {
		got := p.ChooseDests([]int{1, 2, 3, 4}, r)
		if len(got) != 2 || got[0] == got[1] {
			t.Fatalf("ChooseDests = %v, want 2 distinct devices", got)
		}
		seen[got[0]] = true
	}
	if len(seen) != 4 {
		t.Errorf("first choice covered %v, want all 4 devices over 100 draws", seen)
	}
	all, _ := ParseRebalance("")
	got := all.ChooseDests([]int{1, 2, 3}, r)
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("use_dest_devs=all gave %v", got)
	}
}

func TestRebalanceStateRoundTrip(t *testing.T) {
	st := RebalanceState{
		CompletedDevs: []int{3, 4}, SourceDevs: []int{7}, SDevCurrent: 5, SDevLastFID: 12345,
		SDevLimit: 99, Limit: 7, FIDsQueued: 10, BytesQueued: 4096, TimeStarted: 1700000000,
		TimeFinished: 1, TimeStopped: 2, TimeLatestRun: 3, TimeLatestEmptyRun: 4, EmptyRuns: 5,
	}
	s := st.String()
	want := "completed_devs=3,4 source_devs=7 sdev_current=5 sdev_lastfid=12345 sdev_limit=99 limit=7 " +
		"fids_queued=10 bytes_queued=4096 time_started=1700000000 time_finished=1 time_stopped=2 " +
		"time_latest_run=3 time_latest_empty_run=4 empty_runs=5"
	if s != want {
		t.Errorf("String() = %q\nwant       %q", s, want)
	}
	got, err := ParseRebalanceState(s)
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("ParseRebalanceState = %+v, %v; want %+v", got, err, st)
	}
	// What the original writes: a one-element list, sdev_limit=none,
	// empty lists, keys in any order, sdev_* missing.
	got, err = ParseRebalanceState("empty_runs=0 sdev_limit=none source_devs=5 completed_devs= limit=0 time_started=17")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.SourceDevs, []int{5}) || got.CompletedDevs != nil || got.TimeStarted != 17 || got.SDevLimit != 0 {
		t.Errorf("got %+v", got)
	}
	for _, bad := range []string{"bogus=1", "sdev_current=x", "source_devs=1,a"} {
		if _, err := ParseRebalanceState(bad); err == nil {
			t.Errorf("ParseRebalanceState(%q) succeeded", bad)
		}
	}
}

// A run walks the sources in order, charging each fid to the limit.
func TestRebalanceStateRun(t *testing.T) {
	p, err := ParseRebalance("from_devices=1,4 limit_by=count limit=2")
	if err != nil {
		t.Fatal(err)
	}
	st := NewRebalanceState(p, rebalDevs(), 100)
	if !slices.Equal(st.SourceDevs, []int{1, 4}) || st.TimeStarted != 100 {
		t.Fatalf("new state %+v", st)
	}
	dev, fresh, ok := st.Source(p)
	if dev != 1 || !fresh || !ok || st.SDevLimit != 2 {
		t.Fatalf("Source = %d %v %v, state %+v", dev, fresh, ok, st)
	}
	if dev, fresh, _ = st.Source(p); dev != 1 || fresh {
		t.Fatalf("second Source = %d fresh=%v, want 1 and not fresh", dev, fresh)
	}
	if !st.Take(p, 10) || !st.Take(p, 20) || st.Take(p, 30) {
		t.Errorf("count limit 2 should take exactly two fids")
	}
	if !st.LimitReached(p) {
		t.Errorf("limit should be reached")
	}
	if st.FIDsQueued != 2 || st.BytesQueued != 30 {
		t.Errorf("queued %d fids %d bytes, want 2 and 30", st.FIDsQueued, st.BytesQueued)
	}
	if got := st.FinishSource(); got != 1 || !slices.Equal(st.CompletedDevs, []int{1}) || st.SDevCurrent != 0 {
		t.Errorf("FinishSource = %d, state %+v", got, st)
	}
	if dev, fresh, ok = st.Source(p); dev != 4 || !fresh || !ok || st.SDevLimit != 2 {
		t.Errorf("next source = %d %v %v, state %+v", dev, fresh, ok, st)
	}
	st.FinishSource()
	if _, _, ok = st.Source(p); ok {
		t.Errorf("no source should be left: %+v", st)
	}

	// Size limits skip files that do not fit and stop under 1 KiB.
	ps, _ := ParseRebalance("limit_by=size limit=3k")
	st = NewRebalanceState(ps, rebalDevs(), 0)
	st.Source(ps)
	if !st.Take(ps, 2048) || st.Take(ps, 2048) || !st.Take(ps, 1000) {
		t.Errorf("size limit 3k: want 2048 taken, 2048 skipped, 1000 taken")
	}
	if !st.LimitReached(ps) {
		t.Errorf("24 bytes left should count as reached")
	}

	// Global limits are loaded from the policy (the original never does).
	pg, _ := ParseRebalance("limit_type=global limit_by=count limit=3")
	st = NewRebalanceState(pg, rebalDevs(), 0)
	if st.Limit != 3 {
		t.Errorf("global limit = %d, want 3", st.Limit)
	}
	st.Source(pg)
	st.Take(pg, 1)
	st.FinishSource()
	st.Source(pg)
	if st.Limit != 2 || st.LimitReached(pg) {
		t.Errorf("global limit should carry over sources: %+v", st)
	}

	// No limit: never reached.
	pn, _ := ParseRebalance("")
	st = NewRebalanceState(pn, rebalDevs(), 0)
	st.Source(pn)
	for range 1000 {
		if !st.Take(pn, 1<<30) {
			t.Fatal("limit_by=none refused a fid")
		}
	}
	if st.LimitReached(pn) {
		t.Error("limit_by=none reached its limit")
	}
}

func FuzzParseRebalance(f *testing.F) {
	f.Add("from_devices=5,6 to_hosts=2 limit_by=count limit=1000 leave_in_drain_mode=1")
	f.Add("limit_by=size limit=100g use_dest_devs=3 from_percent_used=80.5")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseRebalance(s)
		if err != nil {
			return
		}
		p2, err := ParseRebalance(p.String())
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Fatalf("ParseRebalance(%q) = %+v does not round-trip via %q: %+v, %v", s, p, p.String(), p2, err)
		}
	})
}
