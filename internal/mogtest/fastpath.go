package mogtest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// WaitFastPath waits until every node of a cluster started with
// ClusterOptions.FastPath holds a usable fid lease (GET /_fastpath says
// ready).
func (cl *Cluster) WaitFastPath(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for _, n := range cl.Nodes {
		for !fastPathReady(n.Mogstored.URL("/_fastpath")) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready for the fast path after 45 s:\n%s", n.Mogstored, n.Proc.Output())
			}
			time.Sleep(50 * time.Millisecond) // polling the node's lease state
		}
	}
}

func fastPathReady(u string) bool {
	resp, err := http.Get(u)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		Ready bool `json:"ready"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil && st.Ready
}
