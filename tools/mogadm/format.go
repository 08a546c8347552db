package mogadm

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
)

// byIDString sorts ids the way the original does: as strings ("10" before
// "2").
func byIDString(ids []int) {
	sort.Slice(ids, func(i, j int) bool { return strconv.Itoa(ids[i]) < strconv.Itoa(ids[j]) })
}

// FormatHostList prints "host list".
func FormatHostList(w io.Writer, hosts []admin.Host) {
	byID := map[int]admin.Host{}
	ids := make([]int, 0, len(hosts))
	for _, h := range hosts {
		byID[h.ID] = h
		ids = append(ids, h.ID)
	}
	byIDString(ids)
	for _, id := range ids {
		h := byID[id]
		fmt.Fprintf(w, "%s [%d]: %s\n", h.Name, h.ID, h.Status)
		getPort := ""
		if h.HTTPGetPort != 0 {
			getPort = strconv.Itoa(h.HTTPGetPort)
		}
		for _, kv := range [][2]string{
			{"IP", h.IP + ":" + strconv.Itoa(h.HTTPPort)},
			{"Alt IP", h.AltIP},
			{"Alt Mask", h.AltMask},
			{"GET Port", getPort},
		} {
			if kv[1] == "" {
				continue
			}
			fmt.Fprintf(w, "  %-10s%s\n", kv[0]+":", kv[1])
		}
		fmt.Fprintln(w)
	}
}

func devicesByHost(devs []admin.Device) map[int][]admin.Device {
	m := map[int][]admin.Device{}
	for _, d := range devs {
		m[d.HostID] = append(m[d.HostID], d)
	}
	for _, l := range m {
		sort.Slice(l, func(i, j int) bool { return strconv.Itoa(l[i].ID) < strconv.Itoa(l[j].ID) })
	}
	return m
}

func sortedHosts(hosts []admin.Host) []admin.Host {
	out := append([]admin.Host(nil), hosts...)
	sort.Slice(out, func(i, j int) bool { return strconv.Itoa(out[i].ID) < strconv.Itoa(out[j].ID) })
	return out
}

// FormatDeviceList prints "device list"; all includes dead devices,
// hostname ("" = all) limits it to one host.
func FormatDeviceList(w io.Writer, hosts []admin.Host, devs []admin.Device, all bool, hostname string) {
	per := devicesByHost(devs)
	for _, h := range sortedHosts(hosts) {
		if hostname != "" && hostname != h.Name {
			continue
		}
		fmt.Fprintf(w, "%s [%d]: %s\n", h.Name, h.ID, h.Status)
		fmt.Fprintf(w, "%7s  %-7s %10s %10s %10s %10s\n", "", "", "used(G)", "free(G)", "total(G)", "weight(%)")
		for _, d := range per[h.ID] {
			if d.Status == "dead" && !all {
				continue
			}
			total := float64(d.MBTotal) / 1024
			used := float64(d.MBUsed) / 1024
			fmt.Fprintf(w, "%7s: %7s %10.3f %10.3f %10.3f %10d\n", "dev"+strconv.Itoa(d.ID), d.Status, used, total-used, total, d.Weight)
		}
		fmt.Fprintln(w)
	}
}

// FormatDeviceSummary prints "device summary": per host, the space of its
// devices whose state is in states.
func FormatDeviceSummary(w io.Writer, hosts []admin.Host, devs []admin.Device, states []string, hostname string) {
	show := map[string]bool{}
	for _, s := range states {
		show[s] = true
	}
	per := devicesByHost(devs)
	fmt.Fprintf(w, "%-15s %6s %7s  %8s %8s %8s %8s\n", "Hostname", "HostID", "Status", "used(G)", "free(G)", "total(G)", "%Used")
	for _, h := range sortedHosts(hosts) {
		if hostname != "" && hostname != h.Name {
			continue
		}
		var total, used float64
		for _, d := range per[h.ID] {
			if !show[d.Status] {
				continue
			}
			total += float64(d.MBTotal) / 1024
			used += float64(d.MBUsed) / 1024
		}
		fmt.Fprintf(w, "%-15s [%4d]: %6s", h.Name, h.ID, h.Status)
		fmt.Fprintf(w, "  %8.3f %8.3f %8.3f ", used, total-used, total)
		if total != 0 {
			fmt.Fprintf(w, "%8.2f", 100*used/total)
		}
		fmt.Fprintln(w)
	}
}

// FormatDomainList prints "domain list" / "class list".
func FormatDomainList(w io.Writer, doms []client.DomainInfo) {
	fmt.Fprintf(w, " %-20s %-20s %-12s  %-12s %-7s\n", "domain", "class", "mindevcount", "replpolicy", "hashtype")
	fmt.Fprintf(w, "%-20s %-20s %-12s %-12s %-7s\n", strings.Repeat("-", 20), strings.Repeat("-", 20),
		strings.Repeat("-", 13), strings.Repeat("-", 12), strings.Repeat("-", 7))
	ds := append([]client.DomainInfo(nil), doms...)
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	for _, d := range ds {
		cs := append([]client.ClassInfo(nil), d.Classes...)
		sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
		for _, c := range cs {
			fmt.Fprintf(w, " %-20s %-20s      %-8d %-13s %-7s\n", d.Name, c.Name, c.MinDevCount, c.ReplPolicy, c.HashType)
		}
		fmt.Fprintln(w)
	}
}

// FormatSettings prints sorted "key = value" lines, as settings list,
// rebalance settings and rebalance status do.
func FormatSettings(w io.Writer, m map[string]string, keep func(string) bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if keep(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%25s = %-s\n", k, m[k])
	}
}

// FormatFsckStatus prints "fsck status" from the fsck_status reply.
func FormatFsckStatus(w io.Writer, st map[string]string) {
	known := map[string]bool{"current_time": true, "max_logid": true}
	get := func(k string) string {
		known[k] = true
		return st[k]
	}
	num := func(k string) float64 {
		f, _ := strconv.ParseFloat(get(k), 64)
		return f
	}
	line := func(k, v string) { fmt.Fprintf(w, "%11s: %-s\n", k, v) }
	truthy := func(v string) bool { return v != "" && v != "0" }

	fmt.Fprintln(w)
	host := get("host")
	if truthy(get("running")) {
		line("Running", "Yes (on "+host+")")
	} else {
		line("Running", "No")
	}
	ratio := 0.0
	if truthy(get("end_fid")) {
		ratio = num("max_fid_checked") / num("end_fid")
	}
	line("Status", fmt.Sprintf("%s / %s (%0.2f%%)", get("max_fid_checked"), get("end_fid"), 100*ratio))
	elapsed := 0.0
	if truthy(get("start_time")) {
		end := num("stop_time")
		if !truthy(st["stop_time"]) {
			end = num("current_time")
		}
		elapsed = end - num("start_time")
	}
	perSec := 0.0
	if elapsed != 0 {
		perSec = num("max_fid_checked") / elapsed
	}
	remain := 0.0
	if perSec != 0 {
		remain = (num("end_fid") - num("max_fid_checked")) / perSec
	}
	// The original formats the rate with %0.1f and then prints it with %d.
	rate, _ := strconv.ParseFloat(fmt.Sprintf("%0.1f", perSec), 64)
	line("Time", fmt.Sprintf("%s (%d fids/s; %s remain)", asTime(elapsed), int64(rate), asTime(remain)))
	if truthy(get("policy_only")) {
		line("Check Type", "Repl policy only (skip file checks)")
	} else {
		line("Check Type", "Normal (check policy + files)")
	}
	var unknown []string
	for k := range st {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		fmt.Fprintln(w)
		for _, k := range unknown {
			line("["+k+"]", st[k])
		}
	}
	fmt.Fprintln(w)
}

// asTime renders seconds as "42s" under a minute, else whole minutes.
func asTime(s float64) string {
	if s < 60 {
		return strconv.FormatInt(int64(s), 10) + "s"
	}
	return strconv.FormatInt(int64(s/60), 10) + "m"
}

// fsckLogFormat is the column layout of fsck printlog/taillog.
const fsckLogFormat = "%-20s %5s %13s %10s\n"

// FormatFsckLogHeader prints the fsck log's column header.
func FormatFsckLogHeader(w io.Writer) {
	fmt.Fprintf(w, fsckLogFormat, "unixtime", "event", "fid", "devid")
}

// FormatFsckLogRow prints one fsck log row.
func FormatFsckLogRow(w io.Writer, r admin.FsckLogRow) {
	dev := r.DevID
	if dev == "" || dev == "0" {
		dev = "-"
	}
	fmt.Fprintf(w, fsckLogFormat, r.UTime, r.EvCode, r.FID, dev)
}
