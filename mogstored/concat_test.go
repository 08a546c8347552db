package mogstored_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// putFid writes data as fid's file on device devid of n, as a committed
// file lies on disk, and returns its node path.
func putFid(t *testing.T, n *mogtest.Node, devid int, fid int64, data []byte) string {
	t.Helper()
	p := nodeproto.FIDPath(devid, fid)
	full := filepath.Join(n.DocRoot, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// concatBody is a /_concat request: dest, then the lines given.
func concatBody(dest string, lines ...string) []byte {
	return []byte("dest " + dest + "\n" + strings.Join(lines, "\n") + "\n")
}

// fileOf reads the file at node path p of n ("" when missing).
func fileOf(t *testing.T, n *mogtest.Node, p string) ([]byte, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.DocRoot, filepath.FromSlash(p)))
	if os.IsNotExist(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// noTemp fails when a temp file is left in the directory of p.
func noTemp(t *testing.T, n *mogtest.Node, p string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Dir(filepath.Join(n.DocRoot, filepath.FromSlash(p))))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

// TestConcat: POST /_concat joins local and remote parts (a missing first
// copy is skipped), answers the size and MD5, and refuses what it must
// without writing anything.
func TestConcat(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, FastPath: true, NodeArgs: []string{"--nofsync"}})
	a, b := cl.Nodes[0], cl.Nodes[1]
	da, db := a.DevIDs[0], b.DevIDs[0]
	p1, p2, p3 := bytes.Repeat([]byte("one "), 300<<10), bytes.Repeat([]byte("two."), 70000), []byte("three")
	l1 := putFid(t, a, da, 101, p1)
	r2 := putFid(t, b, db, 102, p2)
	l3 := putFid(t, a, da, 103, p3)
	remote := func(n *mogtest.Node, p string) string { return n.Mogstored.URL(p) }
	missing := nodeproto.FIDPath(da, 109)
	concat := func(body []byte) fpReply { return fpDo(t, "POST", a.Mogstored.URL("/_concat"), body) }

	dest := nodeproto.FIDPath(da, 200)
	want := append(append(append([]byte{}, p1...), p2...), p3...)
	r := concat(concatBody(dest, "md5",
		fmt.Sprintf("part %d %s", len(p1), l1),
		fmt.Sprintf("part %d %s %s", len(p2), remote(b, nodeproto.FIDPath(db, 109)), remote(b, r2)),
		fmt.Sprintf("part %d %s %s", len(p3), missing, l3)))
	sum := md5.Sum(want)
	if r.code != 200 || r.hdr.Get("X-Mogile-Concat-Size") != fmt.Sprint(len(want)) ||
		r.hdr.Get("X-Mogile-Concat-MD5") != hex.EncodeToString(sum[:]) {
		t.Fatalf("concat: %d %v %q", r.code, r.hdr, r.body)
	}
	if got, _ := fileOf(t, a, dest); !bytes.Equal(got, want) {
		t.Fatalf("concatenated file: %d bytes, want %d", len(got), len(want))
	}
	// Without md5 (copy_file_range for the local parts), onto the other node.
	dest2 := nodeproto.FIDPath(db, 201)
	r = fpDo(t, "POST", b.Mogstored.URL("/_concat"), concatBody(dest2,
		fmt.Sprintf("part %d %s", len(p1), remote(a, l1)),
		fmt.Sprintf("part %d %s", len(p2), r2),
		fmt.Sprintf("part %d %s", len(p3), remote(a, l3))))
	if got, _ := fileOf(t, b, dest2); r.code != 200 || r.hdr.Get("X-Mogile-Concat-MD5") != "" || !bytes.Equal(got, want) {
		t.Fatalf("concat on b: %d %q, %d bytes", r.code, r.body, len(got))
	}

	// A server that is no storage node of the cluster: never asked.
	var asked atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	outsider := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Write(p2)
	})}
	go outsider.Serve(ln)
	t.Cleanup(func() { outsider.Close() })
	other := "http://" + ln.Addr().String()

	bad := nodeproto.FIDPath(da, 300)
	part1 := fmt.Sprintf("part %d %s", len(p1), l1)
	for _, c := range []struct {
		name string
		body []byte
		code int
	}{
		{"outside host", concatBody(bad, part1, fmt.Sprintf("part %d %s", len(p2), other+r2)), 403},
		{"query", concatBody(bad, fmt.Sprintf("part %d %s?x=1", len(p2), remote(b, r2))), 403},
		{"user", concatBody(bad, fmt.Sprintf("part %d http://u@%s%s", len(p2), b.Mogstored.HTTPAddr, r2)), 403},
		{"https", concatBody(bad, fmt.Sprintf("part %d https://%s%s", len(p2), b.Mogstored.HTTPAddr, r2)), 403},
		{"not a fid path", concatBody(bad, fmt.Sprintf("part 5 /dev%d/usage", da)), 403},
		{"remote not a fid path", concatBody(bad, fmt.Sprintf("part 5 %s", remote(b, fmt.Sprintf("/dev%d/usage", db)))), 403},
		{"fid digits disagree", concatBody(bad, fmt.Sprintf("part 5 /dev%d/0/000/001/0000000103.fid", da)), 403},
		{"dot dot", concatBody(bad, fmt.Sprintf("part 5 /dev%d/0/000/../000/0000000103.fid", da)), 403},
		{"dest not a fid path", concatBody(fmt.Sprintf("/dev%d/x.fid", da), part1), 403},
		{"no parts", concatBody(bad), 400},
		{"no dest", []byte(part1 + "\n"), 400},
		{"bad size", concatBody(bad, "part -1 "+l1), 403},
		{"unknown line", concatBody(bad, part1, "copy "+l1), 400},
		{"missing part", concatBody(bad, part1, fmt.Sprintf("part 5 %s %s", missing, remote(b, nodeproto.FIDPath(db, 109)))), 409},
		{"wrong size", concatBody(bad, fmt.Sprintf("part %d %s", len(p1)+1, l1)), 409},
		{"remote wrong size", concatBody(bad, part1, fmt.Sprintf("part %d %s", len(p2)-1, remote(b, r2))), 409},
	} {
		if r := concat(c.body); r.code != c.code || r.hdr.Get("X-Mogile-Concat") != "1" {
			t.Errorf("%s: %d %q, want %d", c.name, r.code, r.body, c.code)
		}
		if _, ok := fileOf(t, a, bad); ok {
			t.Fatalf("%s: the destination was written", c.name)
		}
		noTemp(t, a, bad)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the outside server was asked %d times", n)
	}
	if r := fpDo(t, "GET", a.Mogstored.URL("/_concat"), nil); r.code != 405 {
		t.Errorf("GET /_concat: %d", r.code)
	}
}

// TestConcatWithoutTrackers: a node that knows no cluster joins its own
// files but refuses every URL.
func TestConcatWithoutTrackers(t *testing.T) {
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Args: []string{"--nofsync"}})
	n := &mogtest.Node{DocRoot: m.DocRoot, DevIDs: m.DevIDs, Mogstored: m}
	p := putFid(t, n, 1, 5, []byte("hello "))
	dest := nodeproto.FIDPath(1, 6)
	r := fpDo(t, "POST", m.URL("/_concat"), concatBody(dest, "part 6 "+p, "part 6 "+p))
	if got, _ := fileOf(t, n, dest); r.code != 200 || string(got) != "hello hello " {
		t.Fatalf("local concat: %d %q %q", r.code, r.body, got)
	}
	dest = nodeproto.FIDPath(1, 7)
	r = fpDo(t, "POST", m.URL("/_concat"), concatBody(dest, "part 6 "+m.URL(p)))
	if _, ok := fileOf(t, n, dest); r.code != 403 || ok {
		t.Fatalf("remote source without trackers: %d %q", r.code, r.body)
	}
}
