package mogadm

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
)

// The expected lines below are the spec's samples and its printf
// patterns rendered independently.

var testHosts = []admin.Host{
	{ID: 2, Name: "store2", Status: "down", IP: "10.0.0.2", HTTPPort: 7500, HTTPGetPort: 7600, AltIP: "192.168.0.2", AltMask: "192.168.0.0/16"},
	{ID: 1, Name: "store1", Status: "alive", IP: "10.0.0.1", HTTPPort: 7500},
}

var testDevs = []admin.Device{
	{ID: 1, HostID: 1, Status: "alive", Weight: 100, MBTotal: 93262, MBUsed: 11994},
	{ID: 3, HostID: 1, Status: "dead", Weight: 100},
	{ID: 2, HostID: 2, Status: "down", Weight: 50},
}

func TestFormatHostList(t *testing.T) {
	var b bytes.Buffer
	FormatHostList(&b, testHosts)
	want := "store1 [1]: alive\n" +
		"  IP:       10.0.0.1:7500\n" +
		"\n" +
		"store2 [2]: down\n" +
		"  IP:       10.0.0.2:7500\n" +
		"  Alt IP:   192.168.0.2\n" +
		"  Alt Mask: 192.168.0.0/16\n" +
		"  GET Port: 7600\n" +
		"\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestFormatDeviceList(t *testing.T) {
	var b bytes.Buffer
	FormatDeviceList(&b, testHosts, testDevs, false, "store1")
	want := "store1 [1]: alive\n" +
		"                    used(G)    free(G)   total(G)  weight(%)\n" +
		"   dev1:   alive     11.713     79.363     91.076        100\n" +
		"\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	b.Reset()
	FormatDeviceList(&b, testHosts, testDevs, true, "")
	if !strings.Contains(b.String(), "   dev3:    dead      0.000      0.000      0.000        100\n") ||
		!strings.Contains(b.String(), "store2 [2]: down\n") {
		t.Fatalf("--all listing:\n%s", b.String())
	}
}

func TestFormatDeviceSummary(t *testing.T) {
	var b bytes.Buffer
	FormatDeviceSummary(&b, testHosts, testDevs, []string{"alive", "readonly", "drain"}, "")
	want := "Hostname        HostID  Status   used(G)  free(G) total(G)    %Used\n" +
		"store1          [   1]:  alive    11.713   79.363   91.076    12.86\n" +
		"store2          [   2]:   down     0.000    0.000    0.000 \n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestFormatDomainList(t *testing.T) {
	var b bytes.Buffer
	FormatDomainList(&b, []client.DomainInfo{{Name: "files", Classes: []client.ClassInfo{
		{Name: "rep3", MinDevCount: 3, ReplPolicy: "MultipleHosts(3)", HashType: "MD5"},
		{Name: "default", MinDevCount: 2, ReplPolicy: "MultipleHosts()", HashType: "NONE"},
	}}})
	want := " domain               class                mindevcount   replpolicy   hashtype\n" +
		"-------------------- -------------------- ------------- ------------ -------\n" +
		" files                default                   2        MultipleHosts() NONE   \n" +
		" files                rep3                      3        MultipleHosts(3) MD5    \n" +
		"\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestFormatFsckStatus(t *testing.T) {
	var b bytes.Buffer
	FormatFsckStatus(&b, map[string]string{
		"running": "1", "host": "tr1", "max_fid_checked": "50", "end_fid": "200", "start_time": "1000",
		"stop_time": "", "current_time": "1100", "policy_only": "0", "max_logid": "7", "num_NOPA": "3",
	})
	want := "\n" +
		"    Running: Yes (on tr1)\n" +
		"     Status: 50 / 200 (25.00%)\n" +
		"       Time: 1m (0 fids/s; 5m remain)\n" +
		" Check Type: Normal (check policy + files)\n" +
		"\n" +
		" [num_NOPA]: 3\n" +
		"\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	// Never started: stop_time is not consulted, so it is listed.
	b.Reset()
	FormatFsckStatus(&b, map[string]string{"running": "0", "max_fid_checked": "0", "end_fid": "0",
		"start_time": "", "stop_time": "", "current_time": "5", "policy_only": "1", "max_logid": "0", "host": ""})
	want = "\n    Running: No\n     Status: 0 / 0 (0.00%)\n       Time: 0s (0 fids/s; 0s remain)\n" +
		" Check Type: Repl policy only (skip file checks)\n\n[stop_time]: \n\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestFsckLogAndSettings(t *testing.T) {
	var b bytes.Buffer
	FormatFsckLogHeader(&b)
	FormatFsckLogRow(&b, admin.FsckLogRow{LogID: 1, UTime: "1700000000", FID: "123", EvCode: "NOPA"})
	want := "unixtime             event           fid      devid\n" +
		"1700000000            NOPA           123          -\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	FormatSettings(&b, map[string]string{"schema_version": "17", "rebal_host": "x", "memcache_ttl": "3600"},
		func(k string) bool { return !strings.HasPrefix(k, "rebal") })
	want = "             memcache_ttl = 3600\n           schema_version = 17\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestCheckDeviceLine(t *testing.T) {
	u, msg := ParseUsage("available: 83218000\ndevice: /dev/sdb1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 95500000\nuse: 13%\nused: 12282000\n")
	if msg != "" {
		t.Fatal(msg)
	}
	got := "  [ 1] dev1   " + FormatCheckDevice(u, "writeable", "")
	want := "  [ 1] dev1            91.076     11.713     79.363  12.86%  writeable   N/A\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := FormatCheckDevice(u, "", "52.55"); !strings.HasSuffix(got, "  ?        52.5\n") {
		t.Fatalf("utilization/unknown state: %q", got)
	}
	if _, msg := ParseUsage(""); msg != "USAGE FILE BROKEN OR EMPTY" {
		t.Fatal(msg)
	}
	if _, msg := ParseUsage("available: 1\ndisk: /x\ntotal: 2\n"); msg != "MISSING FIELD (device) FROM USAGE FILE" {
		t.Fatal(msg)
	}
}

func TestParseVerbArgs(t *testing.T) {
	vb := commands["device"].verbs["modify"]
	a, err := parseVerbArgs(vb, []string{"store1", "dev12", "--weight=0", "--status", "drain"})
	if err != nil {
		t.Fatal(err)
	}
	if a["hostname"] != "store1" || a["devid"] != "12" || a["weight"] != "0" || a["status"] != "drain" {
		t.Fatalf("args = %v", a)
	}
	var ue usageErr
	for _, tc := range []struct {
		cmd, verb string
		in        []string
		msg       string
	}{
		{"host", "add", nil, "Missing argument 'hostname'"},
		{"device", "add", []string{"store1"}, "Missing argument 'devid'"},
		{"domain", "add", []string{"a", "b"}, "Unexpected extra argument."},
		{"host", "list", []string{"x"}, "Unexpected arguments when expecting none."},
		{"host", "add", []string{"h", "--port=abc"}, ""},
		{"host", "add", []string{"h", "--bogus=1"}, ""},
	} {
		_, err := parseVerbArgs(commands[tc.cmd].verbs[tc.verb], tc.in)
		if !errors.As(err, &ue) || (tc.msg != "" && string(ue) != tc.msg) {
			t.Errorf("%s %s %v: err = %v (%q), want usage error %q", tc.cmd, tc.verb, tc.in, err, ue, tc.msg)
		}
	}
	a, err = parseVerbArgs(commands["fsck"].verbs["reset"], []string{"--policy-only", "--startpos=10"})
	if err != nil || a["policy-only"] != "1" || a["startpos"] != "10" {
		t.Fatalf("fsck reset: %v %v", a, err)
	}
}

func TestSplitGlobals(t *testing.T) {
	g, rest, err := splitGlobals([]string{"--trackers", "t:1", "host", "add", "h", "--ip=1.2.3.4", "-verbose", "--config=/c"})
	if err != nil {
		t.Fatal(err)
	}
	if g["trackers"] != "t:1" || g["verbose"] != "1" || g["config"] != "/c" || strings.Join(rest, " ") != "host add h --ip=1.2.3.4" {
		t.Fatalf("globals %v rest %v", g, rest)
	}
	if _, _, err := splitGlobals([]string{"check", "--trackers"}); err == nil {
		t.Fatal("--trackers without a value accepted")
	}
}

func TestUsageTexts(t *testing.T) {
	var b bytes.Buffer
	printUsage(&b)
	for _, want := range []string{
		"Usage:  (enter any command prefix, leaving off options, for further help)\n\n",
		"  mogadm check                     ",
		"  mogadm host ...\n",
		"         host add ...              ",
		"         host list                 ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	b.Reset()
	printCommandHelp(&b, "device", "add")
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "Help for 'device-add' command:" || !strings.HasPrefix(lines[2], "  mogadm device add <hostname> <devid> [opts]        ") ||
		!strings.HasPrefix(lines[4], "      <devid>  ") || !strings.HasPrefix(lines[6], "      --status=s ") {
		t.Fatalf("verb help:\n%s", b.String())
	}
	// Every verb in the table has a handler.
	for name, c := range commands {
		for v := range c.verbs {
			if handlers[name+" "+v] == nil {
				t.Errorf("no handler for %s %s", name, v)
			}
		}
	}
}
