package gateway

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

func TestPathsFID(t *testing.T) {
	tests := []struct {
		paths []string
		fid   int64
		ok    bool
	}{
		{[]string{"http://10.0.0.1:7500/dev1/0/000/000/0000000123.fid"}, 123, true},
		{[]string{"http://a:1/dev1/0/000/000/0000000123.fid", "http://b:1/dev2/0/000/000/0000000123.fid"}, 123, true},
		{[]string{"http://a:1/dev1/0/000/000/0000000123.fid", "http://b:1/dev2/0/000/000/0000000124.fid"}, 0, false},
		{[]string{"http://a:1/dev1/1/234/567/12345678901.fid"}, 12345678901, true},
		{[]string{"http://a:1/x/y"}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		fid, ok := pathsFID(tt.paths)
		if fid != tt.fid || ok != tt.ok {
			t.Errorf("pathsFID(%v) = %d, %v; want %d, %v", tt.paths, fid, ok, tt.fid, tt.ok)
		}
	}
}

func TestContentType(t *testing.T) {
	for key, want := range map[string]string{
		"passwd.html":   "text/html",
		"a/b/PIC.JPG":   "image/jpeg",
		"noext":         "application/octet-stream",
		"x.unknownext1": "application/octet-stream",
		"dir.d/file":    "application/octet-stream",
	} {
		if got := contentType(key); !strings.HasPrefix(got, want) {
			t.Errorf("contentType(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestChecksumETag(t *testing.T) {
	if got := checksumETag("MD5", "ABCDEF"); got != `"abcdef"` {
		t.Errorf("MD5 etag %s", got)
	}
	if got := checksumETag("SHA-1", "abc"); got != `"sha1-abc"` {
		t.Errorf("SHA-1 etag %s", got)
	}
}

func TestAccelTarget(t *testing.T) {
	got, ok := accelTarget("/_mogilefs", "http://10.0.0.1:7500/dev3/0/000/000/0000000042.fid")
	if !ok || got != "/_mogilefs/10.0.0.1:7500/dev3/0/000/000/0000000042.fid" {
		t.Errorf("accelTarget = %q, %v", got, ok)
	}
	if _, ok := accelTarget("/_m", "ftp://x/y"); ok {
		t.Error("accelTarget accepted a non-HTTP URL")
	}
	if _, ok := accelTarget("/_m", "::bad"); ok {
		t.Error("accelTarget accepted a bad URL")
	}
}

func TestHostHealthOrder(t *testing.T) {
	h := newHostHealth(time.Minute)
	paths := []string{"http://a:1/x.fid", "http://b:1/x.fid", "http://c:1/x.fid"}
	if got := h.order(paths); strings.Join(got, " ") != strings.Join(paths, " ") {
		t.Errorf("nothing down: %v", got)
	}
	h.failed([]*client.PathError{
		{Method: "GET", URL: "http://a:1/y.fid", Err: errNoCopy}, // no answer: down
		{Method: "GET", URL: "http://b:1/y.fid", Status: 404},    // answered: healthy
	})
	want := "http://b:1/x.fid http://c:1/x.fid http://a:1/x.fid"
	if got := h.order(paths); strings.Join(got, " ") != want {
		t.Errorf("a down: %v, want %s", got, want)
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{}).withDefaults(); err == nil {
		t.Error("no trackers: no error")
	}
	cfg, err := Config{Trackers: []string{"x"}, Prefix: "files", AccelRedirect: "/_m/"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Prefix != "/files/" || cfg.AccelRedirect != "/_m" || cfg.CacheTTL != DefaultCacheTTL || cfg.Listen != DefaultListen {
		t.Errorf("defaults: %+v", cfg)
	}
	for _, bad := range []string{"_m", "/a b", "/x?y"} {
		if _, err := (Config{Trackers: []string{"x"}, AccelRedirect: bad}).withDefaults(); err == nil {
			t.Errorf("accel-redirect %q accepted", bad)
		}
	}
}

func TestHTTPStatusTable(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{client.ErrUnknownKey, 404},
		{client.ErrUnregDomain, 404},
		{client.ErrUnregClass, 400},
		{client.ErrNoDevices, 503},
		{&client.FetchError{Key: "k"}, 503},
		{errNoCopy, 503},
		{&client.TrackerError{Addr: "x", Cmd: "get_paths", Err: client.ErrNoTracker}, 503},
		{&errBody{err: errNoCopy}, 400},
		{&client.PathError{Method: "PUT", URL: "u", Status: 500}, 502},
	}
	for _, tt := range tests {
		if got, _ := httpStatus(tt.err); got != tt.want {
			t.Errorf("httpStatus(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// recorder is a responder that keeps the answer, for tests of the code
// that builds answers.
type recorder struct {
	header http.Header
	status int
	body   []byte
	closed bool
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header(name, value string) { r.header.Add(name, value) }
func (r *recorder) CloseAfter()               { r.closed = true }
func (r *recorder) Respond(status int, body []byte) error {
	if r.status != 0 {
		return errors.New("answered twice")
	}
	r.status = status
	r.body = append([]byte(nil), body...)
	r.header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}
func (r *recorder) Stream(status int, n int64) (io.Writer, error) {
	if r.status != 0 {
		return nil, errors.New("answered twice")
	}
	r.status = status
	r.header.Set("Content-Length", strconv.FormatInt(n, 10))
	return writerFunc(func(p []byte) (int, error) { r.body = append(r.body, p...); return len(p), nil }), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestTextError(t *testing.T) {
	w := newRecorder()
	rp := &reply{out: w, etag: `"x"`, acceptRanges: true, ctype: "image/png"}
	textError(rp, http.StatusServiceUnavailable, "no copy")
	if w.status != 503 || w.header.Get("ETag") != "" || w.header.Get("Accept-Ranges") != "" ||
		w.header.Get("Content-Type") != "text/plain; charset=utf-8" || string(w.body) != "503 Service Unavailable: no copy\n" {
		t.Errorf("textError: %d %v %q", w.status, w.header, w.body)
	}
	if rp.status() != 503 || rp.n != int64(len(w.body)) {
		t.Errorf("recorded status %d, %d bytes", rp.status(), rp.n)
	}
	// A HEAD sends no body; a failed write is a client gone.
	hp := &reply{out: w, head: true}
	w.status = 0
	hp.send(200, []byte("abc"))
	if hp.n != 0 || hp.status() != 200 {
		t.Errorf("HEAD: %d bytes, status %d", hp.n, hp.status())
	}
	gp := &reply{out: w}
	gp.send(200, []byte("abc")) // the recorder refuses a second answer
	if gp.status() != statusClientGone {
		t.Errorf("failed write: status %d", gp.status())
	}
}

func TestEscapedPath(t *testing.T) {
	for target, want := range map[string]string{
		"/files/a%20b?class=x":          "/files/a%20b",
		"/files/a#frag":                 "/files/a",
		"http://host:80/files/k?x":      "/files/k",
		"http://host":                   "/",
		"*":                             "*",
		"/files/%3F%23":                 "/files/%3F%23",
		"https://h/files/x%2Fy?class=a": "/files/x%2Fy",
	} {
		if got := escapedPath(target); got != want {
			t.Errorf("escapedPath(%q) = %q, want %q", target, got, want)
		}
	}
}
