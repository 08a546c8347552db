package mogadm

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
)

// checkTimeout bounds each HTTP request of "mogadm check".
const checkTimeout = 10 * time.Second

// check runs "mogadm check": every tracker, every alive host's HTTP
// server, and every non-dead device's usage file.
func (t *tool) check(ctx context.Context) (okMsg, error) {
	w := t.env.Stdout
	var hosts []admin.Host
	var devs []admin.Device
	fmt.Fprintln(w, "Checking trackers...")
	for _, tr := range t.trackers {
		fmt.Fprintf(w, "  %s ... ", tr)
		c, err := client.New(client.Config{Trackers: []string{tr}, Timeout: t.timeout})
		if err != nil {
			fmt.Fprintln(w, "INITIAL FAILURE (bad configuration?)")
			continue
		}
		a := admin.New(c)
		h, herr := a.Hosts(ctx)
		d, derr := a.Devices(ctx)
		c.Close()
		if herr != nil || derr != nil {
			fmt.Fprintln(w, "REQUEST FAILURE (is the tracker up?)")
			continue
		}
		fmt.Fprintln(w, "OK")
		hosts, devs = h, d
	}
	if hosts == nil {
		return "", failText(msgNoHosts)
	}
	fmt.Fprintln(w)

	hc := &http.Client{Timeout: checkTimeout}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].ID < hosts[j].ID })
	type hostURL struct {
		id  int
		url string
	}
	var urls []hostURL
	fmt.Fprintln(w, "Checking hosts...")
	for _, h := range hosts {
		fmt.Fprintf(w, "  [%2d] %s ... ", h.ID, h.Name)
		if h.Status != "alive" {
			fmt.Fprintf(w, "skipping; status = %s\n", h.Status)
			continue
		}
		u := "http://" + h.IP + ":" + strconv.Itoa(h.HTTPPort) + "/"
		if err := httpAnswers(ctx, hc, u); err != nil {
			fmt.Fprintf(w, "REQUEST FAILURE FETCHING: %s\n", u)
			continue
		}
		fmt.Fprintln(w, "OK")
		urls = append(urls, hostURL{h.ID, u})
	}
	if len(urls) == 0 {
		return "", failText("No host answered; cannot check devices.")
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Checking devices...")
	fmt.Fprintf(w, "  host device      %10s %10s %10s %7s  %7s   %4s\n", "size(G)", "used(G)", "free(G)", "use% ", "ob state", "I/O%")
	fmt.Fprintln(w, "  ---- ------------ ---------- ---------- ---------- ------ ---------- -----")
	per := map[int][]admin.Device{}
	for _, d := range devs {
		per[d.HostID] = append(per[d.HostID], d)
	}
	var sumTotal, sumUsed, sumAvail float64
	for _, hu := range urls {
		ds := per[hu.id]
		sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
		for _, d := range ds {
			if d.Status == "dead" {
				continue
			}
			fmt.Fprintf(w, "  [%2d] %-7s", hu.id, "dev"+strconv.Itoa(d.ID))
			uu := hu.url + "dev" + strconv.Itoa(d.ID) + "/usage"
			body, err := httpGet(ctx, hc, uu)
			if err != nil {
				fmt.Fprintf(w, "REQUEST FAILURE FETCHING: %s\n", uu)
				continue
			}
			u, msg := ParseUsage(body)
			if msg != "" {
				fmt.Fprintf(w, "%s: %s\n", msg, uu)
				continue
			}
			sumTotal += u.Total
			sumUsed += u.Used
			sumAvail += u.Avail
			fmt.Fprint(w, FormatCheckDevice(u, d.ObservedState, d.Utilization))
		}
	}
	fmt.Fprintln(w, "  ---- ------------ ---------- ---------- ---------- ------")
	pct := 0.0
	if sumTotal > 0 {
		pct = 100 - sumAvail/sumTotal*100
	}
	fmt.Fprintf(w, "             total:%10.3f %10.3f %10.3f %6.2f%%\n", sumTotal, sumUsed, sumAvail, pct)
	return "", nil
}

// httpAnswers checks that an HTTP server answers at u. Any answer below
// 500 counts: Perlbal answers the docroot with 200, but nginx (403) and
// other storage servers refuse a directory GET although they are fine.
func httpAnswers(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// httpGet returns the body of a 2xx answer.
func httpGet(ctx context.Context, hc *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return string(b), nil
}

// Usage is a device usage file, sizes in GiB.
type Usage struct {
	Total, Used, Avail float64
}

var decimal = regexp.MustCompile(`^\d+(\.\d+)?$`)

// ParseUsage reads a mogstored usage file ("key: value" lines, sizes in
// KiB). It returns the original's failure text ("USAGE FILE BROKEN OR
// EMPTY", "MISSING FIELD (<f>) FROM USAGE FILE") when the file is not
// usable.
func ParseUsage(body string) (Usage, string) {
	if body == "" {
		return Usage{}, "USAGE FILE BROKEN OR EMPTY"
	}
	data := map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		data[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	for _, f := range []string{"available", "device", "disk"} {
		if data[f] == "" {
			return Usage{}, "MISSING FIELD (" + f + ") FROM USAGE FILE"
		}
	}
	num := func(k string) float64 {
		v := data[k]
		if !decimal.MatchString(v) {
			return 0
		}
		f, _ := strconv.ParseFloat(v, 64)
		return f / (1024 * 1024)
	}
	return Usage{Total: num("total"), Used: num("used"), Avail: num("available")}, ""
}

// FormatCheckDevice renders the rest of a "mogadm check" device line
// (after "  [ 1] dev1   ").
func FormatCheckDevice(u Usage, observed, util string) string {
	pct := 0.0
	if u.Total > 0 {
		pct = 100 - u.Avail/u.Total*100
	}
	if observed == "" {
		observed = "?"
	}
	ut := "N/A"
	if decimal.MatchString(util) {
		f, _ := strconv.ParseFloat(util, 64)
		ut = fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("     %10.3f %10.3f %10.3f %6.2f%%  %-7s %5s\n", u.Total, u.Used, u.Avail, pct, observed, ut)
}
