package main_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestBinary runs the mogproxy binary against a real cluster, configured
// through a configuration file, and uploads with curl as the
// documentation shows.
func TestBinary(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Hosts: 1})
	bin := mogtest.Binary(t, "mogproxy")
	addr := mogtest.FreeAddr(t, "127.0.0.1")
	dir := t.TempDir()
	conf := filepath.Join(dir, "mogproxy.conf")
	os.WriteFile(conf, []byte("# gateway\ntrackers = "+cl.Tracker.Addr+"\nlisten = "+addr+"\n"), 0o644)
	// HOME and MOGUTILSCONF point at nothing: only --config counts.
	p := mogtest.Start(t, "/usr/bin/env", "HOME="+dir, "MOGUTILSCONF=", bin, "--config="+conf, "--log-requests")
	p.WaitPort(t, addr, 30*time.Second)
	base := "http://" + addr

	src := filepath.Join(dir, "passwd")
	data := bytes.Repeat([]byte("root:x:0:0:root:/root:/bin/bash\n"), 100)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "-f", "-X", "PUT", "-T", src, base+"/files/passwd.html").CombinedOutput()
		if err != nil {
			t.Fatalf("curl -X PUT -T: %v\n%s", err, out)
		}
	} else {
		req, _ := http.NewRequest("PUT", base+"/files/passwd.html", bytes.NewReader(data))
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != 201 {
			t.Fatalf("PUT: %v %v", r, err)
		}
		r.Body.Close()
	}
	r, err := http.Get(base + "/files/passwd.html")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !bytes.Equal(got, data) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET: %d %v, %d bytes", r.StatusCode, r.Header, len(got))
	}

	// SIGTERM: a clean shutdown with status 0.
	if err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Output())
	}
	out := p.Output()
	for _, want := range []string{"mogproxy listening", "layout=/<domain>/<key>", "msg=request", "key=passwd.html", "mogproxy stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestBinaryBadOptions: bad options and unreachable listen addresses are
// reported with a non-zero status, never a crash.
func TestBinaryBadOptions(t *testing.T) {
	bin := mogtest.Binary(t, "mogproxy")
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"--trackers=127.0.0.1:1", "--key-from=nonsense"},
		{"--trackers=127.0.0.1:1", "--listen=256.0.0.1:1"},
		{"--trackers=127.0.0.1:1", "--config=" + filepath.Join(dir, "missing.conf")},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HOME=" + dir}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() == 0 || ee.ExitCode() > 2 || !strings.Contains(string(out), "mogproxy") {
			t.Errorf("mogproxy %q: %v\n%s", args, err, out)
		}
	}
}
