package tracker_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// forBackends runs f once on SQLite and once on MariaDB (skipped, loudly,
// without MOGTEST_MYSQL_DSN; a failure under CI=true).
func forBackends(t *testing.T, f func(t *testing.T, o mogtest.TrackerOptions)) {
	t.Run("sqlite", func(t *testing.T) { f(t, mogtest.TrackerOptions{}) })
	t.Run("mariadb", func(t *testing.T) {
		m := mogtest.NewMySQL(t)
		f(t, mogtest.TrackerOptions{MySQL: &m})
	})
}

// raw sends a line and returns the reply line.
func raw(t testing.TB, c *mogtest.TrackerConn, line string) string {
	t.Helper()
	r, err := c.Raw(line)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return r
}

// ok sends a line that must succeed and returns the decoded reply.
func ok(t testing.TB, c *mogtest.TrackerConn, line string) wire.Args {
	t.Helper()
	r := raw(t, c, line)
	a, err := wire.ParseReply(r)
	if err != nil {
		t.Fatalf("%q: got %q", line, r)
	}
	return a
}

// wantErr sends a line that must fail with code (and, if text is not "",
// that text) and returns the text.
func wantErr(t testing.TB, c *mogtest.TrackerConn, line, code, text string) string {
	t.Helper()
	r := raw(t, c, line)
	_, err := wire.ParseReply(r)
	e, isErr := err.(*wire.Error)
	if !isErr || e.Code != code {
		t.Fatalf("%q: got %q, want ERR %s", line, r, code)
	}
	if text != "" && e.Text != text {
		t.Fatalf("%q: got text %q, want %q", line, e.Text, text)
	}
	return e.Text
}

func enc(a wire.Args) string { return wire.EncodeArgs(a) }

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// put uploads body to url and fails the test unless the node says 2xx.
func put(t testing.TB, url string, body []byte) {
	t.Helper()
	req, err := http.NewRequest("PUT", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

// get downloads url.
func get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// store uploads body under key through create_open, PUT and create_close
// and returns the fid.
func store(t testing.TB, c *mogtest.TrackerConn, domain, class, key string, body []byte) string {
	t.Helper()
	a := wire.Args{"domain": domain, "key": key, "multi_dest": "1", "fid": "0"}
	if class != "" {
		a["class"] = class
	}
	o := ok(t, c, "create_open "+enc(a))
	put(t, o["path_1"], body)
	ok(t, c, "create_close "+enc(wire.Args{"domain": domain, "key": key, "fid": o["fid"], "devid": o["devid_1"],
		"path": o["path_1"], "size": strconv.Itoa(len(body))}))
	return o["fid"]
}

// paths returns get_paths' URLs.
func paths(t testing.TB, c *mogtest.TrackerConn, domain, key string, extra string) []string {
	t.Helper()
	a := ok(t, c, "get_paths domain="+wire.Escape(domain)+"&key="+wire.Escape(key)+extra)
	n := atoi(t, a["paths"])
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, a["path"+strconv.Itoa(i)])
	}
	return out
}

func hasPrefix(s, p string) bool { return strings.HasPrefix(s, p) }
