package mogstored

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// logBuffer keeps the log lines for assertions and echoes them to the test.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is an in-process storage node on loopback ports.
type node struct {
	srv     *Server
	url     string // http://127.0.0.1:port
	mgmt    string
	docroot string
	log     *logBuffer
	stop    context.CancelFunc
	done    chan error
}

// startNode runs a storage node in this process with devices dev1..devN
// in a temp docroot; edit may change the config first.
func startNode(t *testing.T, devs int, edit func(*Config)) *node {
	t.Helper()
	root := t.TempDir()
	for i := 1; i <= devs; i++ {
		if err := os.Mkdir(filepath.Join(root, "dev"+strconv.Itoa(i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.HTTPListen, cfg.MgmtListen, cfg.DocRoot = "127.0.0.1:0", "127.0.0.1:0", root
	cfg.Fsync = false // the tests that need it turn it on
	if edit != nil {
		edit(&cfg)
	}
	lb := &logBuffer{t: t}
	srv, err := Listen(cfg, slog.New(slog.NewTextHandler(lb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{srv: srv, mgmt: srv.MgmtAddr().String(), docroot: root, log: lb, stop: cancel, done: make(chan error, 1)}
	if a := srv.HTTPAddr(); a != nil {
		n.url = "http://" + a.String()
	}
	go func() { n.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-n.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return n
}

func (n *node) path(p string) string { return filepath.Join(n.docroot, filepath.FromSlash(p)) }

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a request and returns status, headers and body.
func do(t *testing.T, method, url string, body io.Reader, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func md5b64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// tempFiles lists leftover upload temp files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGetAndHead(t *testing.T) {
	n := startNode(t, 2, nil)
	content := "0123456789abcdefghij"
	p := "/dev1/0/000/000/0000000001.fid"
	os.MkdirAll(filepath.Dir(n.path(p)), 0o755)
	os.WriteFile(n.path(p), []byte(content), 0o644)
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(n.path(p), mtime, mtime)

	code, h, body := do(t, "GET", n.url+p, nil)
	if code != 200 || body != content {
		t.Fatalf("GET: %d %q", code, body)
	}
	for k, v := range map[string]string{"Content-Length": "20", "Content-Type": "text/plain",
		"Accept-Ranges": "bytes", "Last-Modified": "Mon, 06 May 2024 07:08:09 GMT"} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if code, h, body := do(t, "HEAD", n.url+p, nil); code != 200 || body != "" || h.Get("Content-Length") != "20" {
		t.Fatalf("HEAD: %d %q %v", code, body, h)
	}
	for _, tc := range []struct {
		rng, want, crange string
		code              int
	}{
		{"bytes=2-4", "234", "bytes 2-4/20", 206},
		{"bytes=15-", "fghij", "bytes 15-19/20", 206},
		{"bytes=18-100", "ij", "bytes 18-19/20", 206},
		{"bytes=-3", "hij", "bytes 17-19/20", 206},
		{"bytes=20-", "", "bytes */20", 416},
		{"bytes=5-2", "", "bytes */20", 416},
		{"bytes=0-1,4-5", content, "", 200},
		{"items=1-2", content, "", 200},
	} {
		code, h, body := do(t, "GET", n.url+p, nil, "Range", tc.rng)
		if code != tc.code || body != tc.want || h.Get("Content-Range") != tc.crange {
			t.Errorf("Range %s: %d %q %q; want %d %q %q", tc.rng, code, body, h.Get("Content-Range"),
				tc.code, tc.want, tc.crange)
		}
	}
	if code, _, _ := do(t, "GET", n.url+p, nil, "If-Modified-Since", "Mon, 06 May 2024 07:08:09 GMT"); code != 304 {
		t.Errorf("If-Modified-Since same time: %d", code)
	}
	if code, _, _ := do(t, "GET", n.url+p, nil, "If-Modified-Since", "Mon, 06 May 2024 07:08:08 GMT"); code != 200 {
		t.Errorf("If-Modified-Since earlier: %d", code)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/dev1/0/000/000/0000000002.fid", 404},
		{"/dev7/usage", 404}, // no such device
		{"/etc/passwd", 404}, // not a device path
		{"/", 200},           // the docroot: "Directory listing disabled", as the original
		{"/dev1/%2e%2e/dev2", 400},
		{"/dev1/a%20b", 400},
		{"/dev1/0/", 200}, // a directory: the original's "Directory listing disabled"
	} {
		if code, _, _ := do(t, "GET", n.url+tc.path, nil); code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.path, code, tc.code)
		}
	}
	// The original mogadm check reads a node as up when "/" answers 200,
	// then fetches "<node>//dev<N>/usage".
	for _, p := range []string{"/", "//"} {
		if code, _, body := do(t, "GET", n.url+p, nil); code != 200 || body != "<h1>200 - OK</h1>\nDirectory listing disabled" {
			t.Errorf("GET %s: %d %q", p, code, body)
		}
	}
	if code, _, body := do(t, "GET", n.url+"//dev1//0/000/000/0000000001.fid", nil); code != 200 || body != content {
		t.Errorf("GET with doubled slashes: %d %q", code, body)
	}
}

func TestPut(t *testing.T) {
	n := startNode(t, 2, func(c *Config) { c.Fsync = true })
	p := "/dev2/0/000/148/0000148056.fid"
	code, _, body := do(t, "PUT", n.url+p, strings.NewReader("first"))
	if code != 200 || body != "<h1>200 - OK</h1>\n" {
		t.Fatalf("PUT: %d %q", code, body)
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "first" {
		t.Fatalf("stored %q", b)
	}
	if st, _ := os.Stat(n.path(p)); st.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v", st.Mode())
	}
	if st, _ := os.Stat(filepath.Dir(n.path(p))); st.Mode().Perm() != 0o755 {
		t.Errorf("dir mode %v", st.Mode())
	}
	// Overwrite, with a verified Content-MD5: 201.
	if code, _, _ := do(t, "PUT", n.url+p, strings.NewReader("second"), "Content-MD5", md5b64("second")); code != 201 {
		t.Fatalf("PUT with MD5: %d", code)
	}
	// A wrong MD5 is refused and the stored file stays as it was.
	code, _, body = do(t, "PUT", n.url+p, strings.NewReader("third"), "Content-MD5", md5b64("other"))
	if code != 400 || !strings.Contains(body, "Content-MD5 mismatch") {
		t.Fatalf("bad MD5: %d %q", code, body)
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "second" {
		t.Fatalf("after a refused PUT the file is %q", b)
	}
	// A partial PUT (Content-Range) is refused rather than taken for the
	// whole file.
	if code, _, _ := do(t, "PUT", n.url+p, strings.NewReader("xx"), "Content-Range", "bytes 0-1/6"); code != 400 {
		t.Fatalf("PUT with Content-Range: %d", code)
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "second" {
		t.Fatalf("after a partial PUT the file is %q", b)
	}
	// Empty body, chunked body, a file directly in the device directory.
	if code, _, _ := do(t, "PUT", n.url+"/dev1/empty", strings.NewReader("")); code != 200 {
		t.Fatalf("empty PUT: %d", code)
	}
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 100; i++ {
			fmt.Fprintf(pw, "line %d\n", i)
		}
		pw.Close()
	}()
	if code, _, _ := do(t, "PUT", n.url+"/dev1/chunked/x.fid", pr); code != 200 {
		t.Fatalf("chunked PUT: %d", code)
	}
	if b, _ := os.ReadFile(n.path("/dev1/chunked/x.fid")); !bytes.HasPrefix(b, []byte("line 0\n")) ||
		!bytes.HasSuffix(b, []byte("line 99\n")) {
		t.Fatalf("chunked content %q", b)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/dev9/0/x.fid", 404}, // no such device: "Base directory does not exist"
		{"/other/x.fid", 404},  // not a device
		{"/x.fid", 400},        // "Does not meet minimum directory requirement"
		{"/dev1", 400},         // the device itself
		{"/dev1/a/../b", 400},  // ".."
		{"/dev1/a%2Fb/..%2Fc", 400},
		{"/dev1/sp%20ace", 400},  // outside [A-Za-z0-9_.-]
		{"/dev1/dir/", 400},      // a directory name
		{"/dev1/0/000/148", 409}, // a directory of that name is in the way
	} {
		if tc.path == "/dev1/0/000/148" {
			os.MkdirAll(n.path("/dev1/0/000/148"), 0o755)
		}
		if code, _, _ := do(t, "PUT", n.url+tc.path, strings.NewReader("x")); code != tc.code {
			t.Errorf("PUT %s: %d, want %d", tc.path, code, tc.code)
		}
	}
	if _, err := os.Stat(n.path("/dev9")); !os.IsNotExist(err) {
		t.Error("a PUT created a device directory")
	}
	// A file in the way of a directory.
	if code, _, _ := do(t, "PUT", n.url+"/dev1/empty/x", strings.NewReader("x")); code != 409 {
		t.Errorf("PUT below a file: %d", code)
	}
	if left := tempFiles(t, n.docroot); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// The tracker's monitor: usage, MKCOL, test write and read back, and the
// bad-MD5 probe that must be rejected.
func TestMonitorProbe(t *testing.T) {
	n := startNode(t, 1, nil)
	code, _, body := do(t, "GET", n.url+"/dev1/usage", nil)
	if code != 200 || !strings.Contains(body, "total: ") {
		t.Fatalf("usage: %d %q", code, body)
	}
	if code, _, _ := do(t, "MKCOL", n.url+"/dev1/test-write/", nil, "Content-Length", "0"); code != 400 {
		t.Fatalf("MKCOL: %d, want 400 (no MKCOL needed)", code)
	}
	msg := fmt.Sprintf("time=%d rand=%d", time.Now().Unix(), 42)
	if code, _, _ := do(t, "PUT", n.url+"/dev1/test-write/test-write-42", strings.NewReader(msg)); code != 200 {
		t.Fatalf("test write: %d", code)
	}
	if code, _, body := do(t, "GET", n.url+"/dev1/test-write/test-write-42", nil); code != 200 || body != msg {
		t.Fatalf("read back: %d %q", code, body)
	}
	if code, _, _ := do(t, "PUT", n.url+"/dev1/test-write/test-md5", strings.NewReader("."),
		"Content-MD5", md5b64("!")); code != 400 {
		t.Fatalf("bad MD5 probe: %d, want 400", code)
	}
}

func TestDeleteAndMethods(t *testing.T) {
	n := startNode(t, 1, nil)
	os.WriteFile(n.path("/dev1/gone.fid"), []byte("x"), 0o644)
	if code, _, _ := do(t, "DELETE", n.url+"/dev1/gone.fid", nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if _, err := os.Stat(n.path("/dev1/gone.fid")); !os.IsNotExist(err) {
		t.Fatal("file still there")
	}
	if code, _, _ := do(t, "DELETE", n.url+"/dev1/gone.fid", nil); code != 404 {
		t.Fatalf("DELETE missing: %d", code)
	}
	os.Mkdir(n.path("/dev1/d"), 0o755)
	if code, _, _ := do(t, "DELETE", n.url+"/dev1/d", nil); code != 400 {
		t.Fatalf("DELETE directory: %d", code)
	}
	if code, _, _ := do(t, "DELETE", n.url+"/dev1/../x", nil); code != 400 {
		t.Fatalf("DELETE ..: %d", code)
	}
	for _, m := range []string{"POST", "OPTIONS", "MOVE", "PROPFIND"} {
		code, h, _ := do(t, m, n.url+"/dev1/x", nil)
		if code != 405 || h.Get("Allow") != allowed {
			t.Errorf("%s: %d Allow %q", m, code, h.Get("Allow"))
		}
	}
}

// rawPut sends a PUT announcing size bytes but only sends part of them,
// then runs then (close, or wait).
func rawPut(t *testing.T, url, path string, size int, part string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, size, part)
	return c, bufio.NewReader(c)
}

func TestPutCutOffAndStalled(t *testing.T) {
	n := startNode(t, 1, func(c *Config) { c.BodyTimeout = 300 * time.Millisecond })
	p := "/dev1/0/000/000/0000000007.fid"
	if code, _, _ := do(t, "PUT", n.url+p, strings.NewReader("old content")); code != 200 {
		t.Fatal(code)
	}
	// Cut off half-way: the old file stays, nothing partial anywhere.
	c, _ := rawPut(t, n.url, p, 1000, strings.Repeat("n", 500))
	eventually(t, "the temp file", func() bool { return len(tempFiles(t, n.docroot)) == 1 })
	c.Close()
	eventually(t, "the temp file to go", func() bool { return len(tempFiles(t, n.docroot)) == 0 })
	if b, _ := os.ReadFile(n.path(p)); string(b) != "old content" {
		t.Fatalf("after a cut-off PUT the file is %q", b)
	}
	// Stalled: answered 408 after BodyTimeout, nothing kept.
	q := "/dev1/0/000/000/0000000008.fid"
	start := time.Now()
	_, br := rawPut(t, n.url, q, 1000, "partial")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 408 || time.Since(start) > 5*time.Second {
		t.Fatalf("stalled PUT: %d after %v", resp.StatusCode, time.Since(start))
	}
	if _, err := os.Stat(n.path(q)); !os.IsNotExist(err) {
		t.Fatal("a stalled PUT left a file")
	}
	if left := tempFiles(t, n.docroot); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// TestPutPeerCopy: a PUT marked as a fast-path peer copy creates its
// final name directly (no temporary name), never replaces an existing
// file, and leaves nothing when its body breaks off.
func TestPutPeerCopy(t *testing.T) {
	n := startNode(t, 1, func(c *Config) { c.BodyTimeout = 300 * time.Millisecond })
	p := "/dev1/0/000/000/0000000011.fid"
	if code, _, _ := do(t, "PUT", n.url+p, strings.NewReader("copy"), peerCopyHeader, "1"); code != 200 {
		t.Fatalf("peer copy: %d", code)
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "copy" {
		t.Fatalf("peer copy stored %q", b)
	}
	if code, _, _ := do(t, "PUT", n.url+p, strings.NewReader("again"), peerCopyHeader, "1"); code != 409 {
		t.Fatalf("peer copy over an existing file: %d", code)
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "copy" {
		t.Fatalf("after a refused peer copy the file is %q", b)
	}
	// Cut off half-way: the file under construction is removed.
	q := "/dev1/0/000/000/0000000012.fid"
	c, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\n%s: 1\r\nContent-Length: 1000\r\n\r\n%s", q, peerCopyHeader, strings.Repeat("n", 500))
	eventually(t, "the file under construction", func() bool { _, err := os.Stat(n.path(q)); return err == nil })
	c.Close()
	eventually(t, "the cut-off peer copy to go", func() bool { _, err := os.Stat(n.path(q)); return os.IsNotExist(err) })
	if left := tempFiles(t, n.docroot); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestSymlinksCannotEscape(t *testing.T) {
	n := startNode(t, 1, nil)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.Symlink(outside, n.path("/dev1/out"))                              // a directory link leaving the docroot
	os.Symlink(filepath.Join(outside, "secret"), n.path("/dev1/abs.fid")) // an absolute link to a file outside
	os.Symlink(outside, filepath.Join(n.docroot, "dev5"))                 // a device directory leaving the docroot
	os.WriteFile(n.path("/dev1/real.fid"), []byte("inside"), 0o644)
	os.Symlink("real.fid", n.path("/dev1/alias.fid")) // a link that stays inside: fine
	for _, p := range []string{"/dev1/out/secret", "/dev1/abs.fid", "/dev5/secret"} {
		code, _, body := do(t, "GET", n.url+p, nil)
		if code == 200 || strings.Contains(body, "secret") {
			t.Errorf("GET %s: %d %q", p, code, body)
		}
	}
	if code, _, body := do(t, "GET", n.url+"/dev1/alias.fid", nil); code != 200 || body != "inside" {
		t.Errorf("GET through an inside link: %d %q", code, body)
	}
	for _, p := range []string{"/dev1/out/new", "/dev1/out/secret", "/dev5/new"} {
		if code, _, _ := do(t, "PUT", n.url+p, strings.NewReader("pwned")); code < 400 {
			t.Errorf("PUT %s: %d", p, code)
		}
	}
	// A PUT onto a link replaces the link itself; the target is untouched.
	if code, _, _ := do(t, "PUT", n.url+"/dev1/abs.fid", strings.NewReader("new")); code != 200 {
		t.Errorf("PUT over a link: %d", code)
	}
	if st, err := os.Lstat(n.path("/dev1/abs.fid")); err != nil || !st.Mode().IsRegular() {
		t.Errorf("the link was not replaced by a file: %v %v", st, err)
	}
	for _, p := range []string{"/dev1/out/secret", "/dev5/secret"} {
		if code, _, _ := do(t, "DELETE", n.url+p, nil); code < 400 {
			t.Errorf("DELETE %s: %d", p, code)
		}
	}
	ents, _ := os.ReadDir(outside)
	if len(ents) != 1 {
		t.Fatalf("outside dir changed: %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "secret" {
		t.Fatalf("outside file changed: %q", b)
	}
	if !strings.Contains(n.log.String(), "refused a path leaving the docroot") {
		t.Error("escape attempts were not logged")
	}
	// The side channel obeys the same rules.
	sc := dialSide(t, n.mgmt)
	if got := sc.cmd(t, "MD5 /dev1/out/secret"); got != "/dev1/out/secret MD5=-1" {
		t.Errorf("MD5 through an escaping link: %q", got)
	}
	if got := sc.cmd(t, "size /dev5/secret"); got != "/dev5/secret -1" {
		t.Errorf("size through an escaping device link: %q", got)
	}
}

func TestDeviceVanishes(t *testing.T) {
	n := startNode(t, 2, nil)
	n.srv.usage.refresh()
	// The usage refresher may be writing dev2/usage (a temp file, then a
	// rename) while the tree is removed: retry until the directory is gone.
	deadline := time.Now().Add(10 * time.Second)
	for err := os.RemoveAll(n.path("/dev2")); err != nil; err = os.RemoveAll(n.path("/dev2")) {
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	if code, _, _ := do(t, "GET", n.url+"/dev2/usage", nil); code != 404 {
		t.Errorf("usage of a vanished device: %d", code)
	}
	if code, _, body := do(t, "PUT", n.url+"/dev2/0/x.fid", strings.NewReader("x")); code != 404 ||
		!strings.Contains(body, "Base directory does not exist") {
		t.Errorf("PUT to a vanished device: %d %q", code, body)
	}
	if _, err := os.Stat(n.path("/dev2")); !os.IsNotExist(err) {
		t.Fatal("the vanished device directory was recreated")
	}
	if code, _, _ := do(t, "PUT", n.url+"/dev1/0/x.fid", strings.NewReader("x")); code != 200 {
		t.Errorf("the other device stopped working: %d", code)
	}
	n.srv.usage.refresh()
	if st := n.srv.devs.get(2); st != devMissing {
		t.Errorf("dev2 state %q", st)
	}
	if !strings.Contains(n.log.String(), `msg="device missing" device=2`) {
		t.Error("the vanished device was not logged")
	}
}

// mountTmpfs mounts a small tmpfs at dir, skipping the test where that is
// not allowed (it needs root and CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir string, size string) {
	t.Helper()
	if err := mountFS("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("SKIPPING: cannot mount tmpfs (%v); this test needs root", err)
	}
	t.Cleanup(func() {
		if err := unmount(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

func TestDiskFull(t *testing.T) {
	n := startNode(t, 2, nil)
	mountTmpfs(t, n.path("/dev2"), "256k")
	big := strings.Repeat("x", 1<<20)
	code, _, _ := do(t, "PUT", n.url+"/dev2/0/000/000/0000000009.fid", strings.NewReader(big))
	if code != 507 {
		t.Fatalf("PUT to a full disk: %d, want 507", code)
	}
	if _, err := os.Stat(n.path("/dev2/0/000/000/0000000009.fid")); !os.IsNotExist(err) {
		t.Fatal("partial file at the final path")
	}
	if left := tempFiles(t, n.docroot); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
	if code, _, _ := do(t, "PUT", n.url+"/dev2/small", strings.NewReader("fits")); code != 200 {
		t.Fatalf("small PUT after ENOSPC: %d", code)
	}
	if code, _, _ := do(t, "PUT", n.url+"/dev1/big", strings.NewReader(big)); code != 200 {
		t.Fatalf("other device: %d", code)
	}
	// Fill it up: the usage file is still rewritten (in place) and says so.
	n.srv.usage.refresh()
	f, err := os.Create(n.path("/dev2/filler"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()
	n.srv.usage.refresh()
	b, _ := os.ReadFile(n.path("/dev2/usage"))
	if !strings.Contains(string(b), "available: 0\n") {
		t.Fatalf("usage of a full device:\n%s", b)
	}
	if st := n.srv.devs.get(2); st != devFull {
		t.Errorf("dev2 state %q", st)
	}
	if left := tempFiles(t, n.docroot); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestReadOnlyDevice(t *testing.T) {
	n := startNode(t, 2, nil)
	dir := n.path("/dev2")
	mountTmpfs(t, dir, "1m")
	os.WriteFile(filepath.Join(dir, "keep.fid"), []byte("still readable"), 0o644)
	if err := remountReadOnly(dir); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	code, _, _ := do(t, "PUT", n.url+"/dev2/new.fid", strings.NewReader("x"))
	if code != 403 {
		t.Fatalf("PUT to a read-only device: %d, want 403", code)
	}
	if code, _, body := do(t, "GET", n.url+"/dev2/keep.fid", nil); code != 200 || body != "still readable" {
		t.Fatalf("GET from a read-only device: %d %q", code, body)
	}
	if code, _, _ := do(t, "PUT", n.url+"/dev1/new.fid", strings.NewReader("x")); code != 200 {
		t.Fatalf("the other device: %d", code)
	}
	n.srv.usage.refresh()
	if st := n.srv.devs.get(2); st != devReadOnly {
		t.Errorf("dev2 state %q", st)
	}
	if !strings.Contains(n.log.String(), `msg="device read-only" device=2`) {
		t.Error("read-only device not logged")
	}
}

// TestPutThroughLinks: a PUT whose directory is reached through symlinks
// that stay in their device (or a device directory linked inside the
// docroot) is stored where the links lead; a link from one device into
// another is refused. A body larger than the copy buffer arrives whole.
func TestPutThroughLinks(t *testing.T) {
	n := startNode(t, 2, nil)
	if err := os.MkdirAll(n.path("/disks/d7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("disks/d7", n.path("/dev7")); err != nil { // a device linked inside the docroot
		t.Fatal(err)
	}
	if err := os.MkdirAll(n.path("/dev1/real/000"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", n.path("/dev1/0")); err != nil { // a link inside the device
		t.Fatal(err)
	}
	if err := os.Symlink("../dev2", n.path("/dev1/other")); err != nil { // into another device
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789abcdef", 20000) // 320 000 bytes, over the 128 KiB buffer
	for _, tc := range []struct{ url, file, body string }{
		{"/dev7/0/000/000/0000000001.fid", "/disks/d7/0/000/000/0000000001.fid", "seven"},
		{"/dev1/0/000/0000000002.fid", "/dev1/real/000/0000000002.fid", "linked"},
		{"/dev2/0/000/000/0000000003.fid", "/dev2/0/000/000/0000000003.fid", big},
	} {
		if code, _, body := do(t, "PUT", n.url+tc.url, strings.NewReader(tc.body)); code != 200 {
			t.Fatalf("PUT %s: %d %q", tc.url, code, body)
		}
		if b, err := os.ReadFile(n.path(tc.file)); err != nil || string(b) != tc.body {
			t.Fatalf("PUT %s stored %d bytes at %s (%v), want %d", tc.url, len(b), tc.file, err, len(tc.body))
		}
	}
	if code, _, _ := do(t, "PUT", n.url+"/dev1/other/x.fid", strings.NewReader("crossed")); code < 400 {
		t.Errorf("PUT through a link into another device: %d", code)
	}
	if _, err := os.Lstat(n.path("/dev2/x.fid")); err == nil {
		t.Error("a PUT through a link wrote into another device")
	}
	if got := tempFiles(t, n.docroot); len(got) != 0 {
		t.Errorf("temp files left: %v", got)
	}
}
