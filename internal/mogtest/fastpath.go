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

// WaitFastPathPeers waits until every node holds a usable fid lease that
// names a peer device for copies (GET /_fastpath lists peers;
// docs/fastpath.md §4.5).
func (cl *Cluster) WaitFastPathPeers(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for _, n := range cl.Nodes {
		for {
			st, ok := fastPathStatus(n.Mogstored.URL("/_fastpath"))
			if ok && st.Ready && len(st.Peers) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s holds no lease with a peer after 45 s:\n%s", n.Mogstored, n.Proc.Output())
			}
			time.Sleep(50 * time.Millisecond) // polling the node's lease state
		}
	}
}

// fastPathState is the JSON of GET /_fastpath.
type fastPathState struct {
	Ready bool  `json:"ready"`
	Peers []int `json:"peers"`
}

func fastPathStatus(u string) (fastPathState, bool) {
	var st fastPathState
	resp, err := http.Get(u)
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil
}

func fastPathReady(u string) bool {
	st, ok := fastPathStatus(u)
	return ok && st.Ready
}
