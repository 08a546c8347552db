package mogadm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

// out returns a buffered stdout; the caller flushes it.
func (t *tool) out() *bufio.Writer { return bufio.NewWriter(t.env.Stdout) }

func flush(w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return cli.FileFail("Error writing output", err)
	}
	return nil
}

func hostArgs(a args) admin.HostArgs {
	var h admin.HostArgs
	set := func(k string, p **string) {
		if v, ok := a[k]; ok {
			*p = admin.S(v)
		}
	}
	set("ip", &h.IP)
	set("port", &h.Port)
	set("getport", &h.GetPort)
	set("altip", &h.AltIP)
	set("altmask", &h.AltMask)
	set("status", &h.Status)
	return h
}

// ---- hosts ----

func (t *tool) hostList(ctx context.Context, a args) (okMsg, error) {
	hosts, err := t.adm.Hosts(ctx)
	if err != nil {
		return "", failText(msgNoHosts + " (" + cli.Errstr(err) + ")")
	}
	w := t.out()
	FormatHostList(w, hosts)
	return "", flush(w)
}

func (t *tool) hostAdd(ctx context.Context, a args) (okMsg, error) {
	hosts, err := t.adm.Hosts(ctx)
	if err != nil {
		return "", failText(msgNoHosts + " (" + cli.Errstr(err) + ")")
	}
	name := a["hostname"]
	for _, h := range hosts {
		if h.Name == name {
			return "", failText("Host already exists.")
		}
	}
	if a["ip"] == "" {
		ip, err := resolveIPv4(ctx, name)
		if err != nil {
			return "", failText(msgNoIP)
		}
		a["ip"] = ip
	}
	if v := a["port"]; v == "" || v == "0" {
		a["port"] = "7500"
	}
	if a["status"] == "" {
		a["status"] = "down"
	}
	if err := t.adm.CreateHost(ctx, name, hostArgs(a)); err != nil {
		return "", fail("Failure creating host: ", err)
	}
	return "Host has been created.", nil
}

// resolveIPv4 looks up a host name (the host table holds IPv4 addresses).
func resolveIPv4(ctx context.Context, name string) (string, error) {
	addrs, err := net.DefaultResolver.LookupIP(ctx, "ip4", name)
	if err != nil {
		return "", err
	}
	if len(addrs) == 0 {
		return "", errors.New("no address")
	}
	return addrs[0].String(), nil
}

func (t *tool) hostModify(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.UpdateHost(ctx, a["hostname"], hostArgs(a)); err != nil {
		return "", fail("Failure modifying host: ", err)
	}
	return "Host has been modified.", nil
}

func (t *tool) hostMark(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.UpdateHost(ctx, a["hostname"], admin.HostArgs{Status: admin.S(a["status"])}); err != nil {
		return "", fail("Failure updating host status: ", err)
	}
	return "Host status updated.", nil
}

func (t *tool) hostDelete(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.DeleteHost(ctx, a["hostname"]); err != nil {
		return "", fail("Failure deleting host: ", err)
	}
	return "Host has been deleted.", nil
}

// ---- devices ----

func (t *tool) hostsAndDevices(ctx context.Context) ([]admin.Host, []admin.Device, error) {
	hosts, err := t.adm.Hosts(ctx)
	if err != nil {
		return nil, nil, failText(msgNoHosts + " (" + cli.Errstr(err) + ")")
	}
	devs, err := t.adm.Devices(ctx)
	if err != nil {
		return nil, nil, failText(msgNoDevices + " (" + cli.Errstr(err) + ")")
	}
	return hosts, devs, nil
}

func (t *tool) deviceList(ctx context.Context, a args) (okMsg, error) {
	hosts, devs, err := t.hostsAndDevices(ctx)
	if err != nil {
		return "", err
	}
	w := t.out()
	FormatDeviceList(w, hosts, devs, a["all"] == "1", a["hostname"])
	return "", flush(w)
}

func (t *tool) deviceSummary(ctx context.Context, a args) (okMsg, error) {
	hosts, devs, err := t.hostsAndDevices(ctx)
	if err != nil {
		return "", err
	}
	states := "alive,readonly,drain"
	if v := a["status"]; v != "" {
		states = v
	}
	w := t.out()
	FormatDeviceSummary(w, hosts, devs, strings.Split(states, ","), a["hostname"])
	return "", flush(w)
}

func (t *tool) deviceAdd(ctx context.Context, a args) (okMsg, error) {
	if _, err := t.adm.Hosts(ctx); err != nil {
		return "", failText(msgNoHosts + " (" + cli.Errstr(err) + ")")
	}
	if !isDigits(a["devid"]) {
		return "", usageErr("devid should be numeric")
	}
	devid, err := strconv.Atoi(a["devid"])
	if err != nil {
		return "", usageErr("devid should be numeric")
	}
	state := a["status"]
	if state == "" {
		state = "alive"
	}
	if err := t.adm.CreateDevice(ctx, a["hostname"], devid, state); err != nil {
		return "", fail("Error adding device: ", err)
	}
	return "Device added.", nil
}

func (t *tool) drainNote(a args) {
	if a["status"] == "drain" {
		fmt.Fprintln(t.env.Stdout, "NOTE: 'drain' only stops new files going to the device; files move off it only with 'mogadm rebalance'.")
	}
}

func deviceID(a args) (int, error) {
	n, err := strconv.Atoi(a["devid"])
	if err != nil || n <= 0 {
		return 0, usageErr("devid should be numeric")
	}
	return n, nil
}

func (t *tool) deviceMark(ctx context.Context, a args) (okMsg, error) {
	devid, err := deviceID(a)
	if err != nil {
		return "", err
	}
	t.drainNote(a)
	if err := t.adm.SetDeviceState(ctx, a["hostname"], devid, a["status"]); err != nil {
		return "", fail("Error updating device: ", err)
	}
	return "Device updated.", nil
}

func (t *tool) deviceModify(ctx context.Context, a args) (okMsg, error) {
	devid, err := deviceID(a)
	if err != nil {
		return "", err
	}
	t.drainNote(a)
	if s, ok := a["status"]; ok && s != "" {
		if err := t.adm.SetDeviceState(ctx, a["hostname"], devid, s); err != nil {
			return "", fail("Error updating device: ", err)
		}
	}
	// The original skips a weight of 0; it is a valid weight.
	if wt, ok := a["weight"]; ok {
		n, _ := strconv.Atoi(wt)
		if err := t.adm.SetDeviceWeight(ctx, a["hostname"], devid, n); err != nil {
			return "", fail("Error updating device: ", err)
		}
	}
	return "Device updated.", nil
}

func (t *tool) deviceNext(ctx context.Context, a args) (okMsg, error) {
	devs, err := t.adm.Devices(ctx)
	if err != nil || len(devs) == 0 {
		return "", failText(msgNoDevices)
	}
	max := 0
	for _, d := range devs {
		if d.ID > max {
			max = d.ID
		}
	}
	fmt.Fprintln(t.env.Stdout, max+1)
	return "", nil
}

// ---- domains and classes ----

func (t *tool) domainList(ctx context.Context, a args) (okMsg, error) {
	doms, err := t.adm.Domains(ctx)
	if err != nil {
		return "", failText(msgNoDomains + " (" + cli.Errstr(err) + ")")
	}
	w := t.out()
	FormatDomainList(w, doms)
	return "", flush(w)
}

func (t *tool) domainAdd(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.CreateDomain(ctx, a["domain"]); err != nil {
		return "", fail("Error creating domain: ", err)
	}
	return "Domain created.", nil
}

func (t *tool) domainDelete(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.DeleteDomain(ctx, a["domain"]); err != nil {
		return "", fail("Error deleting domain: ", err)
	}
	return "Domain deleted.", nil
}

func classArgs(a args, mindev int) admin.ClassArgs {
	c := admin.ClassArgs{MinDevCount: mindev, ReplPolicy: a["replpolicy"], HashType: a["hashtype"]}
	if n, err := strconv.Atoi(a["mindevcount"]); err == nil && n != 0 {
		c.MinDevCount = n
	}
	return c
}

func (t *tool) classAdd(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.CreateClass(ctx, a["domain"], a["class"], classArgs(a, 2)); err != nil {
		return "", fail("Error creating class: ", err)
	}
	return "Class created.", nil
}

func (t *tool) classModify(ctx context.Context, a args) (okMsg, error) {
	// The original resets mindevcount to 2 when --mindevcount is not
	// given; keep the class's current value instead.
	mindev := 2
	if _, ok := a["mindevcount"]; !ok {
		doms, err := t.adm.Domains(ctx)
		if err != nil {
			return "", fail("Error updating class: ", err)
		}
		for _, d := range doms {
			if d.Name != a["domain"] {
				continue
			}
			for _, c := range d.Classes {
				if c.Name == a["class"] {
					mindev = c.MinDevCount
				}
			}
		}
	}
	if err := t.adm.UpdateClass(ctx, a["domain"], a["class"], classArgs(a, mindev)); err != nil {
		return "", fail("Error updating class: ", err)
	}
	return "Class updated.", nil
}

func (t *tool) classDelete(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.DeleteClass(ctx, a["domain"], a["class"]); err != nil {
		return "", fail("Error deleting class: ", err)
	}
	return "Class deleted.", nil
}

// ---- slaves ----

func (t *tool) slaveList(ctx context.Context, a args) (okMsg, error) {
	slaves, err := t.adm.Slaves(ctx)
	if err != nil {
		return "", fail("Error listing slaves: ", err)
	}
	w := t.out()
	for _, s := range slaves {
		fmt.Fprintf(w, "%s --dsn=%s --username=%s --password=%s\n", s.Key, s.DSN, s.Username, s.Password)
	}
	return "", flush(w)
}

func (t *tool) slaveAdd(ctx context.Context, a args) (okMsg, error) {
	err := t.adm.AddSlave(ctx, admin.Slave{Key: a["slave_key"], DSN: a["dsn"], Username: a["username"], Password: a["password"]})
	if err != nil {
		return "", fail("Slave failed to be added: ", err)
	}
	return "Slave added", nil
}

func (t *tool) slaveModify(ctx context.Context, a args) (okMsg, error) {
	opt := func(k string) *string {
		if v, ok := a[k]; ok {
			return &v
		}
		return nil
	}
	if err := t.adm.ModifySlave(ctx, a["slave_key"], opt("dsn"), opt("username"), opt("password")); err != nil {
		return "", fail("Slave modify failure: ", err)
	}
	return "Slave modify success", nil
}

func (t *tool) slaveDelete(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.DeleteSlave(ctx, a["slave_key"]); err != nil {
		return "", fail("Slave delete failed: ", err)
	}
	return "Slave deleted", nil
}

// ---- fsck ----

func (t *tool) fsckStart(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.FsckStart(ctx); err != nil {
		return "", fail("", err)
	}
	return "fsck started", nil
}

func (t *tool) fsckStop(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.FsckStop(ctx); err != nil {
		return "", fail("", err)
	}
	return "fsck stopped", nil
}

func (t *tool) fsckReset(ctx context.Context, a args) (okMsg, error) {
	start := int64(-1)
	if v, ok := a["startpos"]; ok {
		start, _ = strconv.ParseInt(v, 10, 64)
	}
	if err := t.adm.FsckReset(ctx, a["policy-only"] == "1", start); err != nil {
		return "", fail("", err)
	}
	return "fsck reset", nil
}

func (t *tool) fsckClearlog(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.FsckClearLog(ctx); err != nil {
		return "", fail("", err)
	}
	return "fsck log cleared", nil
}

func (t *tool) fsckStatus(ctx context.Context, a args) (okMsg, error) {
	st, err := t.adm.FsckStatus(ctx)
	if err != nil {
		return "", fail("can't get fsck status: ", err)
	}
	w := t.out()
	FormatFsckStatus(w, st)
	return "", flush(w)
}

func (t *tool) fsckPrintlog(ctx context.Context, a args) (okMsg, error) {
	return "", t.dumpLog(ctx, 0, false)
}

func (t *tool) fsckTaillog(ctx context.Context, a args) (okMsg, error) {
	st, err := t.adm.FsckStatus(ctx)
	if err != nil {
		return "", fail("can't get fsck status: ", err)
	}
	max, _ := strconv.ParseInt(st["max_logid"], 10, 64)
	return "", t.dumpLog(ctx, max-20, true)
}

// tailPoll is how often "fsck taillog" asks for new rows.
const tailPoll = 5 * time.Second

// dumpLog prints log rows after logid; it stops when no more rows come,
// unless follow (then it polls until interrupted).
func (t *tool) dumpLog(ctx context.Context, after int64, follow bool) error {
	w := t.out()
	FormatFsckLogHeader(w)
	for {
		rows, err := t.adm.FsckLog(ctx, after)
		if err != nil {
			w.Flush()
			if ctx.Err() != nil && follow {
				return nil
			}
			return fail("", err)
		}
		if len(rows) == 0 {
			if err := flush(w); err != nil {
				return err
			}
			if !follow {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(tailPoll):
			}
			continue
		}
		for _, r := range rows {
			FormatFsckLogRow(w, r)
			after = r.LogID
		}
	}
}

// ---- rebalance ----

func (t *tool) rebalanceStart(ctx context.Context, a args) (okMsg, error) {
	if _, err := t.adm.RebalanceStart(ctx); err != nil {
		return "", fail("", err)
	}
	return "rebalance started", nil
}

func (t *tool) rebalanceStop(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.RebalanceStop(ctx); err != nil {
		return "", fail("", err)
	}
	return "rebalance stopped", nil
}

func (t *tool) rebalanceReset(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.RebalanceReset(ctx); err != nil {
		return "", fail("", err)
	}
	return "rebalance reset", nil
}

func (t *tool) rebalanceTest(ctx context.Context, a args) (okMsg, error) {
	sdevs, ddevs, err := t.adm.RebalanceTest(ctx)
	if err != nil {
		return "", fail("", err)
	}
	ss, err := t.adm.ServerSettings(ctx)
	if err != nil {
		return "", fail("", err)
	}
	w := t.out()
	fmt.Fprintln(w, "Tested rebalance policy...")
	fmt.Fprintf(w, "Policy: %s\n\n", ss["rebal_policy"])
	sort.Strings(sdevs)
	sort.Strings(ddevs)
	fmt.Fprintln(w, "Source devices:")
	for _, d := range sdevs {
		fmt.Fprintf(w, " - %s\n", d)
	}
	fmt.Fprintln(w, "Destination devices:")
	for _, d := range ddevs {
		fmt.Fprintf(w, " - %s\n", d)
	}
	return "", flush(w)
}

func (t *tool) rebalanceStatus(ctx context.Context, a args) (okMsg, error) {
	ss, err := t.adm.ServerSettings(ctx)
	if err != nil {
		return "", fail("", err)
	}
	state, err := t.adm.RebalanceStatus(ctx)
	if err != nil {
		return "", fail("", err)
	}
	w := t.out()
	if ss["rebal_host"] != "" {
		fmt.Fprintln(w, "Rebalance is running")
	} else {
		fmt.Fprintln(w, "Rebalance is stopped")
	}
	fmt.Fprintln(w, "Rebalance status:")
	m := map[string]string{}
	for _, f := range strings.Fields(state) {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	FormatSettings(w, m, func(string) bool { return true })
	return "", flush(w)
}

func (t *tool) rebalanceSettings(ctx context.Context, a args) (okMsg, error) {
	ss, err := t.adm.ServerSettings(ctx)
	if err != nil {
		return "", fail("can't get settings: ", err)
	}
	w := t.out()
	FormatSettings(w, ss, func(k string) bool { return strings.HasPrefix(k, "rebal_") && k != "rebal_state" })
	return "", flush(w)
}

func (t *tool) rebalancePolicy(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.RebalanceSetPolicy(ctx, a["options"]); err != nil {
		return "", fail("", err)
	}
	return "changed policy setting", nil
}

// ---- settings ----

func (t *tool) settingsList(ctx context.Context, a args) (okMsg, error) {
	ss, err := t.adm.ServerSettings(ctx)
	if err != nil {
		return "", fail("can't get settings: ", err)
	}
	w := t.out()
	FormatSettings(w, ss, func(k string) bool { return !strings.HasPrefix(k, "rebal") })
	return "", flush(w)
}

func (t *tool) settingsSet(ctx context.Context, a args) (okMsg, error) {
	if err := t.adm.SetServerSetting(ctx, a["key"], a["value"]); err != nil {
		return "", fail("", err)
	}
	return "", nil
}
