package main_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway/sigv4"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestBinaryS3 runs mogproxy with the S3 API configured in its
// configuration file (s3_listen, s3_keys): an object PUT through S3 is
// served by the /<domain>/<key> gateway, and a refused signature changes
// nothing.
func TestBinaryS3(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Hosts: 1})
	bin := mogtest.Binary(t, "mogproxy")
	addr := mogtest.FreeAddr(t, "127.0.0.1")
	s3addr := mogtest.FreeAddr(t, "127.0.0.1")
	dir := t.TempDir()
	keys := filepath.Join(dir, "s3.keys")
	os.WriteFile(keys, []byte("# key secret buckets\nAKIATEST sekrit files\n"), 0o600)
	conf := filepath.Join(dir, "mogproxy.conf")
	os.WriteFile(conf, []byte("trackers = "+cl.Tracker.Addr+"\nlisten = "+addr+"\ns3_listen = "+s3addr+"\ns3_keys = "+keys+"\n"), 0o644)
	p := mogtest.Start(t, "/usr/bin/env", "HOME="+dir, "MOGUTILSCONF=", bin, "--config="+conf)
	p.WaitPort(t, addr, 30*time.Second)
	p.WaitPort(t, s3addr, 30*time.Second)

	signed := func(secret, method, url string, body []byte) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		s := sigv4.Signer{AccessKey: "AKIATEST", Secret: secret, Region: "us-east-1"}
		s.Sign(req, sigv4.UnsignedPayload, time.Now())
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r
	}
	if r := signed("sekrit", "PUT", "http://"+s3addr+"/files/via-s3.txt", []byte("through S3")); r.StatusCode != 200 {
		t.Fatalf("S3 PUT: %s", r.Status)
	}
	if r := signed("wrong", "PUT", "http://"+s3addr+"/files/via-s3.txt", []byte("evil")); r.StatusCode != 403 {
		t.Fatalf("S3 PUT with a wrong secret: %s", r.Status)
	}
	r, err := http.Get("http://" + addr + "/files/via-s3.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || string(b) != "through S3" {
		t.Fatalf("gateway GET of an S3 object: %s %q", r.Status, b)
	}
}
