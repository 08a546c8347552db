package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FastPathMode says whether a client uses the storage nodes' fast path.
type FastPathMode string

// Fast path modes (Config.FastPath).
const (
	// FastPathAuto uploads through the fast path when the cluster
	// offers it and falls back to the three-step path when it does not
	// or a node cannot take an upload; reads use /_key only with
	// Config.KeyReads.
	FastPathAuto FastPathMode = "auto"
	// FastPathOff always uses the three-step path and get_paths.
	FastPathOff FastPathMode = "off"
	// FastPathOnly uses the fast path for every upload it applies to
	// and for reads (/_key), and fails (ErrNoFastPath) instead of
	// falling back.
	FastPathOnly FastPathMode = "only"
)

// DefaultFastPathMax is the largest upload sent through /_put by default.
const DefaultFastPathMax = 64 << 10

// ErrNoFastPath: FastPathOnly was asked for and the upload or read could
// not use the fast path.
var ErrNoFastPath = errors.New("the fast path is not available")

// How long a capability answer is trusted.
const (
	fastInfoTTL    = 30 * time.Second // as the protocol says
	fastRetryTTL   = time.Second      // nodes listed but none ready yet
	fastFailTTL    = 5 * time.Second  // fastpath_info could not be asked
	fastProbeLimit = 2 * time.Second  // bound of one GET /_fastpath
)

// ParseFastPathMode reads "auto", "off" or "only" ("" is auto).
func ParseFastPathMode(s string) (FastPathMode, error) {
	switch m := FastPathMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", FastPathAuto:
		return FastPathAuto, nil
	case FastPathOff, FastPathOnly:
		return m, nil
	}
	return "", fmt.Errorf("fast path mode %q is not auto, off or only", s)
}

// fastPath is a client's knowledge of the fast path: the mode and limit
// it was configured with and what the cluster last said it offers. It is
// shared by a client and its WithDomain copies.
type fastPath struct {
	mode     FastPathMode
	max      int64
	keyReads bool // reads of uncached keys ask /_key (Config.KeyReads)

	refresh sync.Mutex // one capability refresh at a time
	state   atomic.Pointer[fastState]
	next    atomic.Uint64 // round robin over the nodes
}

// fastState is one capability answer.
type fastState struct {
	until   time.Time
	enabled bool        // the tracker offers the fast path
	nodes   []*fastNode // nodes that answered /_fastpath as fast-path nodes
	why     string      // why nothing is usable, for ErrNoFastPath
}

// fastNode is one storage node offering the fast path.
type fastNode struct {
	base  string // http://ip:port
	ready bool   // it held a usable lease when probed
	attrs bool   // it takes mogfs attributes (docs/fastpath.md §10.3a)
	// noAttrs is set when it refused attributes after all: uploads
	// with attributes skip it until the next refresh.
	noAttrs atomic.Bool
	// off is set when the node refused an upload in a way that says it
	// cannot take more now (no lease, no fast path): it is skipped until
	// the next refresh.
	off atomic.Bool
	// busyUntil (unix nanoseconds): the node had no leased fid for an
	// upload; uploads skip it until then, reads do not.
	busyUntil atomic.Int64
}

// fastBusyPause is how long a node that answered no_lease is skipped
// by uploads: its keeper is leasing, so it is soon able again, and
// waiting for the next refresh (30 s) would send everything the
// three-step way meanwhile.
const fastBusyPause = time.Second

// writable reports whether uploads may go to n at now (with mogfs
// attributes, when attrs).
func (n *fastNode) writable(now time.Time, attrs bool) bool {
	return n.ready && !n.off.Load() && now.UnixNano() >= n.busyUntil.Load() && (!attrs || n.attrs && !n.noAttrs.Load())
}

func newFastPath(mode FastPathMode, max int64, keyReads bool) (*fastPath, error) {
	m, err := ParseFastPathMode(string(mode))
	if err != nil {
		return nil, err
	}
	if max == 0 {
		max = DefaultFastPathMax
	}
	return &fastPath{mode: m, max: max, keyReads: keyReads || m == FastPathOnly}, nil
}

// wants reports whether an upload of size bytes with this hash type goes
// to the fast path. SHA-1 classes stay three-step: a node records MD5
// checksums only.
func (fp *fastPath) wants(size int64, hashName string) bool {
	return fp.mode != FastPathOff && size >= 0 && size <= fp.max && hashName != "SHA-1"
}

// current returns the capability answer, asking the cluster when there is
// none or it is too old. While one caller refreshes a known answer, the
// others go on with the old one.
func (fp *fastPath) current(ctx context.Context, c *Client) *fastState {
	s := fp.state.Load()
	if s != nil && time.Now().Before(s.until) {
		return s
	}
	if s != nil {
		if !fp.refresh.TryLock() {
			return s
		}
	} else {
		fp.refresh.Lock()
	}
	defer fp.refresh.Unlock()
	if s := fp.state.Load(); s != nil && time.Now().Before(s.until) {
		return s
	}
	s = c.discover(ctx)
	if ctx.Err() == nil {
		// (A caller that gave up says nothing about the cluster.)
		fp.state.Store(s)
	}
	return s
}

// forget makes the next use ask the cluster again.
func (fp *fastPath) forget() { fp.state.Store(nil) }

// writers returns the nodes that can take an upload now (with mogfs
// attributes, when attrs).
func (s *fastState) writers(attrs bool) []*fastNode {
	var out []*fastNode
	now := time.Now()
	for _, n := range s.nodes {
		if n.writable(now, attrs) {
			out = append(out, n)
		}
	}
	return out
}

// readers returns the nodes that can answer /_key.
func (s *fastState) readers() []*fastNode {
	var out []*fastNode
	for _, n := range s.nodes {
		if !n.off.Load() {
			out = append(out, n)
		}
	}
	return out
}

// pick returns one of nodes, round robin.
func (fp *fastPath) pick(nodes []*fastNode) *fastNode {
	return nodes[fp.next.Add(1)%uint64(len(nodes))]
}

// discover asks fastpath_info and probes every listed node with
// GET /_fastpath.
func (c *Client) discover(ctx context.Context) *fastState {
	r, err := c.call(ctx, "fastpath_info")
	if err != nil {
		if errors.Is(err, ErrUnknownCmd) {
			return &fastState{until: time.Now().Add(fastInfoTTL), why: "the tracker has no fast path (unknown_command)"}
		}
		return &fastState{until: time.Now().Add(fastFailTTL), why: "fastpath_info: " + err.Error()}
	}
	if r["enabled"] != "1" {
		return &fastState{until: time.Now().Add(fastInfoTTL), why: "the fast path is turned off on the tracker"}
	}
	n := atoi(r["host_count"])
	nodes := make([]*fastNode, n)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		base := strings.TrimRight(r["host_"+strconv.Itoa(i)], "/")
		if base == "" {
			continue
		}
		wg.Add(1)
		go func(i int, base string) {
			defer wg.Done()
			ok, ready, attrs := c.probe(ctx, base)
			if ok {
				nodes[i-1] = &fastNode{base: base, ready: ready, attrs: attrs}
			}
		}(i, base)
	}
	wg.Wait()
	s := &fastState{enabled: true, until: time.Now().Add(fastInfoTTL)}
	for _, nd := range nodes {
		if nd != nil {
			s.nodes = append(s.nodes, nd)
		}
	}
	if len(s.writers(false)) == 0 {
		// Nodes lease fids shortly after they start: look again soon.
		s.until = time.Now().Add(fastRetryTTL)
		s.why = fmt.Sprintf("none of the %d storage node(s) the tracker listed is ready for the fast path", n)
	}
	c.log.Debug("fast path capability", "nodes", len(s.nodes), "ready", len(s.writers(false)))
	return s
}

// probe asks a node GET /_fastpath: ok when it answers as a fast-path
// node, ready when it holds a usable lease, attrs when it takes mogfs
// attributes.
func (c *Client) probe(ctx context.Context, base string) (ok, ready, attrs bool) {
	ctx, cancel := context.WithTimeout(ctx, fastProbeLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_fastpath", nil)
	if err != nil {
		return false, false, false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.Debug("fast path probe failed", "node", base, "err", err)
		return false, false, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return false, false, false
	}
	var ans struct {
		FastPath int  `json:"fastpath"`
		Ready    bool `json:"ready"`
		Attrs    bool `json:"attrs"`
	}
	if json.Unmarshal(body, &ans) != nil || ans.FastPath != 1 {
		return false, false, false
	}
	return true, ans.Ready, ans.Attrs
}
