package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// nginxProxyConf is the proxy_pass set-up of docs/mogproxy.md: nginx
// passes every request to mogproxy, which streams the bytes.
const nginxProxyConf = `
upstream mogproxy {
    server {{GATEWAY}};
    keepalive 32;
}
server {
    listen {{LISTEN}};
    location / {
        # No URI after the address: nginx passes the request line as the
        # client sent it, so escaped keys arrive unchanged.
        proxy_pass http://mogproxy;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        # Stream uploads and downloads instead of spooling them.
        proxy_request_buffering off;
        proxy_buffering off;
        client_max_body_size 0;
    }
}
`

// nginxAccelConf is the X-Accel-Redirect set-up of docs/mogproxy.md:
// mogproxy looks the key up, nginx fetches the bytes from the storage
// node, failing over to a second copy.
const nginxAccelConf = `
upstream mogproxy {
    server {{GATEWAY}};
    keepalive 32;
}
server {
    listen {{LISTEN}};
    # A second error_page (in @mogilefs_next) needs this.
    recursive_error_pages on;

    location / {
        proxy_pass http://mogproxy;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_request_buffering off;
        client_max_body_size 0;
    }
    # mogproxy answers X-Accel-Redirect: /_mogilefs/<host:port>/<path>.
    location ~ ^/_mogilefs/(?<mogilefs_host>[^/]+)(?<mogilefs_path>/.*)$ {
        internal;
        # mogproxy's answer headers, kept before the next proxy_pass
        # replaces them.
        set $mogilefs_etag  $upstream_http_etag;
        set $mogilefs_range $upstream_http_x_mogilefs_range;
        set $mogilefs_next  $upstream_http_x_mogilefs_next_url;
        proxy_pass http://$mogilefs_host$mogilefs_path;
        include {{ACCEL_COMMON}};
        error_page 404 500 502 503 504 = @mogilefs_next;
    }
    location @mogilefs_next {
        if ($mogilefs_next = "") {
            return 503;
        }
        proxy_pass $mogilefs_next;
        include {{ACCEL_COMMON}};
        error_page 404 500 502 503 504 = @mogilefs_unavailable;
    }
    location @mogilefs_unavailable {
        return 503;
    }
}
`

// nginxAccelCommon is included by both storage node locations.
const nginxAccelCommon = `
proxy_http_version 1.1;
proxy_set_header Connection "";
# mogproxy decided the conditions and whether the Range applies.
proxy_set_header Range $mogilefs_range;
proxy_set_header If-Range "";
proxy_set_header If-Match "";
proxy_set_header If-None-Match "";
proxy_set_header If-Modified-Since "";
proxy_set_header If-Unmodified-Since "";
# Keep mogproxy's Content-Type and ETag, not the node's.
proxy_hide_header Content-Type;
proxy_hide_header ETag;
proxy_hide_header Last-Modified;
add_header ETag $mogilefs_etag;
proxy_intercept_errors on;
proxy_connect_timeout 2s;
`

// startNginxFor runs nginx with conf in front of gw.
func startNginxFor(t *testing.T, gw *testGateway, conf string) *mogtest.Nginx {
	t.Helper()
	common := filepath.Join(t.TempDir(), "mogilefs_accel.conf")
	writeFileT(t, common, nginxAccelCommon)
	return mogtest.StartNginxConf(t, strings.NewReplacer("{{GATEWAY}}", gw.Addr, "{{ACCEL_COMMON}}", common).Replace(conf))
}

// TestNginxProxyPass runs nginx in front of the gateway with proxy_pass:
// uploads and downloads stream through both.
func TestNginxProxyPass(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"two": 2}})
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{MaxURLBytes: 2000})
	ng := startNginxFor(t, gw, nginxProxyConf)
	nginxCommon(t, cl, gw, ng)
}

// TestNginxAccelRedirect runs nginx in front of the gateway in
// X-Accel-Redirect mode: the gateway looks keys up, nginx serves the
// bytes from the storage nodes and fails over between copies.
func TestNginxAccelRedirect(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Classes: map[string]int{"two": 2}})
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{MaxURLBytes: 2000, AccelRedirect: "/_mogilefs"})
	ng := startNginxFor(t, gw, nginxAccelConf)
	hc := httpClient()

	// Straight to the gateway, a GET is the redirect and no content;
	// it names no storage node to the client through nginx.
	if r := do(t, hc, "PUT", gw.URL+"/files/direct.txt", strings.NewReader("hello")); r.status != 201 {
		t.Fatalf("PUT: %v", r)
	}
	r := do(t, hc, "GET", gw.URL+"/files/direct.txt", nil)
	if r.status != 200 || len(r.body) != 0 || !strings.HasPrefix(r.header.Get(gateway.HeaderAccelRedirect), "/_mogilefs/127.") ||
		!strings.HasPrefix(r.header.Get(gateway.HeaderReproxyURL), "http://127.") {
		t.Errorf("direct GET in accel mode: %v", r)
	}
	r = do(t, hc, "GET", ng.URL("/files/direct.txt"), nil)
	if r.status != 200 || string(r.body) != "hello" {
		t.Errorf("GET through nginx: %v", r)
	}
	for k := range r.header {
		if strings.HasPrefix(strings.ToLower(k), "x-") {
			t.Errorf("internal header %s reached the client: %v", k, r.header)
		}
	}
	nginxCommon(t, cl, gw, ng)

	// Every node is dead now: for a file with two copies nginx tries
	// both, then answers 503.
	before := len(ng.Proc.Output())
	if r := do(t, hc, "GET", ng.URL("/files/two.bin"), nil); r.status != 503 {
		t.Errorf("GET of a file with two dead copies: %v", r)
	}
	// nginx logged both failed connects (the log reaches us through a
	// pipe: wait for it).
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(ng.Proc.Output()[before:], "connect() failed") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not try both copies:\n%s", ng.Proc.Output()[before:])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nginxCommon is what both set-ups must do.
func nginxCommon(t *testing.T, cl *mogtest.Cluster, gw *testGateway, ng *mogtest.Nginx) {
	hc := httpClient()
	files := trackerClient(t, cl, "files")
	ctx := context.Background()

	// curl -X PUT -T /etc/passwd http://nginx/files/passwd.html
	data := content("passwd", 70000)
	u := ng.URL("/files/passwd.html")
	if r := do(t, hc, "PUT", u, bytes.NewReader(data)); r.status != 201 {
		t.Fatalf("PUT: %v", r)
	}
	if got, err := files.GetBytes(ctx, "passwd.html"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored: %d bytes, %v", len(got), err)
	}
	fi, _ := files.FileInfo(ctx, "passwd.html")
	etag := fmt.Sprintf(`"fid-%d"`, fi.FID)
	r := do(t, hc, "GET", u, nil)
	if r.status != 200 || !bytes.Equal(r.body, data) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		r.header.Get("ETag") != etag || r.header.Get("Content-Length") != "70000" {
		t.Errorf("GET: %v", r)
	}
	if vs := r.header.Values("Accept-Ranges"); len(vs) != 1 || vs[0] != "bytes" {
		t.Errorf("Accept-Ranges %q", vs)
	}
	if h := do(t, hc, "HEAD", u, nil); h.status != 200 || h.header.Get("Content-Length") != "70000" || h.header.Get("ETag") != etag {
		t.Errorf("HEAD: %v", h)
	}
	r = do(t, hc, "GET", u, nil, "Range", "bytes=100-199")
	if r.status != 206 || !bytes.Equal(r.body, data[100:200]) || r.header.Get("Content-Range") != "bytes 100-199/70000" {
		t.Errorf("Range: %v", r)
	}
	r = do(t, hc, "GET", u, nil, "Range", "bytes=70000-")
	if r.status != 416 || r.header.Get("Content-Range") != "bytes */70000" {
		t.Errorf("Range beyond the end: %v", r)
	}
	if r = do(t, hc, "GET", u, nil, "If-None-Match", etag); r.status != 304 {
		t.Errorf("If-None-Match: %v", r)
	}
	if r = do(t, hc, "GET", u, nil, "If-Match", etag); r.status != 200 || len(r.body) != 70000 {
		t.Errorf("If-Match current: %v", r)
	}
	if r = do(t, hc, "GET", u, nil, "Range", "bytes=0-9", "If-Range", `"stale"`); r.status != 200 || len(r.body) != 70000 {
		t.Errorf("If-Range stale: %v", r)
	}
	if r = do(t, hc, "GET", u, nil, "Range", "bytes=0-9", "If-Range", etag); r.status != 206 || !bytes.Equal(r.body, data[:10]) {
		t.Errorf("If-Range current: %v", r)
	}

	// Keys that need escaping survive nginx and the gateway.
	for _, key := range []string{"sp ace/ü.txt", "q?x#y", "pct%25", "a//b", "plus+semi;", "%2F"} {
		ku := ng.URL(gw.Layout().Path("files", key))
		d := content(key, 1234)
		if r := do(t, hc, "PUT", ku, bytes.NewReader(d)); r.status != 201 {
			t.Errorf("PUT %q: %v", key, r)
			continue
		}
		if got, err := files.GetBytes(ctx, key); err != nil || !bytes.Equal(got, d) {
			t.Errorf("key %q not stored as is: %v", key, err)
		}
		if r := do(t, hc, "GET", ku, nil); r.status != 200 || !bytes.Equal(r.body, d) {
			t.Errorf("GET %q: %v", key, r)
		}
	}

	// Errors pass through.
	if r := do(t, hc, "GET", ng.URL("/files/nosuchkey"), nil); r.status != 404 {
		t.Errorf("unknown key: %v", r)
	}
	if r := do(t, hc, "GET", ng.URL("/nosuchdomain/k"), nil); r.status != 404 {
		t.Errorf("unknown domain: %v", r)
	}
	if r := do(t, hc, "GET", ng.URL("/files/"+strings.Repeat("k", 3000)), nil); r.status != 414 {
		t.Errorf("long URL: %v", r)
	}

	// An upload cut off half-way commits nothing.
	c, err := net.Dial("tcp", ng.Addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "PUT /files/cut HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 1<<20)
	c.Write(content("cut", 300<<10))
	c.Close()
	gw.Log.wait(t, 30*time.Second, func(r map[string]string) bool { return r["key"] == "cut" && r["err"] != "" })
	if _, err := files.FileInfo(ctx, "cut"); !client.IsUnknownKey(err) {
		t.Errorf("cut-off PUT through nginx: %v", err)
	}

	// Failover: the first copy's node dies; the file is still served.
	// (A key not read before: the gateway has no cached paths from
	// before its second copy existed.)
	two := content("two", 30000)
	tu := ng.URL("/files/two.bin")
	if r := do(t, hc, "PUT", tu, bytes.NewReader(two)); r.status != 201 {
		t.Fatalf("PUT: %v", r)
	}
	secondCopy(t, cl, files, "two.bin")
	paths, err := files.Paths(ctx, "two.bin", clientPaths())
	if err != nil || len(paths) < 2 {
		t.Fatalf("paths: %v %v", paths, err)
	}
	nodeOf(t, cl, paths[0]).Proc.Kill()
	for _, m := range []string{"GET", "HEAD"} {
		r := do(t, hc, m, tu, nil)
		if r.status != 200 || (m == "GET" && !bytes.Equal(r.body, two)) {
			t.Errorf("%s with the first copy's node dead: %d, %d bytes", m, r.status, len(r.body))
		}
	}
	r = do(t, hc, "GET", tu, nil, "Range", "bytes=5-9")
	if r.status != 206 || !bytes.Equal(r.body, two[5:10]) {
		t.Errorf("Range with the first copy's node dead: %v", r)
	}
	// No copy reachable: 503 (for files not in the gateway's memory
	// cache of small files: one never read, one too large for it).
	if r := do(t, hc, "PUT", ng.URL("/files/unread.bin"), bytes.NewReader(two)); r.status != 201 {
		t.Fatalf("PUT: %v", r)
	}
	for _, n := range cl.Nodes {
		n.Proc.Kill()
	}
	for _, key := range []string{"unread.bin", "passwd.html"} {
		if r := do(t, hc, "GET", ng.URL("/files/"+key), nil); r.status != 503 {
			t.Errorf("GET %s with every node dead: %v", key, r)
		}
	}

	// DELETE passes through.
	if r := do(t, hc, "DELETE", u, nil); r.status != 204 {
		t.Errorf("DELETE: %v", r)
	}
	if r := do(t, hc, "GET", u, nil); r.status != 404 {
		t.Errorf("GET after DELETE: %v", r)
	}
}
