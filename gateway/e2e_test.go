package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestGateway runs the gateway in front of a real tracker and two real
// storage nodes and checks every request type through real HTTP.
func TestGateway(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{
		Domain:  "files",
		Classes: map[string]int{"one": 1, "two": 2},
	})
	admin := cl.Tracker.Conn(t)
	admin.MustDo(t, "create_class", map[string]string{"domain": "files", "class": "md5", "mindevcount": "1", "hashtype": "MD5"})
	admin.MustDo(t, "create_domain", map[string]string{"domain": "other"})
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{})
	hc := httpClient()
	files := trackerClient(t, cl, "files")
	ctx := context.Background()

	t.Run("PutGetHeadDelete", func(t *testing.T) {
		data := content("passwd.html", 5000)
		u := gw.URL + "/files/passwd.html"
		if r := do(t, hc, "PUT", u, bytes.NewReader(data)); r.status != http.StatusCreated {
			t.Fatalf("PUT: %v", r)
		}
		// The key is stored as is, in the domain of the path.
		got, err := files.GetBytes(ctx, "passwd.html")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("stored content differs (%d bytes, %v)", len(got), err)
		}
		fi, err := files.FileInfo(ctx, "passwd.html")
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, hc, "GET", u, nil)
		if r.status != 200 || !bytes.Equal(r.body, data) {
			t.Fatalf("GET: %v", r)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q", ct)
		}
		if et := r.header.Get("ETag"); et != fmt.Sprintf(`"fid-%d"`, fi.FID) {
			t.Errorf("ETag %q for fid %d without checksum", et, fi.FID)
		}
		if r.header.Get("Content-Length") != "5000" || r.header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("headers %v", r.header)
		}
		h := do(t, hc, "HEAD", u, nil)
		if h.status != 200 || h.header.Get("Content-Length") != "5000" || h.header.Get("ETag") != r.header.Get("ETag") || len(h.body) != 0 {
			t.Errorf("HEAD: %v", h)
		}
		if r := do(t, hc, "DELETE", u, nil); r.status != http.StatusNoContent {
			t.Fatalf("DELETE: %v", r)
		}
		if _, err := files.FileInfo(ctx, "passwd.html"); !client.IsUnknownKey(err) {
			t.Errorf("after DELETE, file_info: %v", err)
		}
		for _, m := range []string{"GET", "HEAD", "DELETE"} {
			if r := do(t, hc, m, u, nil); r.status != 404 {
				t.Errorf("%s after DELETE: %v", m, r)
			}
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for _, p := range []string{"/nosuchdomain/k", "/files/nosuchkey", "/other/passwd.html", "/"} {
			for _, m := range []string{"GET", "HEAD", "DELETE"} {
				if r := do(t, hc, m, gw.URL+p, nil); r.status != 404 {
					t.Errorf("%s %s: %v", m, p, r)
				}
			}
		}
		if r := do(t, hc, "PUT", gw.URL+"/nosuchdomain/k", strings.NewReader("x")); r.status != 404 {
			t.Errorf("PUT to unknown domain: %v", r)
		}
		if r := do(t, hc, "PUT", gw.URL+"/files/", strings.NewReader("x")); r.status != 400 {
			t.Errorf("PUT without key: %v", r)
		}
		if r := do(t, hc, "POST", gw.URL+"/files/k", strings.NewReader("x")); r.status != 405 || r.header.Get("Allow") == "" {
			t.Errorf("POST: %v", r)
		}
	})

	t.Run("EscapedKeysRoundTrip", func(t *testing.T) {
		keys := []string{
			"sp ace.txt", "dir/sub/file.jpg", "pct%20lit", "q?x#y&z=1", "plus+semi;colon", "ünï/日本語.png",
			"\xff\xfe raw", "a//b", "trail/", "tab\tnl\n", "%2F", "quote\"'<>",
		}
		for _, key := range keys {
			u := gw.URL + gw.Layout().Path("files", key)
			data := content(key, 777)
			if r := do(t, hc, "PUT", u, bytes.NewReader(data)); r.status != 201 {
				t.Errorf("PUT %q (%s): %v", key, u, r)
				continue
			}
			// The tracker has exactly this key...
			got, err := files.GetBytes(ctx, key)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("key %q not stored as is: %v", key, err)
			}
			// ...and the gateway serves it back.
			if r := do(t, hc, "GET", u, nil); r.status != 200 || !bytes.Equal(r.body, data) {
				t.Errorf("GET %q: %v", key, r)
			}
		}
		// Every key is listed unchanged.
		var listed []string
		for k, err := range files.Keys(ctx, "") {
			if err != nil {
				t.Fatal(err)
			}
			listed = append(listed, k)
		}
		for _, key := range keys {
			found := false
			for _, k := range listed {
				found = found || k == key
			}
			if !found {
				t.Errorf("key %q not in list_keys %q", key, listed)
			}
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		data := content("ranges", 10000)
		u := gw.URL + "/files/ranges.bin"
		if r := do(t, hc, "PUT", u, bytes.NewReader(data)); r.status != 201 {
			t.Fatalf("PUT: %v", r)
		}
		r := do(t, hc, "GET", u, nil, "Range", "bytes=100-199")
		if r.status != 206 || !bytes.Equal(r.body, data[100:200]) || r.header.Get("Content-Range") != "bytes 100-199/10000" {
			t.Errorf("bytes=100-199: %v", r)
		}
		r = do(t, hc, "GET", u, nil, "Range", "bytes=-10")
		if r.status != 206 || !bytes.Equal(r.body, data[9990:]) {
			t.Errorf("bytes=-10: %v", r)
		}
		r = do(t, hc, "GET", u, nil, "Range", "bytes=9000-20000")
		if r.status != 206 || !bytes.Equal(r.body, data[9000:]) || r.header.Get("Content-Range") != "bytes 9000-9999/10000" {
			t.Errorf("bytes=9000-20000: %v", r)
		}
		// A Range beyond the end is 416, with the size.
		for _, m := range []string{"GET", "HEAD"} {
			r = do(t, hc, m, u, nil, "Range", "bytes=10000-")
			if r.status != 416 || r.header.Get("Content-Range") != "bytes */10000" {
				t.Errorf("%s bytes=10000-: %v", m, r)
			}
		}
		// Several ranges: multipart/byteranges.
		r = do(t, hc, "GET", u, nil, "Range", "bytes=0-9,5000-5009,-1")
		mt, params, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
		if r.status != 206 || mt != "multipart/byteranges" || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
			t.Fatalf("multi-range: %v", r)
		}
		mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
		want := [][]byte{data[0:10], data[5000:5010], data[9999:]}
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				if i != 3 {
					t.Errorf("%d parts", i)
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			if i < 3 && !bytes.Equal(b, want[i]) {
				t.Errorf("part %d = %x", i, b)
			}
		}
		// If-Range with the current ETag honours the range; with
		// another it sends the whole file.
		etag := do(t, hc, "HEAD", u, nil).header.Get("ETag")
		if r = do(t, hc, "GET", u, nil, "Range", "bytes=0-0", "If-Range", etag); r.status != 206 || len(r.body) != 1 {
			t.Errorf("If-Range current: %v", r)
		}
		if r = do(t, hc, "GET", u, nil, "Range", "bytes=0-0", "If-Range", `"stale"`); r.status != 200 || len(r.body) != 10000 {
			t.Errorf("If-Range stale: %v", r)
		}
		// Conditional GETs.
		if r = do(t, hc, "GET", u, nil, "If-None-Match", etag); r.status != 304 || r.header.Get("ETag") != etag || len(r.body) != 0 {
			t.Errorf("If-None-Match: %v", r)
		}
		if r = do(t, hc, "GET", u, nil, "If-Match", `"stale"`); r.status != 412 {
			t.Errorf("If-Match stale: %v", r)
		}
	})

	t.Run("ChecksumETag", func(t *testing.T) {
		data := content("sum", 3000)
		u := gw.URL + "/files/sum.txt?class=md5"
		if r := do(t, hc, "PUT", u, bytes.NewReader(data)); r.status != 201 {
			t.Fatalf("PUT: %v", r)
		}
		fi, err := files.FileInfo(ctx, "sum.txt")
		if err != nil || fi.Class != "md5" {
			t.Fatalf("class from the query: %+v %v", fi, err)
		}
		sum := md5.Sum(data)
		r := do(t, hc, "GET", gw.URL+"/files/sum.txt", nil)
		if want := `"` + hex.EncodeToString(sum[:]) + `"`; r.header.Get("ETag") != want {
			t.Errorf("ETag %q, want the MD5 %s", r.header.Get("ETag"), want)
		}
		// Class from the header.
		if r := do(t, hc, "PUT", gw.URL+"/files/hdr", strings.NewReader("x"), gateway.HeaderClass, "two"); r.status != 201 {
			t.Fatalf("PUT: %v", r)
		}
		if fi, err := files.FileInfo(ctx, "hdr"); err != nil || fi.Class != "two" {
			t.Errorf("class from the header: %+v %v", fi, err)
		}
		if r := do(t, hc, "PUT", gw.URL+"/files/bad", strings.NewReader("x"), gateway.HeaderClass, "nosuchclass"); r.status != 400 {
			t.Errorf("unknown class: %v", r)
		}
		if _, err := files.FileInfo(ctx, "bad"); !client.IsUnknownKey(err) {
			t.Errorf("PUT with an unknown class stored something: %v", err)
		}
	})

	t.Run("OverwriteSeenAtOnce", func(t *testing.T) {
		u := gw.URL + "/files/v"
		for i := range 5 {
			data := content(fmt.Sprint("v", i), 100+i)
			if r := do(t, hc, "PUT", u, bytes.NewReader(data)); r.status != 201 {
				t.Fatalf("PUT %d: %v", i, r)
			}
			// The cache must not serve the previous version.
			if r := do(t, hc, "GET", u, nil); !bytes.Equal(r.body, data) {
				t.Fatalf("GET after PUT %d: %v", i, r)
			}
		}
		do(t, hc, "DELETE", u, nil)
		if r := do(t, hc, "GET", u, nil); r.status != 404 {
			t.Errorf("GET after DELETE: %v", r)
		}
	})

	t.Run("ConcurrentReadersAndWriters", func(t *testing.T) {
		// Writers replace a key with whole versions; readers must
		// always get one whole version (or 404 before the first).
		versions := map[string]bool{}
		var bodies [][]byte
		for i := range 4 {
			b := content(fmt.Sprint("cv", i), 20000+i*30000) // some kept in memory, some not
			bodies = append(bodies, b)
			versions[string(b)] = true
		}
		u := gw.URL + "/files/concurrent"
		errs := make(chan error, 100)
		var writers, readers sync.WaitGroup
		for w := range 2 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := range 6 {
					req, _ := http.NewRequest("PUT", u, bytes.NewReader(bodies[(w+i)%len(bodies)]))
					r, err := hc.Do(req)
					if err != nil {
						errs <- err
						return
					}
					r.Body.Close()
					if r.StatusCode != 201 {
						errs <- fmt.Errorf("PUT: %d", r.StatusCode)
					}
				}
			}()
		}
		done := make(chan struct{})
		for range 4 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					r, err := hc.Get(u)
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(r.Body)
					r.Body.Close()
					if r.StatusCode == 404 {
						continue
					}
					if err != nil || r.StatusCode != 200 || !versions[string(b)] {
						errs <- fmt.Errorf("GET: %d, %d bytes, %v: not a whole version", r.StatusCode, len(b), err)
						return
					}
				}
			}()
		}
		writers.Wait()
		close(done)
		readers.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("ChunkedAndEmpty", func(t *testing.T) {
		data := content("chunked", 300000)
		req, _ := http.NewRequest("PUT", gw.URL+"/files/chunked", io.NopCloser(bytes.NewReader(data)))
		req.ContentLength = -1 // sent chunked
		r, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 201 {
			t.Fatalf("chunked PUT: %d", r.StatusCode)
		}
		if g := do(t, hc, "GET", gw.URL+"/files/chunked", nil); !bytes.Equal(g.body, data) {
			t.Errorf("chunked round trip: %d bytes", len(g.body))
		}
		if r := do(t, hc, "PUT", gw.URL+"/files/empty", bytes.NewReader(nil)); r.status != 201 {
			t.Fatalf("empty PUT: %v", r)
		}
		if g := do(t, hc, "GET", gw.URL+"/files/empty", nil); g.status != 200 || len(g.body) != 0 || g.header.Get("Content-Length") != "0" {
			t.Errorf("empty GET: %v", g)
		}
	})

	t.Run("ExpectContinue", func(t *testing.T) {
		tr := &http.Transport{Proxy: nil, ExpectContinueTimeout: 30 * time.Second}
		ec := &http.Client{Transport: tr}
		data := content("expect", 2<<20)
		// The body is sent only after "100 Continue".
		if r := do(t, ec, "PUT", gw.URL+"/files/expect", bytes.NewReader(data), "Expect", "100-continue"); r.status != 201 {
			t.Fatalf("PUT with Expect: %v", r)
		}
		if got, err := files.GetBytes(ctx, "expect"); err != nil || !bytes.Equal(got, data) {
			t.Errorf("Expect upload: %d bytes, %v", len(got), err)
		}
		// A refused upload gets its answer without the body being
		// asked for.
		c, err := net.Dial("tcp", gw.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "PUT /nosuchdomain/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
		c.SetDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 404 {
			t.Errorf("refused Expect upload: %v %v", resp, err)
		}
	})

	t.Run("CutOffPutCommitsNothing", func(t *testing.T) {
		old := content("keep", 1000)
		if r := do(t, hc, "PUT", gw.URL+"/files/keep", bytes.NewReader(old)); r.status != 201 {
			t.Fatalf("PUT: %v", r)
		}
		for _, key := range []string{"keep", "never"} {
			// Announce 1 MiB, send 200 KiB, hang up.
			c, err := net.Dial("tcp", gw.Addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "PUT /files/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", key, 1<<20)
			c.Write(content("partial", 200<<10))
			c.Close()
			gw.Log.wait(t, 30*time.Second, func(r map[string]string) bool {
				return r["method"] == "PUT" && r["key"] == key && r["err"] != ""
			})
		}
		if got, err := files.GetBytes(ctx, "keep"); err != nil || !bytes.Equal(got, old) {
			t.Errorf("cut-off overwrite changed the file: %d bytes, %v", len(got), err)
		}
		if _, err := files.FileInfo(ctx, "never"); !client.IsUnknownKey(err) {
			t.Errorf("cut-off PUT created the key: %v", err)
		}
		if r := do(t, hc, "GET", gw.URL+"/files/never", nil); r.status != 404 {
			t.Errorf("GET cut-off key: %v", r)
		}
	})

	t.Run("Limits", func(t *testing.T) {
		long := gw.URL + "/files/" + strings.Repeat("k", gateway.DefaultMaxURLBytes)
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			if r := do(t, hc, m, long, strings.NewReader("x")); r.status != http.StatusRequestURITooLong {
				t.Errorf("%s long URL: %v", m, r)
			}
		}
		// Far beyond the server's own limit, still an error, never a
		// crash.
		huge := gw.URL + "/files/" + strings.Repeat("k", 2<<20)
		if r := do(t, hc, "GET", huge, nil); r.status != http.StatusRequestHeaderFieldsTooLarge && r.status != http.StatusRequestURITooLong {
			t.Errorf("huge URL: %v", r.status)
		}
		if r := do(t, hc, "GET", gw.URL+"/files/x", nil, "X-Big", strings.Repeat("h", gateway.DefaultMaxHeaderBytes)); r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("big header: %v", r)
		}
		// Keys longer than MogileFS stores: refused before the body.
		longKey := gw.URL + "/files/" + strings.Repeat("k", gateway.MaxKeyBytes+1)
		if r := do(t, hc, "PUT", longKey, strings.NewReader("x")); r.status != 400 || !strings.Contains(string(r.body), "255") {
			t.Errorf("PUT of a 256-byte key: %v", r)
		}
		if r := do(t, hc, "GET", longKey, nil); r.status != 404 {
			t.Errorf("GET of a 256-byte key: %v", r)
		}
		maxKey := strings.Repeat("k", gateway.MaxKeyBytes)
		if r := do(t, hc, "PUT", gw.URL+"/files/"+maxKey, strings.NewReader("x")); r.status != 201 {
			t.Errorf("PUT of a 255-byte key: %v", r)
		}
		if got, err := files.GetBytes(ctx, maxKey); err != nil || string(got) != "x" {
			t.Errorf("255-byte key: %q %v", got, err)
		}
		// And the gateway still serves.
		if r := do(t, hc, "PUT", gw.URL+"/files/after-limits", strings.NewReader("ok")); r.status != 201 {
			t.Errorf("after the limits: %v", r)
		}
	})

	t.Run("RawRequests", func(t *testing.T) {
		// A request target a client library would not send.
		for _, line := range []string{
			"GET /files/" + strings.Repeat("%41", 100) + " HTTP/1.1",
			"GET http://x/files/after-limits HTTP/1.1",
			"GET * HTTP/1.1",
			"GET /files/a b HTTP/1.1",
		} {
			status := rawStatus(t, gw.Addr, line+"\r\nHost: x\r\n\r\n")
			if status == 0 || status >= 500 {
				t.Errorf("%q: status %d", line, status)
			}
		}
		if status := rawStatus(t, gw.Addr, "GET /files/%zz HTTP/1.1\r\nHost: x\r\n\r\n"); status != 400 {
			t.Errorf("bad escape: status %d", status)
		}
	})
}

// rawStatus sends raw bytes and returns the response's status (0 if the
// connection closed without one).
func rawStatus(t *testing.T, addr, raw string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, raw)
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

// TestLayouts serves one cluster through a prefix, a fixed domain, and a
// key taken from the last path segment.
func TestLayouts(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "pics", Hosts: 1})
	hc := httpClient()
	files := trackerClient(t, cl, "pics")
	last := startGateway(t, cl.Tracker.Addr, gateway.Config{Prefix: "/img/", Domain: "pics", KeyFrom: gateway.KeyFromLastSegment})
	if r := do(t, hc, "PUT", last.URL+"/img/2024/05/cat%20one.png", strings.NewReader("meow")); r.status != 201 {
		t.Fatalf("PUT: %v", r)
	}
	if got, err := files.GetBytes(context.Background(), "cat one.png"); err != nil || string(got) != "meow" {
		t.Fatalf("key from the last segment: %q %v", got, err)
	}
	for _, p := range []string{"/img/cat%20one.png", "/img/any/where/cat%20one.png"} {
		if r := do(t, hc, "GET", last.URL+p, nil); r.status != 200 || string(r.body) != "meow" || r.header.Get("Content-Type") != "image/png" {
			t.Errorf("GET %s: %v", p, r)
		}
	}
	if r := do(t, hc, "GET", last.URL+"/pics/cat%20one.png", nil); r.status != 404 {
		t.Errorf("outside the prefix: %v", r)
	}

	ro := startGateway(t, cl.Tracker.Addr, gateway.Config{Prefix: "/mog", ReadOnly: true})
	if r := do(t, hc, "GET", ro.URL+"/mog/pics/cat%20one.png", nil); r.status != 200 {
		t.Errorf("prefix GET: %v", r)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		if r := do(t, hc, m, ro.URL+"/mog/pics/cat%20one.png", strings.NewReader("x")); r.status != 405 || strings.Contains(r.header.Get("Allow"), "PUT") {
			t.Errorf("read-only %s: %v", m, r)
		}
	}
	if _, err := files.FileInfo(context.Background(), "cat one.png"); err != nil {
		t.Errorf("read-only gateway changed the file: %v", err)
	}
}
