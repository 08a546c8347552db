package tracker_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// TestAdmin covers the namespace, host, device and settings commands and
// their ERR paths on SQLite and MariaDB.
func TestAdmin(t *testing.T) {
	forBackends(t, func(t *testing.T, o mogtest.TrackerOptions) {
		// No job master: no replication, deletion or fsck/rebalance runs
		// behind the test's back.
		o.Args = append(o.Args, "--no-job_master")
		cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: o, Hosts: 2})
		c := cl.Tracker.Conn(t)
		t.Run("domains", func(t *testing.T) { testDomains(t, c) })
		t.Run("classes", func(t *testing.T) { testClasses(t, c, cl) })
		t.Run("hosts", func(t *testing.T) { testHosts(t, c) })
		t.Run("devices", func(t *testing.T) { testDevices(t, c, cl) })
		t.Run("settings", func(t *testing.T) { testSettings(t, c) })
		t.Run("fsck", func(t *testing.T) { testFsck(t, c) })
		t.Run("rebalance", func(t *testing.T) { testRebalance(t, c) })
	})
}

func domainClasses(t *testing.T, c *mogtest.TrackerConn, domain string) map[string]map[string]string {
	t.Helper()
	a := ok(t, c, "get_domains")
	n := atoi(t, a["domains"])
	for i := 1; i <= n; i++ {
		p := "domain" + strconv.Itoa(i)
		if a[p] != domain {
			continue
		}
		out := map[string]map[string]string{}
		for j := 1; j <= atoi(t, a[p+"classes"]); j++ {
			cp := p + "class" + strconv.Itoa(j)
			out[a[cp+"name"]] = map[string]string{
				"mindevcount": a[cp+"mindevcount"], "replpolicy": a[cp+"replpolicy"], "hashtype": a[cp+"hashtype"],
			}
		}
		return out
	}
	return nil
}

func testDomains(t *testing.T, c *mogtest.TrackerConn) {
	wantErr(t, c, "create_domain", "no_domain", "No domain provided")
	wantErr(t, c, "create_domain domain=", "no_domain", "")
	a := ok(t, c, "create_domain domain=dom.a")
	if a["domain"] != "dom.a" {
		t.Fatalf("create_domain reply: %v", a)
	}
	wantErr(t, c, "create_domain domain=dom.a", "domain_exists", "That domain already exists")
	wantErr(t, c, "create_domain domain="+strings.Repeat("d", 256), "failure", "Domain name longer than 255 bytes")
	cls := domainClasses(t, c, "dom.a")
	if d := cls["default"]; d == nil || d["mindevcount"] != "2" || d["replpolicy"] != "MultipleHosts()" || d["hashtype"] != "NONE" {
		t.Fatalf("implicit default class: %v", cls)
	}
	wantErr(t, c, "delete_domain", "no_domain", "")
	wantErr(t, c, "delete_domain domain=nope", "domain_not_found", "Domain not found")
	ok(t, c, "create_class domain=dom.a&class=c1&mindevcount=1")
	wantErr(t, c, "delete_domain domain=dom.a", "domain_has_classes", "domain_has_classes")
	ok(t, c, "delete_class domain=dom.a&class=c1")
	a = ok(t, c, "delete_domain domain=dom.a")
	if a["domain"] != "dom.a" {
		t.Fatalf("delete_domain reply: %v", a)
	}
	if domainClasses(t, c, "dom.a") != nil {
		t.Fatal("domain still listed")
	}
	// A domain with files cannot be deleted.
	ok(t, c, "create_domain domain=dom.files")
	store(t, c, "dom.files", "", "k", []byte("data"))
	wantErr(t, c, "delete_domain domain=dom.files", "domain_has_files", "Domain still has files, unable to delete")
	// Unknown domains in file commands.
	wantErr(t, c, "get_paths domain=nope&key=x", "unreg_domain", "Domain name invalid/not found")
	wantErr(t, c, "get_paths key=x", "no_domain", "")
}

func testClasses(t *testing.T, c *mogtest.TrackerConn, cl *mogtest.Cluster) {
	ok(t, c, "create_domain domain=cls")
	wantErr(t, c, "create_class class=a&mindevcount=1", "no_domain", "")
	wantErr(t, c, "create_class domain=cls&mindevcount=1", "no_class", "No class provided")
	wantErr(t, c, "create_class domain=cls&class=a", "invalid_mindevcount", "The mindevcount must be at least 1")
	wantErr(t, c, "create_class domain=cls&class=a&mindevcount=0", "invalid_mindevcount", "")
	wantErr(t, c, "create_class domain=cls&class=a&mindevcount=x", "invalid_mindevcount", "")
	wantErr(t, c, "create_class domain=cls&class=a&mindevcount=1&replpolicy=Bogus(", "invalid_replpolicy", "")
	wantErr(t, c, "create_class domain=cls&class=a&mindevcount=1&hashtype=CRC", "invalid_hashtype", "invalid_hashtype")
	wantErr(t, c, "create_class domain=nope&class=a&mindevcount=1", "domain_not_found", "")
	a := ok(t, c, "create_class domain=cls&class=a&mindevcount=3&replpolicy=MultipleDevices()&hashtype=MD5")
	if a["class"] != "a" || a["mindevcount"] != "3" || a["domain"] != "cls" {
		t.Fatalf("create_class reply: %v", a)
	}
	wantErr(t, c, "create_class domain=cls&class=a&mindevcount=1", "class_exists", "That class already exists in that domain")
	cls := domainClasses(t, c, "cls")
	if a := cls["a"]; a["mindevcount"] != "3" || a["replpolicy"] != "MultipleDevices()" || a["hashtype"] != "MD5" {
		t.Fatalf("class a: %v", cls)
	}
	// update_class keeps the policy when none is given; NONE clears the
	// hash type.
	ok(t, c, "update_class domain=cls&class=a&mindevcount=2&hashtype=NONE")
	cls = domainClasses(t, c, "cls")
	if a := cls["a"]; a["mindevcount"] != "2" || a["replpolicy"] != "MultipleDevices()" || a["hashtype"] != "NONE" {
		t.Fatalf("class a after update: %v", cls)
	}
	ok(t, c, "update_class domain=cls&class=a&mindevcount=2&replpolicy=MultipleHosts(2)")
	if cls = domainClasses(t, c, "cls"); cls["a"]["replpolicy"] != "MultipleHosts(2)" {
		t.Fatalf("class a policy: %v", cls)
	}
	wantErr(t, c, "update_class domain=cls&class=zz&mindevcount=2", "class_not_found", "Class not found")
	// Updating the implicit default class creates its row.
	ok(t, c, "update_class domain=cls&class=default&mindevcount=4")
	if cls = domainClasses(t, c, "cls"); cls["default"]["mindevcount"] != "4" {
		t.Fatalf("default class: %v", cls)
	}
	wantErr(t, c, "delete_class domain=cls&class=default", "nodel_default_class", "")
	wantErr(t, c, "delete_class class=a", "no_domain", "")
	wantErr(t, c, "delete_class domain=cls", "no_class", "")
	wantErr(t, c, "delete_class domain=nope&class=a", "domain_not_found", "")
	wantErr(t, c, "delete_class domain=cls&class=zz", "class_not_found", "")
	store(t, c, "cls", "a", "in-a", []byte("x"))
	wantErr(t, c, "delete_class domain=cls&class=a", "class_has_files", "Class still has files, unable to delete")
	ok(t, c, "create_class domain=cls&class=b&mindevcount=1")
	a = ok(t, c, "delete_class domain=cls&class=b")
	if a["domain"] != "cls" || a["class"] != "b" {
		t.Fatalf("delete_class reply: %v", a)
	}
	// create_open with an unknown class.
	wantErr(t, c, "create_open domain=cls&key=k&class=nope", "unreg_class", "unreg_class")
}

func hostsByName(t *testing.T, c *mogtest.TrackerConn, extra string) map[string]map[string]string {
	t.Helper()
	a := ok(t, c, "get_hosts "+extra)
	out := map[string]map[string]string{}
	for i := 1; i <= atoi(t, a["hosts"]); i++ {
		p := "host" + strconv.Itoa(i) + "_"
		h := map[string]string{}
		for _, f := range []string{"hostid", "status", "hostname", "hostip", "http_port", "http_get_port", "altip", "altmask"} {
			v, present := a[p+f]
			if !present {
				t.Fatalf("get_hosts lacks %s%s: %v", p, f, a)
			}
			h[f] = v
		}
		out[h["hostname"]] = h
	}
	return out
}

func testHosts(t *testing.T, c *mogtest.TrackerConn) {
	wantErr(t, c, "create_host ip=10.1.0.1&port=7500", "no_host", "No host provided")
	wantErr(t, c, "create_host host=h1&port=7500", "no_ip", "IP required to create host")
	wantErr(t, c, "create_host host=h1&ip=10.1.0.1", "no_port", "Port required to create host")
	wantErr(t, c, "create_host host=h1&ip=10.1.0.1&port=7500&status=bogus", "unknown_state", "Invalid/unknown state")
	wantErr(t, c, "create_host host=h1&ip=::1&port=7500", "failure", "Invalid IP address ::1")
	wantErr(t, c, "create_host host=h1&ip=10.1.0.1&port=99999", "failure", "Invalid port 99999")
	a := ok(t, c, "create_host host=h1&ip=10.1.0.1&port=7500")
	if a["hostname"] != "h1" || a["hostid"] == "" {
		t.Fatalf("create_host reply: %v", a)
	}
	hid := a["hostid"]
	wantErr(t, c, "create_host host=h1&ip=10.1.0.2&port=7500", "host_exists", "That host already exists")
	wantErr(t, c, "create_host host=h2&ip=10.1.0.1&port=7500", "dup", "Duplicate name/number used.")
	h := hostsByName(t, c, "")["h1"]
	if h["status"] != "down" || h["hostip"] != "10.1.0.1" || h["http_port"] != "7500" || h["http_get_port"] != "" {
		t.Fatalf("h1: %v", h)
	}
	wantErr(t, c, "update_host host=nope&status=alive", "host_not_found", "Host not found")
	ok(t, c, "create_host host=h2&ip=10.1.0.2&port=7500")
	wantErr(t, c, "update_host host=h2&ip=10.1.0.1", "dup", "")
	ok(t, c, "delete_host host=h2")
	wantErr(t, c, "update_host host=h1&status=bogus", "unknown_state", "")
	ok(t, c, "update_host host=h1&status=readonly&getport=7600&altip=10.2.0.1&altmask=10.3.0.0/16")
	h = hostsByName(t, c, "hostid="+hid)["h1"]
	if h["status"] != "readonly" || h["http_get_port"] != "7600" || h["altip"] != "10.2.0.1" || h["altmask"] != "10.3.0.0/16" {
		t.Fatalf("h1 after update: %v", h)
	}
	if hs := hostsByName(t, c, "hostid=99999"); len(hs) != 0 {
		t.Fatalf("hostid filter: %v", hs)
	}
	ok(t, c, "create_device hostname=h1&devid=901&state=down")
	wantErr(t, c, "delete_host host=h1", "host_not_empty", "Unable to delete host; it contains devices still")
	wantErr(t, c, "delete_host host=nope", "unknown_host", "Host not found")
	ok(t, c, "create_host host=h3&ip=10.1.0.3&port=7500")
	ok(t, c, "delete_host host=h3")
	if _, there := hostsByName(t, c, "")["h3"]; there {
		t.Fatal("h3 still listed")
	}
}

func devicesByID(t *testing.T, c *mogtest.TrackerConn, extra string) map[string]map[string]string {
	t.Helper()
	a := ok(t, c, "get_devices "+extra)
	out := map[string]map[string]string{}
	for i := 1; i <= atoi(t, a["devices"]); i++ {
		p := "dev" + strconv.Itoa(i) + "_"
		d := map[string]string{}
		for _, f := range []string{"devid", "hostid", "status", "weight", "mb_total", "mb_used", "mb_asof", "mb_free", "observed_state", "utilization", "reject_bad_md5"} {
			v, present := a[p+f]
			if !present {
				t.Fatalf("get_devices lacks %s%s: %v", p, f, a)
			}
			d[f] = v
		}
		out[d["devid"]] = d
	}
	return out
}

func testDevices(t *testing.T, c *mogtest.TrackerConn, cl *mogtest.Cluster) {
	ok(t, c, "create_host host=dh&ip=10.4.0.1&port=7500")
	hid := hostsByName(t, c, "")["dh"]["hostid"]
	wantErr(t, c, "create_device hostname=dh&devid=950&state=bogus", "invalid_state", "")
	wantErr(t, c, "create_device hostname=dh", "invalid_devid", "")
	wantErr(t, c, "create_device hostname=dh&devid=x1", "invalid_devid", "")
	wantErr(t, c, "create_device hostid=9999&devid=950", "unknown_hostid", "")
	wantErr(t, c, "create_device hostname=nope&devid=950", "unknown_host", "Host not found")
	wantErr(t, c, "create_device devid=950", "bad_args", "No hostid/hostname parameter")
	ok(t, c, "create_device hostid="+hid+"&devid=950")
	wantErr(t, c, "create_device hostname=dh&devid=950", "existing_devid", "")
	d := devicesByID(t, c, "devid=950")
	if len(d) != 1 || d["950"]["status"] != "alive" || d["950"]["weight"] != "100" || d["950"]["hostid"] != hid {
		t.Fatalf("dev950: %v", d)
	}
	// The real devices: writeable with usage.
	for _, n := range cl.Nodes {
		for _, id := range n.DevIDs {
			dv := devicesByID(t, c, "devid="+strconv.Itoa(id))[strconv.Itoa(id)]
			if dv["observed_state"] != "writeable" || dv["mb_total"] == "" || dv["mb_free"] == "" || dv["reject_bad_md5"] == "" {
				t.Fatalf("dev%d: %v", id, dv)
			}
		}
	}
	wantErr(t, c, "set_state host=dh&device=950", "bad_params", "")
	wantErr(t, c, "set_state host=dh&device=950&state=bogus", "bad_params", "")
	wantErr(t, c, "set_state device=950&state=down", "bad_params", "")
	wantErr(t, c, "set_state host=dh&device=9999&state=down", "no_device", "Device not found")
	wantErr(t, c, "set_state host=store1&device=950&state=down", "host_mismatch", "The device specified doesn't belong to the host specified")
	ok(t, c, "set_state host=dh&device=950&state=dead")
	wantErr(t, c, "set_state host=dh&device=950&state=alive", "state_too_high", "Status cannot go from dead to alive; must use down")
	ok(t, c, "set_state host=dh&device=950&state=down")
	if s := devicesByID(t, c, "devid=950")["950"]["status"]; s != "down" {
		t.Fatalf("status after set_state: %s", s)
	}
	wantErr(t, c, "set_weight host=dh&device=950&weight=-1", "bad_params", "")
	wantErr(t, c, "set_weight host=dh&device=9999&weight=5", "no_device", "")
	wantErr(t, c, "set_weight host=store1&device=950&weight=5", "host_mismatch", "")
	ok(t, c, "set_weight host=dh&device=950&weight=5")
	if w := devicesByID(t, c, "devid=950")["950"]["weight"]; w != "5" {
		t.Fatalf("weight: %s", w)
	}
}

func testSettings(t *testing.T, c *mogtest.TrackerConn) {
	wantErr(t, c, "set_server_setting value=1", "bad_params", "")
	wantErr(t, c, "set_server_setting key=schema_version&value=1", "not_writable", "not_writable")
	wantErr(t, c, "set_server_setting key=enable_rebalance&value=1", "not_writable", "")
	wantErr(t, c, "set_server_setting key=skip_mkcol&value=maybe", "invalid_format", "Unknown format")
	wantErr(t, c, "set_server_setting key=memcache_ttl&value=1h", "invalid_format", "Must be numeric")
	wantErr(t, c, "set_server_setting key=fsck_checksum&value=CRC", "invalid_format", "Not a valid checksum algorithm")
	wantErr(t, c, "set_server_setting key=zone_a&value=10.0.0.0/33", "invalid_format", "")
	ok(t, c, "set_server_setting key=case_sensitive_list_keys&value=Yes")
	if a := ok(t, c, "server_setting key=case_sensitive_list_keys"); a["key"] != "case_sensitive_list_keys" || a["value"] != "1" {
		t.Fatalf("server_setting: %v", a)
	}
	ok(t, c, "set_server_setting key=case_sensitive_list_keys&value=off")
	if a := ok(t, c, "server_setting key=case_sensitive_list_keys"); a["value"] != "0" {
		t.Fatalf("bool off: %v", a)
	}
	wantErr(t, c, "server_setting", "bad_params", "")
	if a := ok(t, c, "server_setting key=nothing_here"); a["value"] != "" || a["key"] != "nothing_here" {
		t.Fatalf("unset setting: %v", a)
	}
	ok(t, c, "set_server_setting key=slave_k1&value=DBI:mysql:x|u|p")
	ok(t, c, "set_server_setting key=slave_k1&value=DBI:mysql:y|u|p")
	if a := ok(t, c, "server_setting key=slave_version"); a["value"] != "2" {
		t.Fatalf("slave_version: %v", a)
	}
	ok(t, c, "set_server_setting key=slave_k1&value=")
	ok(t, c, "set_server_setting key=fsck_checksum&value=MD5")
	ok(t, c, "set_server_setting key=queue_rate_for_fsck&value=50")
	a := ok(t, c, "server_settings")
	got := map[string]string{}
	for i := 1; i <= atoi(t, a["key_count"]); i++ {
		got[a["key_"+strconv.Itoa(i)]] = a["value_"+strconv.Itoa(i)]
	}
	if got["fsck_checksum"] != "MD5" || got["queue_rate_for_fsck"] != "50" || got["schema_version"] != "17" {
		t.Fatalf("server_settings: %v", got)
	}
	if _, there := got["slave_k1"]; there {
		t.Fatal("blank slave_ setting not deleted")
	}
	ok(t, c, "set_server_setting key=fsck_checksum&value=class")
	if a := ok(t, c, "server_setting key=fsck_checksum"); a["value"] != "" {
		t.Fatalf("fsck_checksum=class must delete: %v", a)
	}
	// fsck_* settings are hidden from server_settings.
	ok(t, c, "fsck_reset")
	a = ok(t, c, "server_settings")
	for i := 1; i <= atoi(t, a["key_count"]); i++ {
		if k := a["key_"+strconv.Itoa(i)]; hasPrefix(k, "fsck_") {
			t.Fatalf("server_settings shows %s", k)
		}
	}
	if a := ok(t, c, "replicate_now"); a["count"] == "" {
		t.Fatalf("replicate_now: %v", a)
	}
}

func testFsck(t *testing.T, c *mogtest.TrackerConn) {
	ok(t, c, "fsck_reset")
	a := ok(t, c, "fsck_status")
	for _, k := range []string{"running", "host", "max_fid_checked", "policy_only", "end_fid", "start_time", "stop_time", "current_time", "max_logid"} {
		if _, there := a[k]; !there {
			t.Fatalf("fsck_status lacks %s: %v", k, a)
		}
	}
	if a["running"] != "0" {
		t.Fatalf("fsck running before start: %v", a)
	}
	ok(t, c, "fsck_start")
	a = ok(t, c, "fsck_status")
	if a["running"] != "1" || a["host"] == "" || a["start_time"] == "0" {
		t.Fatalf("fsck_status after start: %v", a)
	}
	wantErr(t, c, "fsck_start", "fsck_running", "fsck is already running")
	wantErr(t, c, "rebalance_start", "fsck_running", "")
	ok(t, c, "fsck_stop")
	a = ok(t, c, "fsck_status")
	if a["running"] != "0" || a["stop_time"] == "0" {
		t.Fatalf("fsck_status after stop: %v", a)
	}
	ok(t, c, "fsck_reset policy_only=1&startpos=5")
	a = ok(t, c, "fsck_status")
	if a["policy_only"] != "1" || a["max_fid_checked"] != "5" {
		t.Fatalf("fsck_status after reset: %v", a)
	}
	ok(t, c, "fsck_reset")
	ok(t, c, "fsck_clearlog")
	a = ok(t, c, "fsck_getlog")
	if a["row_count"] != "0" {
		t.Fatalf("fsck_getlog after clearlog: %v", a)
	}
}

func testRebalance(t *testing.T, c *mogtest.TrackerConn) {
	ok(t, c, "rebalance_reset")
	wantErr(t, c, "rebalance_status", "no_rebal_state", "No available rebalance status")
	wantErr(t, c, "rebalance_stop", "rebal_not_started", "Rebalance not running")
	ok(t, c, "rebalance_set_policy policy=")
	wantErr(t, c, "rebalance_test", "no_rebal_policy", "No rebalance policy available")
	wantErr(t, c, "rebalance_start", "no_rebal_policy", "")
	wantErr(t, c, "rebalance_set_policy policy=bogus_key%3D1", "bad_rebal_pol", "Invalid setting bogus_key")
	ok(t, c, "rebalance_set_policy policy="+wire.Escape("from_devices=1 to_devices=2"))
	a := ok(t, c, "rebalance_test")
	if a["sdevs"] != "1" || a["ddevs"] != "2" {
		t.Fatalf("rebalance_test: %v", a)
	}
	a = ok(t, c, "rebalance_start")
	if !strings.Contains(a["state"], "source_devs=1") {
		t.Fatalf("rebalance_start: %v", a)
	}
	wantErr(t, c, "rebalance_start", "rebal_running", "rebalance is already running")
	wantErr(t, c, "fsck_start", "rebal_running", "rebalance running; cannot run fsck at same time")
	wantErr(t, c, "rebalance_set_policy policy=from_devices%3D1", "no_set_rebal", "cannot change rebalance policy while rebalance is running")
	wantErr(t, c, "rebalance_reset", "rebal_running", "rebalance is running")
	if a := ok(t, c, "rebalance_status"); a["state"] == "" {
		t.Fatalf("rebalance_status: %v", a)
	}
	ok(t, c, "rebalance_stop")
	if a := ok(t, c, "server_setting key=rebal_signal"); a["value"] != "stop" {
		t.Fatalf("rebal_signal: %v", a)
	}
}
