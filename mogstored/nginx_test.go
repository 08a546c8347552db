package mogstored_test

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

var client = &http.Client{Timeout: 30 * time.Second}

func do(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
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
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sideCmd sends one side-channel line and returns the reply line.
func sideCmd(t *testing.T, c net.Conn, br *bufio.Reader, line string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, line+"\r\n"); err != nil {
		t.Fatal(err)
	}
	l, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("side channel: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// nginxNode is stock nginx serving a docroot over HTTP/WebDAV with
// `mogstored --server=none` beside it for usage files and the side channel,
// the way people run it.
func nginxNode(t *testing.T) (*mogtest.Mogstored, *mogtest.Nginx) {
	t.Helper()
	mogtest.NginxBinary(t) // skips (or fails under CI) without nginx
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Server: "none", Devices: 2})
	if m.HTTPAddr != "" {
		t.Fatal("server=none must not serve HTTP")
	}
	n := mogtest.StartNginx(t, mogtest.NginxOptions{DocRoot: m.DocRoot, Devices: m.DevIDs})
	return m, n
}

func TestNginxStorageNode(t *testing.T) {
	m, n := nginxNode(t)
	// The usage file mogstored writes is what nginx serves to the monitor.
	code, body := do(t, "GET", n.URL("/dev2/usage"), "")
	if code != 200 {
		t.Fatalf("usage via nginx: %d", code)
	}
	if _, err := nodeproto.ParseUsage([]byte(body)); err != nil {
		t.Fatalf("usage via nginx: %v\n%s", err, body)
	}
	p := "/dev1/0/000/000/0000000042.fid"
	content := strings.Repeat("stored through nginx\n", 5000)
	if code, _ := do(t, "PUT", n.URL(p), content); code != 201 {
		t.Fatalf("PUT via nginx: %d", code)
	}
	if code, _ := do(t, "PUT", n.URL(p), content+"v2"); code != 204 {
		t.Fatalf("overwrite via nginx: %d", code)
	}
	content += "v2"
	if code, got := do(t, "GET", n.URL(p), ""); code != 200 || got != content {
		t.Fatalf("GET via nginx: %d, %d bytes", code, len(got))
	}
	if code, got := do(t, "GET", n.URL(p), "", "Range", "bytes=0-5"); code != 206 || got != "stored" {
		t.Fatalf("Range via nginx: %d %q", code, got)
	}
	// MKCOL: created, then 405 for an existing one (why the tracker needs skip_mkcol).
	if code, _ := do(t, "MKCOL", n.URL("/dev2/newdir/"), ""); code != 201 {
		t.Fatalf("MKCOL: %d", code)
	}
	if code, _ := do(t, "MKCOL", n.URL("/dev2/newdir/"), ""); code != 405 {
		t.Fatalf("MKCOL again: %d", code)
	}
	if st, err := os.Stat(filepath.Join(m.DevDir(2), "newdir")); err != nil || !st.IsDir() {
		t.Fatalf("MKCOL made nothing: %v", err)
	}
	// The side channel digests what nginx stored, in the same docroot.
	c := m.SideChannel(t)
	br := bufio.NewReader(c)
	sum := md5.Sum([]byte(content))
	if got := sideCmd(t, c, br, "MD5 "+p+" fsck"); got != p+" MD5="+hex.EncodeToString(sum[:]) {
		t.Fatalf("MD5: %q", got)
	}
	if got := sideCmd(t, c, br, "size "+p); got != p+" "+strconv.Itoa(len(content)) {
		t.Fatalf("size: %q", got)
	}
	// An upload cut off half-way leaves nothing at the final path.
	q := "/dev1/0/000/000/0000000043.fid"
	conn, err := net.Dial("tcp", n.Addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n%s", q, strings.Repeat("h", 30000))
	conn.Close()
	if code, _ := do(t, "GET", n.URL(q), ""); code != 404 {
		t.Fatalf("cut-off upload visible: %d", code)
	}
	if code, _ := do(t, "DELETE", n.URL(p), ""); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _ := do(t, "GET", n.URL(p), ""); code != 404 {
		t.Fatalf("GET after DELETE: %d", code)
	}
	if got := sideCmd(t, c, br, "MD5 "+p); got != p+" MD5=-1" {
		t.Fatalf("MD5 after DELETE: %q", got)
	}
	if code, body := do(t, "GET", n.URL("/"), ""); code != 200 || body != "<h1>200 - OK</h1>\nDirectory listing disabled" {
		t.Errorf("GET / via nginx: %d %q", code, body)
	}
	for _, bad := range []string{"/etc/passwd", "/.tmp/nginx.conf"} {
		if code, _ := do(t, "GET", n.URL(bad), ""); code != 404 {
			t.Errorf("GET %s via nginx: %d", bad, code)
		}
	}
}

// trackerWithNginx starts a tracker whose only storage node is stock nginx
// with mogstored --server=none beside it, as deployed: the tracker setting
// skip_mkcol = 1, the side channel on the tracker's mogstored_stream_port.
func trackerWithNginx(t *testing.T) (*mogtest.Mogstored, *mogtest.Nginx, *mogtest.TrackerConn) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "cmd", "mogilefsd")); err != nil {
		t.Skip("needs tracker: cmd/mogilefsd is not in the repository")
	}
	m, n := nginxNode(t)
	_, mgmtPort, _ := net.SplitHostPort(m.MgmtAddr)
	_, httpPort, _ := net.SplitHostPort(n.Addr)
	streamPort, _ := strconv.Atoi(mgmtPort)
	tr := mogtest.StartTracker(t, mogtest.TrackerOptions{StreamPort: streamPort})
	c := tr.Conn(t)
	c.MustDo(t, "set_server_setting", wire.Args{"key": "skip_mkcol", "value": "1"})
	c.MustDo(t, "create_host", wire.Args{"host": "nginxnode", "ip": "127.0.0.1", "port": httpPort, "status": "alive"})
	for _, id := range m.DevIDs {
		c.MustDo(t, "create_device", wire.Args{"hostname": "nginxnode", "devid": strconv.Itoa(id), "state": "alive"})
	}
	c.MustDo(t, "create_domain", wire.Args{"domain": "photos"})
	(&mogtest.Cluster{}).WaitWriteable(t, c)
	return m, n, c
}

// store uploads content under key through the tracker and returns the
// URL it was stored at.
func store(t *testing.T, c *mogtest.TrackerConn, n *mogtest.Nginx, key, content string) string {
	t.Helper()
	open := c.MustDo(t, "create_open", wire.Args{"domain": "photos", "key": key})
	url := open["path"]
	if !strings.HasPrefix(url, "http://"+n.Addr+"/dev") {
		t.Fatalf("create_open path %q is not on nginx", url)
	}
	if code, _ := do(t, "PUT", url, content); code != 201 && code != 204 {
		t.Fatalf("PUT %s: %d", url, code)
	}
	c.MustDo(t, "create_close", wire.Args{"domain": "photos", "key": key, "fid": open["fid"],
		"devid": open["devid"], "path": url, "size": strconv.Itoa(len(content))})
	return url
}

// TestNginxThroughTracker stores and reads files through the tracker with
// nginx as the node's HTTP side; fsck's digests come from the side channel
// of the mogstored beside it.
func TestNginxThroughTracker(t *testing.T) {
	m, n, c := trackerWithNginx(t)
	files := map[string]string{}
	for i := 0; i < 5; i++ {
		key := fmt.Sprintf("photo/%d.jpg", i)
		files[key] = strings.Repeat(fmt.Sprintf("image %d ", i), 1000*(i+1))
		store(t, c, n, key, files[key])
	}
	for key, content := range files {
		paths := c.MustDo(t, "get_paths", wire.Args{"domain": "photos", "key": key})
		if paths["paths"] == "0" || paths["path1"] == "" {
			t.Fatalf("get_paths %s: %v", key, paths)
		}
		code, got := do(t, "GET", paths["path1"], "")
		if code != 200 || got != content {
			t.Fatalf("GET %s (%s): %d, %d bytes", key, paths["path1"], code, len(got))
		}
		uri := strings.TrimPrefix(paths["path1"], "http://"+n.Addr)
		sc := m.SideChannel(t)
		sum := md5.Sum([]byte(content))
		if got := sideCmd(t, sc, bufio.NewReader(sc), "MD5 "+uri+" fsck"); got != uri+" MD5="+hex.EncodeToString(sum[:]) {
			t.Fatalf("side channel: %q", got)
		}
	}
	c.MustDo(t, "delete", wire.Args{"domain": "photos", "key": "photo/0.jpg"})
	if _, err := c.Do("get_paths", wire.Args{"domain": "photos", "key": "photo/0.jpg"}); err == nil {
		t.Fatal("get_paths of a deleted key succeeded")
	}
}

// TestNginxTrackerDeletesThroughNginx checks that the tracker's delete
// worker removes a deleted file from the node with DELETE through nginx.
func TestNginxTrackerDeletesThroughNginx(t *testing.T) {
	_, n, c := trackerWithNginx(t)
	url := store(t, c, n, "doomed", "short-lived")
	c.MustDo(t, "delete", wire.Args{"domain": "photos", "key": "doomed"})
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _ := do(t, "GET", url, "")
		if code == 404 {
			return
		}
		if time.Now().After(deadline) {
			// The original's delete worker does this within seconds.
			t.Fatalf("the deleted file is still served after 60 s (status %d)", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServerNginx: mogstored --server=nginx runs nginx itself with a
// generated WebDAV configuration, and stops it when it stops.
func TestServerNginx(t *testing.T) {
	mogtest.NginxBinary(t)
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{Server: "nginx", Devices: 2})
	p := "/dev2/0/000/000/0000000005.fid"
	if code, _ := do(t, "PUT", m.URL(p), "served by nginx"); code != 201 {
		t.Fatalf("PUT: %d\n%s", code, m.Output())
	}
	if code, got := do(t, "GET", m.URL(p), ""); code != 200 || got != "served by nginx" {
		t.Fatalf("GET: %d %q", code, got)
	}
	if code, _ := do(t, "GET", m.URL("/dev1/usage"), ""); code != 200 {
		t.Fatalf("usage: %d", code)
	}
	b, err := os.ReadFile(filepath.Join(m.DocRoot, ".tmp", "nginx.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := m.Stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, m.Output())
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Fatalf("nginx (pid %d) still running after mogstored stopped", pid)
	}
	if c, err := net.DialTimeout("tcp", m.HTTPAddr, time.Second); err == nil {
		c.Close()
		t.Fatal("HTTP port still open")
	}
}
