package faulttest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// treeState is what a directory tree looks like: every entry with its
// type, size, mode, modification time, content digest or link target.
func treeState(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v %d %v", info.Mode(), info.Size(), info.ModTime().UnixNano())
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffTrees(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %q -> %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new %q", k, v))
		}
	}
	return d
}

// httpRaw sends raw bytes on a new connection and returns the status
// code of the answer (0 if the connection ended without one) and the
// body. It never waits more than timeout.
func httpRaw(t testing.TB, addr string, req []byte, timeout time.Duration) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	go func() {
		// The server may answer (and close) before reading it all. The
		// write side is closed after the request, so a request cut short
		// ends at EOF instead of waiting for the body timeout.
		c.Write(req)
		c.(*net.TCPConn).CloseWrite()
	}()
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no answer within %v to %.80q", timeout, req)
		}
		return 0, ""
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		t.Fatalf("bad status line %q for %.80q", status, req)
	}
	code, _ := strconv.Atoi(f[1])
	length := -1
	for {
		h, err := br.ReadString('\n')
		if err != nil || h == "\r\n" || h == "\n" {
			break
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	var body []byte
	if length > 0 {
		body = make([]byte, length)
		io.ReadFull(br, body)
	}
	return code, string(body)
}

// nodeAlive checks that mogstored still serves a usage file.
func nodeAlive(t testing.TB, m *mogtest.Mogstored) {
	t.Helper()
	code, body := httpRaw(t, m.HTTPAddr, []byte("GET /dev1/usage HTTP/1.0\r\n\r\n"), 10*time.Second)
	if code != 200 || !strings.Contains(body, "total:") {
		t.Fatalf("mogstored not serving: %d %q", code, body)
	}
}

// hostileNode is a storage node with a docroot full of traps: a
// directory beside it with secrets, symlinks from inside pointing there,
// and a device directory that is itself such a symlink.
type hostileNode struct {
	m       *mogtest.Mogstored
	outside string
	parent  string
}

func startHostileNode(t *testing.T, args ...string) *hostileNode {
	t.Helper()
	parent := t.TempDir()
	root := filepath.Join(parent, "docroot")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{root, outside, filepath.Join(outside, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"secret", "secret.fid", "sub/deep.fid"} {
		if err := os.WriteFile(filepath.Join(outside, f), []byte("SECRET "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{DocRoot: root, Devices: 2, Args: append([]string{"--nofsync"}, args...)})
	for link, target := range map[string]string{
		"dev1/link-dir":       outside,
		"dev1/link-file.fid":  filepath.Join(outside, "secret.fid"),
		"dev1/rel-link":       "../../outside",
		"dev1/0/000/000":      outside, // a fid directory level
		"dev3":                outside, // a whole device
		"dev2/dangling.fid":   filepath.Join(outside, "not-there.fid"),
		"dev2/link-to-parent": "..",
	} {
		p := filepath.Join(root, link)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return &hostileNode{m: m, outside: outside, parent: parent}
}

// TestMogstoredPathTraversal: every way out of the docroot — "..", its
// percent-encodings (single and double), backslashes, NUL, absolute and
// absolute-form targets, symlinks planted inside the docroot (to a
// directory, to a file, relative, a fid directory level, a whole device,
// dangling, one back into the docroot but out of its device) — is
// refused for GET, HEAD, PUT, DELETE, MKCOL and MOVE with a 4xx answer
// (except that PUT and DELETE of a path whose last component is a link
// replace or remove the link itself, inside the docroot); nothing outside
// the docroot is read, created, changed or removed; the node stays up.
func TestMogstoredPathTraversal(t *testing.T) {
	parallelUnlessSoak(t)
	h := startHostileNode(t)
	before := treeState(t, h.parent+"/outside")
	parentBefore := listDir(t, h.parent)
	targets := []string{
		"/dev1/../outside/secret", "/dev1/%2e%2e/outside/secret", "/dev1/%2E%2E/%2e%2E/outside/secret",
		"/dev1/..%2f..%2foutside%2fsecret", "/%2e%2e/outside/secret", "/..", "/../outside/secret", "//outside/secret",
		"/dev1//..//outside/secret", "/dev1/.%2e/outside/secret", "/dev1/%252e%252e/outside/secret", "/dev1/..\\..\\outside\\secret",
		"/dev1/a%00b.fid", "/dev1/secret%00.fid", "http://evil/../outside/secret", "http://evil/dev1/../../outside/secret",
		"/dev1/link-dir/secret", "/dev1/link-dir/secret.fid", "/dev1/link-dir/sub/deep.fid", "/dev1/link-file.fid",
		"/dev1/rel-link/secret.fid", "/dev1/0/000/000/secret.fid", "/dev1/0/000/000/0000000001.fid", "/dev3/secret.fid",
		"/dev3/sub/deep.fid", "/dev3/new.fid", "/dev2/dangling.fid", "/dev2/link-to-parent/outside/secret.fid",
		"/dev2/link-to-parent/dev1/x.fid", h.outside + "/secret.fid",
		"/dev1/" + strings.Repeat("../", 50) + "etc/passwd", "/dev1/%u002e%u002e/outside", "/dev1/.../outside",
	}
	methods := []string{"GET", "HEAD", "PUT", "DELETE", "MKCOL", "MOVE"}
	// Links that are the last component: PUT replaces the link and DELETE
	// removes it, inside the docroot, as rename(2) and unlink(2) do.
	linkItself := map[string]bool{"/dev1/link-file.fid": true, "/dev2/dangling.fid": true}
	refused, leaks := 0, 0
	for _, target := range targets {
		for _, m := range methods {
			req := m + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			switch m {
			case "PUT":
				req += "Content-Length: 6\r\n\r\npwned\n"
			case "MOVE":
				req += "Destination: http://x/dev1/moved.fid\r\n\r\n"
			default:
				req += "\r\n"
			}
			code, body := httpRaw(t, h.m.HTTPAddr, []byte(req), 20*time.Second)
			if strings.Contains(body, "SECRET") {
				leaks++
				t.Errorf("%s %s leaked a secret: %d %q", m, target, code, body)
			}
			if linkItself[target] && (m == "PUT" || m == "DELETE") && code/100 == 2 {
				// The link itself is replaced or removed; its target is
				// untouched (checked below with the rest of the outside).
				refused++
				continue
			}
			if code < 400 || code >= 500 {
				t.Errorf("%s %s: %d, want a 4xx refusal", m, target, code)
				continue
			}
			refused++
		}
	}
	after := treeState(t, h.parent+"/outside")
	changed := diffTrees(before, after)
	for _, d := range changed {
		t.Errorf("outside the docroot: %s", d)
	}
	if got := listDir(t, h.parent); got != parentBefore {
		t.Errorf("the docroot's parent changed: %q -> %q", parentBefore, got)
	}
	nodeAlive(t, h.m)
	figure(t, "requests=%d refused_4xx=%d secrets_leaked=%d outside_changes=%d node_up=true",
		len(targets)*len(methods), refused, leaks, len(changed))
}

func listDir(t testing.TB, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// TestMogstoredMalformedRequests: oversized heads, over-long targets,
// broken request lines and headers, bad or conflicting body lengths,
// broken chunking, binary garbage and an HTTP/2 preface each get a 4xx
// or 5xx answer (or a closed connection) in bounded time; nothing is
// written; the node stays up.
func TestMogstoredMalformedRequests(t *testing.T) {
	parallelUnlessSoak(t)
	h := startHostileNode(t)
	put := "PUT /dev1/0/000/002/0000002042.fid HTTP/1.1\r\nHost: x\r\n"
	cases := map[string]string{
		"huge header":        "GET /dev1/usage HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n",
		"many headers":       "GET /dev1/usage HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 20000) + "\r\n",
		"huge target":        "GET /dev1/" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\n\r\n",
		"no version":         "GET /dev1/usage\r\n\r\n",
		"bad version":        "GET /dev1/usage HTTP/9.9\r\n\r\n",
		"empty method":       " /dev1/usage HTTP/1.1\r\n\r\n",
		"header no colon":    "GET /dev1/usage HTTP/1.1\r\nBroken header\r\n\r\n",
		"NUL in header":      "GET /dev1/usage HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
		"bad length":         put + "Content-Length: abc\r\n\r\nx",
		"negative length":    put + "Content-Length: -5\r\n\r\nx",
		"conflicting length": put + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
		"length and chunked": put + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"bad chunk size":     put + "Transfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
		"huge chunk size":    put + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nxx\r\n",
		"unknown encoding":   put + "Transfer-Encoding: gzip\r\n\r\nxx",
		"short body":         put + "Content-Length: 100\r\n\r\nshort",
		"http2 preface":      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"binary":             "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\xff", 500) + "\r\n\r\n",
		"lone LF head":       "GET /dev1/usage HTTP/1.1\nHost: x\n\n",
		"obs-fold":           "GET /dev1/usage HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n",
	}
	answered := 0
	codes := map[string]int{}
	defer func() { t.Logf("answers: %v", codes) }()
	for name, req := range cases {
		code, _ := httpRaw(t, h.m.HTTPAddr, []byte(req), 20*time.Second)
		codes[name] = code
		if name == "lone LF head" {
			if code != 200 { // RFC 9112 lets a server accept bare LF; ours does
				t.Errorf("%s: %d", name, code)
			}
			continue
		}
		if code != 0 && code < 400 {
			t.Errorf("%s: answered %d", name, code)
			continue
		}
		answered++
	}
	if _, err := os.Stat(filepath.Join(h.m.DevDir(1), "0/000/002/0000002042.fid")); !os.IsNotExist(err) {
		t.Errorf("a malformed PUT stored a file: %v", err)
	}
	if tmp := tmpFiles(h.m.DocRoot); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	nodeAlive(t, h.m)
	figure(t, "malformed_requests=%d refused=%d node_up=true", len(cases)-1, answered)
}

// TestMogstoredSlowClients: hundreds of clients sending their request
// heads a byte at a time (slowloris) and a PUT whose body trickles do not
// keep others from being served promptly; the node cuts them off at its
// header and body timeouts; the trickled PUT leaves no file and no temp
// file.
func TestMogstoredSlowClients(t *testing.T) {
	parallelUnlessSoak(t)
	h := startHostileNode(t, "--headertimeout=2", "--bodytimeout=2")
	n := scale(300, 3000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var cutAfter []time.Duration
	uncut := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", h.m.HTTPAddr, 5*time.Second)
		if err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			head := []byte("GET /dev1/usage HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("z", 200))
			t0 := time.Now()
			for _, b := range head {
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte{b}); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
				if time.Since(t0) > 15*time.Second {
					break
				}
			}
			// The server should have given up on us by now: a 408
			// answer or a closed connection.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := io.ReadAll(c)
			mu.Lock()
			defer mu.Unlock()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				uncut++
				return
			}
			cutAfter = append(cutAfter, time.Since(t0))
		}()
	}
	// A trickled PUT.
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := net.DialTimeout("tcp", h.m.HTTPAddr, 5*time.Second)
		if err != nil {
			t.Errorf("trickle: %v", err)
			return
		}
		defer c.Close()
		c.Write([]byte("PUT /dev1/0/000/000/0000000077.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"))
		for i := 0; i < 100; i++ {
			if _, err := c.Write([]byte("x")); err != nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	// Others are served promptly meanwhile.
	var slowest time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		nodeAlive(t, h.m)
		slowest = max(slowest, time.Since(t0))
		time.Sleep(100 * time.Millisecond)
	}
	if slowest > 2*time.Second {
		t.Errorf("a normal request took %v with %d slow clients", slowest, n)
	}
	wg.Wait()
	if uncut > 0 {
		t.Errorf("%d of %d slow clients were not cut off", uncut, n)
	}
	var longest time.Duration
	for _, d := range cutAfter {
		longest = max(longest, d)
	}
	if longest > 10*time.Second {
		t.Errorf("a slow client was cut off only after %v (header timeout 2 s)", longest)
	}
	if _, err := os.Stat(filepath.Join(h.m.DevDir(1), "0/000/000/0000000077.fid")); !os.IsNotExist(err) {
		t.Errorf("the trickled PUT left its file: %v", err)
	}
	if tmp := tmpFiles(h.m.DocRoot); len(tmp) > 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	nodeAlive(t, h.m)
	figure(t, "slow_clients=%d cut_off=%d longest=%v normal_request_slowest=%v trickled_put_left_nothing=true total=%v",
		n, len(cutAfter), longest.Round(100*time.Millisecond), slowest.Round(time.Millisecond), time.Since(start).Round(time.Second))
}

// TestMogstoredPutLargerThanDisk: a PUT of 16 MiB to a 4 MiB device is
// answered 507 and leaves neither the file nor a temp file; a PUT that
// claims a terabyte and is cut off after a few megabytes leaves nothing
// either; the other device and the node keep working.
func TestMogstoredPutLargerThanDisk(t *testing.T) {
	parallelUnlessSoak(t)
	h := startHostileNode(t)
	mountTmpfs(t, h.m.DevDir(2), "4m")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	req := append([]byte("PUT /dev2/0/000/000/0000000001.fid HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(big))+"\r\n\r\n"), big...)
	code, body := httpRaw(t, h.m.HTTPAddr, req, 60*time.Second)
	if code != 507 {
		t.Errorf("PUT larger than the disk: %d %q, want 507", code, body)
	}
	if _, err := os.Stat(filepath.Join(h.m.DevDir(2), "0/000/000/0000000001.fid")); !os.IsNotExist(err) {
		t.Errorf("the oversized PUT left its file: %v", err)
	}
	// A terabyte claimed, a few megabytes sent, then the client vanishes.
	c, err := net.DialTimeout("tcp", h.m.HTTPAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("PUT /dev2/0/000/000/0000000002.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776\r\n\r\n"))
	c.Write(big[:3<<20])
	c.Close()
	waitFor(t, "the cut-off PUT to be cleaned up", 30*time.Second, func() (bool, string) {
		tmp := tmpFiles(h.m.DocRoot)
		return len(tmp) == 0, fmt.Sprint("temp files: ", tmp)
	})
	if _, err := os.Stat(filepath.Join(h.m.DevDir(2), "0/000/000/0000000002.fid")); !os.IsNotExist(err) {
		t.Errorf("the cut-off PUT left its file: %v", err)
	}
	// The full device still takes a small file, the other device a big
	// one.
	small := "PUT /dev2/0/000/000/0000000003.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nsmall"
	if code, _ := httpRaw(t, h.m.HTTPAddr, []byte(small), 20*time.Second); code != 200 {
		t.Errorf("small PUT after the oversized one: %d", code)
	}
	req = append([]byte("PUT /dev1/0/000/001/0000001004.fid HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(big))+"\r\n\r\n"), big...)
	if code, _ := httpRaw(t, h.m.HTTPAddr, req, 60*time.Second); code != 200 {
		t.Errorf("PUT to the other device: %d", code)
	}
	nodeAlive(t, h.m)
	figure(t, "put_16MiB_on_4MiB_device=%d leftovers=0 claimed_1TiB_cut_off_leftovers=0 node_up=true", code)
}
