package faulttest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

const outsider = "127.0.0.9" // a loopback source outside the allow-lists

// dialFrom connects to addr from a given source address.
func dialFrom(t testing.TB, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAccessControl: a cluster whose tracker has admin_allow and whose
// storage nodes have write_allow, both 127.0.0.1/32 (where the test's
// clients and the tracker connect from). Uploads, replication, the
// monitor's test writes and deletes all work; a client from another
// address can still read files and use file commands, but its admin
// commands get clear refusals, its PUT and DELETE on a node get 403, and
// nothing it attempts changes anything.
func TestAccessControl(t *testing.T) {
	parallelUnlessSoak(t)
	ctx := ctxFor(t)
	const domain, class = "acl", "two"
	const allow = "127.0.0.1/32"
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: domain, Classes: map[string]int{class: 2},
		Tracker:  mogtest.TrackerOptions{Args: []string{"--admin_allow=" + allow}},
		NodeArgs: []string{"--nofsync", "--write_allow=" + allow}})
	db := openDB(t, cl.Tracker.DSN, cl.Tracker.User, cl.Tracker.Pass)
	c := newClient(t, domain, 20*time.Second, cl.Tracker.Addr)
	sz := sizes{1 << 10, 16 << 10}
	keys := keyList("acl", 20)
	up := upload(ctx, c, class, keys, 4, sz, nil)
	if len(up.failedKeys()) > 0 {
		t.Fatalf("uploads from an allowed address failed:\n%s", up.errorSummary())
	}
	waitFor(t, "replication by the tracker (inside write_allow)", 60*time.Second, func() (bool, string) {
		short, err := queryInt(t, db, "SELECT COUNT(*) FROM file f WHERE (SELECT COUNT(*) FROM file_on o WHERE o.fid = f.fid) < 2")
		return err == nil && short == 0, fmt.Sprint(short, " files short ", err)
	})

	// An outsider on the tracker.
	tcon := dialFrom(t, outsider, cl.Tracker.Addr)
	br := bufio.NewReader(tcon)
	ask := func(line string, n int) []string {
		tcon.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := tcon.Write([]byte(line + "\r\n")); err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := 0; i < n; i++ {
			s, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			out = append(out, strings.TrimRight(s, "\r\n"))
		}
		return out
	}
	adminRefused := 0
	for _, cmd := range []string{"create_domain domain=x", "delete_domain domain=" + domain, "set_state host=store1&device=1&state=dead",
		"update_class domain=" + domain + "&class=" + class + "&mindevcount=1", "set_server_setting key=skip_devcount&value=1",
		"fsck_reset", "rebalance_start"} {
		if got := ask(cmd, 1)[0]; strings.HasPrefix(got, "ERR access_denied ") {
			adminRefused++
		} else {
			t.Errorf("%s from outside: %q", cmd, got)
		}
	}
	for _, cmd := range []string{"!shutdown", "!want 0 replicate", "!watch"} {
		if got := ask(cmd, 2); got[0] == "ERROR: admin commands are not allowed from your address" && got[1] == "." {
			adminRefused++
		} else {
			t.Errorf("%s from outside: %q", cmd, got)
		}
	}
	paths := ask("get_paths domain="+domain+"&key="+keys[0]+"&noverify=1", 1)[0]
	if !strings.HasPrefix(paths, "OK ") || !strings.Contains(paths, "paths=2") {
		t.Errorf("get_paths from outside: %q", paths)
	}

	// An outsider on a storage node.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP(outsider)}}).DialContext}}
	ps, err := c.Paths(ctx, keys[0], pathsAll())
	if err != nil || len(ps) == 0 {
		t.Fatalf("paths: %v, %v", ps, err)
	}
	writesRefused := 0
	for _, m := range []string{"PUT", "DELETE"} {
		req, _ := http.NewRequest(m, ps[0], strings.NewReader("overwritten by an outsider"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s from outside: %v", m, err)
		}
		resp.Body.Close()
		if resp.StatusCode == 403 {
			writesRefused++
		} else {
			t.Errorf("%s %s from outside: %s", m, ps[0], resp.Status)
		}
	}
	resp, err := hc.Get(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != string(sz.of(keys[0])) {
		t.Errorf("GET from outside: %s, %d bytes", resp.Status, len(b))
	}

	// Nothing changed; the cluster still works end to end, deletes
	// included.
	lost := checkAcked(t, ctx, c, keys, sz)
	alive(t, cl.Tracker.Addr)
	if err := c.Delete(ctx, keys[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tracker's delete to reach the nodes (inside write_allow)", 60*time.Second, func() (bool, string) {
		n, err := queryInt(t, db, "SELECT COUNT(*) FROM file_to_delete2")
		return err == nil && n == 0, fmt.Sprint(n, " queued ", err)
	})
	figure(t, "admin_commands_refused=%d/10 node_writes_refused=%d/2 reads_from_outside=ok acknowledged_lost=%d "+
		"replication_and_deletes_by_tracker=ok", adminRefused, writesRefused, lost)
}
