package mogstored

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/acl"
)

// clientFrom is an HTTP client whose connections come from src.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func doFrom(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestWriteAllow: with write_allow set, PUT, DELETE and every other
// method but GET and HEAD from outside the networks get 403 and change
// nothing; reads work for everyone; inside clients write as before.
func TestWriteAllow(t *testing.T) {
	n := startNode(t, 1, func(c *Config) { c.WriteAllow = acl.MustParse("127.0.0.1/32,10.0.0.0/8") })
	if err := os.WriteFile(n.path("/dev1/keep.fid"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, in := clientFrom("127.0.0.9"), clientFrom("127.0.0.1")
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/dev1/new.fid", "intruder"},
		{"PUT", "/dev1/keep.fid", "overwritten"},
		{"DELETE", "/dev1/keep.fid", ""},
		{"MKCOL", "/dev1/dir/", ""},
		{"POST", "/dev1/keep.fid", "x"},
		{"POST", "/_concat", "dest /dev1/0/000/000/0000000001.fid\npart 4 /dev1/keep.fid\n"},
	} {
		code, body := doFrom(t, out, c.method, n.url+c.path, c.body)
		if code != 403 || !strings.Contains(body, "Writes are not allowed from your address") {
			t.Errorf("%s %s from outside: %d %q", c.method, c.path, code, body)
		}
	}
	if _, err := os.Stat(n.path("/dev1/new.fid")); !os.IsNotExist(err) {
		t.Error("a refused PUT created its file")
	}
	if b, err := os.ReadFile(n.path("/dev1/keep.fid")); err != nil || string(b) != "kept" {
		t.Errorf("keep.fid after refused writes: %q, %v", b, err)
	}
	if code, body := doFrom(t, out, "GET", n.url+"/dev1/keep.fid", ""); code != 200 || body != "kept" {
		t.Errorf("GET from outside: %d %q", code, body)
	}
	if code, _ := doFrom(t, out, "HEAD", n.url+"/dev1/keep.fid", ""); code != 200 {
		t.Errorf("HEAD from outside: %d", code)
	}
	if code, _ := doFrom(t, in, "PUT", n.url+"/dev1/new.fid", "welcome"); code != 200 {
		t.Errorf("PUT from inside: %d", code)
	}
	if code, _ := doFrom(t, in, "DELETE", n.url+"/dev1/keep.fid", ""); code != 204 {
		t.Errorf("DELETE from inside: %d", code)
	}
	if !strings.Contains(n.log.String(), "write refused: client not in write_allow") {
		t.Error("refusals were not logged")
	}
}

// TestWriteAllowOffByDefault: without write_allow anyone may write.
func TestWriteAllowOffByDefault(t *testing.T) {
	n := startNode(t, 1, nil)
	if code, _ := doFrom(t, clientFrom("127.0.0.9"), "PUT", n.url+"/dev1/x.fid", "x"); code != 200 {
		t.Errorf("PUT without write_allow: %d", code)
	}
}

// TestWriteAllowNeedsBuiltinServer: the list cannot be enforced by a web
// server mogstored does not run, so the configuration is refused.
func TestWriteAllowNeedsBuiltinServer(t *testing.T) {
	for _, srv := range []string{ServerNone, ServerNginx} {
		c := DefaultConfig()
		c.Server, c.WriteAllow = srv, acl.MustParse("10.0.0.0/8")
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), "write_allow works with the built-in HTTP server only") {
			t.Errorf("server %s with write_allow: %v", srv, err)
		}
	}
}
