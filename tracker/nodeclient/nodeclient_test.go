package nodeclient_test

import (
	"context"
	"crypto/md5"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tracker/nodeclient"
)

func TestNodeClient(t *testing.T) {
	m := mogtest.StartMogstored(t, mogtest.MogstoredOptions{})
	_, mport, _ := net.SplitHostPort(m.MgmtAddr)
	port, _ := strconv.Atoi(mport)
	c := nodeclient.New(nodeclient.Options{StreamPort: port, NodeTimeout: 5 * time.Second})
	defer c.Close()
	ctx := context.Background()
	body := []byte("hello, node")
	if err := os.MkdirAll(filepath.Join(m.DevDir(1), "0", "000", "000"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.DevDir(1), "0", "000", "000", "0000000001.fid"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	uri := "/dev1/0/000/000/0000000001.fid"
	n, err := c.Size(ctx, m.URL(uri))
	if err != nil || n != int64(len(body)) {
		t.Fatalf("Size: %d %v", n, err)
	}
	if n, err := c.Size(ctx, m.URL("/dev1/0/000/000/0000000002.fid")); !errors.Is(err, nodeclient.ErrMissing) || n != -1 {
		t.Fatalf("Size of a missing file: %d %v", n, err)
	}
	if _, err := c.Size(ctx, "http://127.0.0.1:1/x"); err == nil || errors.Is(err, nodeclient.ErrMissing) {
		t.Fatalf("Size of an unreachable node: %v", err)
	}
	want := md5.Sum(body)
	ip, _, _ := net.SplitHostPort(m.HTTPAddr)
	// Side channel, then the HTTP fallback (a node without side channel).
	sum, err := c.Digest(ctx, ip, uri, m.URL(uri), "MD5", "", int64(len(body)))
	if err != nil || string(sum) != string(want[:]) {
		t.Fatalf("Digest: %x %v", sum, err)
	}
	noSide := nodeclient.New(nodeclient.Options{StreamPort: mogtest.FreePort(t, "127.0.0.1"), NodeTimeout: 5 * time.Second})
	sum, err = noSide.Digest(ctx, ip, uri, m.URL(uri), "MD5", "", int64(len(body)))
	if err != nil || string(sum) != string(want[:]) {
		t.Fatalf("Digest over HTTP: %x %v", sum, err)
	}
	if _, err := c.Digest(ctx, ip, "/dev1/nope.fid", m.URL("/dev1/nope.fid"), "MD5", "", 0); !errors.Is(err, nodeclient.ErrMissing) {
		t.Fatalf("Digest of a missing file: %v", err)
	}
	if _, err := noSide.Digest(ctx, ip, "/dev1/nope.fid", m.URL("/dev1/nope.fid"), "SHA-1", "", 0); !errors.Is(err, nodeclient.ErrMissing) {
		t.Fatalf("HTTP digest of a missing file: %v", err)
	}
	if _, err := c.Digest(ctx, ip, uri, m.URL(uri), "CRC", "", 0); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
	// Pooled side-channel connections are reused.
	for i := 0; i < 20; i++ {
		if _, err := c.Digest(ctx, ip, uri, m.URL(uri), "SHA-1", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	// MKCOL: whatever the node answers (created, or "not needed"), the
	// directories can then be written into.
	if err := c.MkcolAll(ctx, 1, "http://"+m.HTTPAddr, []string{"/dev1/1/", "/dev1/1/234/", "/dev1/1/234/567/"}); err != nil {
		t.Fatalf("MkcolAll: %v", err)
	}
	code, _, err := c.Simple(ctx, "PUT", m.URL("/dev1/1/234/567/12345678901.fid"), body, nil, 5*time.Second, 4096)
	if err != nil || code/100 != 2 {
		t.Fatalf("PUT after MKCOL: %d %v", code, err)
	}
}
