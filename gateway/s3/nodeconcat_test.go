package s3_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/internal/metrics/metricstest"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// nodePosts counts the storage nodes' answered requests of method
// "other" (POST /_concat) with a 2xx status.
func nodePosts(t *testing.T, cl *mogtest.Cluster) float64 {
	t.Helper()
	var n float64
	for _, node := range cl.Nodes {
		n += metricstest.Scrape(t, node.MetricsAddr).Sum("mogilefs_mogstored_http_requests_total", "method", "other", "status", "2xx")
	}
	return n
}

// completeAndCheck uploads parts as a multipart object of class, completes
// it and reads it back whole.
func completeAndCheck(t *testing.T, e *env, target, class string, parts ...[]byte) {
	t.Helper()
	m := e.createUpload(t, target, "X-Amz-Storage-Class", class)
	var list []any
	for i, p := range parts {
		if r := m.part(i+1, p); r.status != 200 {
			t.Fatalf("UploadPart %d: %v", i+1, r)
		}
		list = append(list, i+1, m.etags[i+1])
	}
	r := m.complete(list...)
	if r.status != 200 || bodyCode(r) != "" || !bytes.Contains(r.body, []byte(strings.Trim(multipartETag(parts...), `"`))) {
		t.Fatalf("Complete: %v", r)
	}
	g := e.admin(t, "GET", target, nil)
	if g.status != 200 || !bytes.Equal(g.body, bytes.Join(parts, nil)) || g.header.Get("ETag") != multipartETag(parts...) {
		t.Fatalf("GET after Complete: %d, %d bytes, ETag %s", g.status, len(g.body), g.header.Get("ETag"))
	}
}

// TestCompleteOnNode: with storage nodes that offer /_concat, Complete
// has a node join the parts (one POST per Complete), from its own
// devices and the other node's, in a class without checksums and in one
// that keeps MD5 (the tracker verifies the node's MD5 at commit); the
// object reads back whole with the multipart ETag and no staging key
// stays.
func TestCompleteOnNode(t *testing.T) {
	e := startS3With(t, mogtest.ClusterOptions{Domain: "files", Hosts: 2, FastPath: true, NodeMetrics: true,
		Classes: map[string]int{"rep1": 1}, NodeArgs: []string{"--nofsync"}})
	if err := admin.New(e.libClient(t, "files")).CreateClass(context.Background(), "files", "md5",
		admin.ClassArgs{MinDevCount: 1, HashType: "MD5"}); err != nil {
		t.Fatal(err)
	}
	const mib = 1 << 20
	parts := [][]byte{content("n1", 5*mib), content("n2", 5*mib), content("n3", 5*mib), content("n4", 5*mib), content("n5", 3)}
	for i, class := range []string{"rep1", "md5"} {
		before := nodePosts(t, e.cl)
		completeAndCheck(t, e, "/files/joined/"+class, class, parts...)
		if got := nodePosts(t, e.cl) - before; got != 1 {
			t.Fatalf("class %s: %v storage node concatenations, want 1", class, got)
		}
		if i == 0 {
			continue
		}
		info := e.admin(t, "HEAD", "/files/joined/"+class, nil)
		if info.status != 200 || info.header.Get("Content-Length") != "20971523" {
			t.Fatalf("HEAD: %v %v", info, info.header)
		}
	}
	e.noStaging(t)
}

// TestCompleteFallback: a storage node served by nginx has no /_concat;
// Complete streams the parts through the gateway instead.
func TestCompleteFallback(t *testing.T) {
	mogtest.NginxBinary(t)
	e := startS3With(t, mogtest.ClusterOptions{Domain: "files", Hosts: 1, Classes: map[string]int{"rep1": 1},
		NodeArgs: []string{"--server=nginx", "--nofsync"}})
	const mib = 1 << 20
	completeAndCheck(t, e, "/files/streamed", "rep1", content("f1", 5*mib), content("f2", mib))
	// The node is remembered as lacking it: the next Complete streams at once.
	completeAndCheck(t, e, "/files/streamed2", "rep1", content("f3", 5*mib), content("f4", 7))
	e.noStaging(t)
}
