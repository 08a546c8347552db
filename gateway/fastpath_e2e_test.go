package gateway_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// fastPuts reads the node's count of uploads it committed through /_put.
func fastPuts(t *testing.T, n *mogtest.Node) int {
	t.Helper()
	resp, err := http.Get("http://" + n.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `mogilefs_mogstored_fastpath_puts_total{outcome="ok"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return 0
}

// TestGatewayUsesTheFastPath: the gateway stores through the client
// library, so a small PUT goes through the node's /_put when the cluster
// offers it, and a large one the three-step way.
func TestGatewayUsesTheFastPath(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "files", Classes: map[string]int{"one": 1},
		FastPath: true, NodeMetrics: true, NodeArgs: []string{"--nofsync"}})
	cl.WaitFastPath(t)
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{DefaultClass: "one"})
	hc := httpClient()
	node := cl.Nodes[0]

	small, big := content("small", 5000), content("big", 200<<10)
	if r := do(t, hc, "PUT", gw.URL+"/files/small", bytes.NewReader(small)); r.status != 201 {
		t.Fatalf("PUT small: %v", r)
	}
	if n := fastPuts(t, node); n != 1 {
		t.Fatalf("the node committed %d uploads through /_put, want 1", n)
	}
	if r := do(t, hc, "PUT", gw.URL+"/files/big", bytes.NewReader(big)); r.status != 201 {
		t.Fatalf("PUT big: %v", r)
	}
	if n := fastPuts(t, node); n != 1 {
		t.Fatalf("a 200 KiB upload went through /_put (%d)", n)
	}
	for key, data := range map[string][]byte{"small": small, "big": big} {
		if r := do(t, hc, "GET", gw.URL+"/files/"+key, nil); r.status != 200 || !bytes.Equal(r.body, data) {
			t.Fatalf("GET %s: %d, %d bytes", key, r.status, len(r.body))
		}
	}
}
