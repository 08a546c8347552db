package mogfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// newFastEnv is newEnv whose storage node offers the fast path (fastPath)
// or not (started without --trackers).
func newFastEnv(t *testing.T, fastPath bool) *env {
	t.Helper()
	mogtest.NeedFUSE(t)
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "fsdom", Classes: map[string]int{"one": 1},
		FastPath: fastPath, NodeMetrics: true, NodeArgs: []string{"--nofsync"}})
	if fastPath {
		cl.WaitFastPath(t)
	}
	c, err := client.New(client.Config{Domain: "fsdom", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second, PathCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &env{cl: cl, domain: "fsdom", c: c}
}

// TestFastPathWrites: small files written on a mount go through the
// node's /_put with their attributes (docs/fastpath.md §10.3a); on a node
// without the fast path they go three-step with the same attributes.
func TestFastPathWrites(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fastPath bool
	}{{"fastpath", true}, {"three_step", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFastEnv(t, tc.fastPath)
			fastPathWrites(t, e, tc.fastPath)
		})
	}
}

func fastPathWrites(t *testing.T, e *env, fastPath bool) {
	const n = 8
	maddr := mogtest.FreeAddr(t, "127.0.0.1")
	args := []string{"--domain=" + e.domain, "--class=one", "--metrics-listen=" + maddr}
	mnt, p := e.mountProc(t, args...)
	p.WaitPort(t, maddr, 30*time.Second)
	dir := filepath.Join(mnt, "w")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	type want struct {
		data  []byte
		mode  os.FileMode
		mtime time.Time
	}
	wants := map[string]want{}
	for i := range n {
		name := "f" + strconv.Itoa(i)
		data := bytes.Repeat([]byte{byte('a' + i)}, 1000+i)
		mode := os.FileMode(0o600 + i)
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			if err := f.Chown(1000+i, 2000+i); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		wants[name] = want{data, st.Mode(), st.ModTime()} // mode less the umask
	}
	f := metricstest.Scrape(t, maddr)
	fast, _ := f.Value("mogilefs_mogfs_uploads_total", "path", "fastpath")
	three, _ := f.Value("mogilefs_mogfs_uploads_total", "path", "three_step")
	opens, _ := f.Value("mogilefs_mogfs_tracker_requests_total", "command", "create_open")
	t.Logf("uploads: fastpath %v, three_step %v; create_open %v; tracker requests %v", fast, three, opens, trackerRequests(t, maddr))
	if fastPath && (fast < n || three != 0 || opens != 0) || !fastPath && (fast != 0 || three < n) {
		t.Fatalf("uploads: fastpath %v, three_step %v, create_open %v; want %d files through the %v way\n%s",
			fast, three, opens, n, map[bool]string{true: "fast", false: "three-step"}[fastPath], f)
	}
	if fastPath {
		var nodePuts float64
		for _, nd := range e.cl.Nodes {
			v, _ := metricstest.Scrape(t, nd.MetricsAddr).Value("mogilefs_mogstored_fastpath_puts_total", "outcome", "ok")
			nodePuts += v
		}
		if nodePuts < n {
			t.Fatalf("the node counted %v fast-path uploads, want %d", nodePuts, n)
		}
	}
	// The attributes, as the tracker has them and as a new mount sees
	// them.
	for name, w := range wants {
		r, err := e.c.Do(ctx(t), "mogfs_lookup", map[string]string{"domain": e.domain, "key": "w/" + name})
		if err != nil {
			t.Fatal(err)
		}
		if r["mode"] != strconv.Itoa(int(w.mode.Perm())) && r["mode"] != strconv.Itoa(int(w.mode.Perm())|syscall.S_IFREG) || w.mode.Perm()&0o700 != 0o600 ||
			r["mtime"] != strconv.FormatInt(w.mtime.Unix(), 10) || r["mtime_nsec"] != strconv.Itoa(w.mtime.Nanosecond()) {
			t.Fatalf("mogfs_lookup w/%s: %v, want mode %o mtime %v", name, r, w.mode, w.mtime)
		}
	}
	if err := unmountWait(mnt); err != nil {
		t.Fatal(err)
	}
	mnt2 := e.mountFG(t, "--domain="+e.domain, "--class=one")
	for name, w := range wants {
		p := filepath.Join(mnt2, "w", name)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode() != w.mode || !st.ModTime().Equal(w.mtime) || st.Size() != int64(len(w.data)) {
			t.Fatalf("%s after a remount: mode %v mtime %v size %d, want %v %v %d", name, st.Mode(), st.ModTime(), st.Size(), w.mode, w.mtime, len(w.data))
		}
		if i, _ := strconv.Atoi(name[1:]); os.Geteuid() == 0 && (sys.Uid != uint32(1000+i) || sys.Gid != uint32(2000+i)) {
			t.Fatalf("%s after a remount: uid %d gid %d", name, sys.Uid, sys.Gid)
		}
		if got := mustRead(t, p); !bytes.Equal(got, w.data) {
			t.Fatalf("%s after a remount: %d bytes, want %d", name, len(got), len(w.data))
		}
	}
}
