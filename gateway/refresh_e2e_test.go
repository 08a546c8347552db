package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestRefreshSeesChanges: a key read all the time is refreshed in the
// background (get_paths only while the fid stays the same); changes made
// elsewhere — an overwrite with a new fid, a delete — are still seen
// within the cache TTL, with the new length and ETag.
func TestRefreshSeesChanges(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Domain: "files", Hosts: 1})
	const ttl = 300 * time.Millisecond
	gw := startGateway(t, cl.Tracker.Addr, gateway.Config{CacheTTL: ttl})
	hc := httpClient()
	files := trackerClient(t, cl, "files")
	ctx := context.Background()
	u := gw.URL + "/files/r.txt"

	v1 := content("v1", 1000)
	if _, err := files.StoreBytes(ctx, "r.txt", "", v1); err != nil {
		t.Fatal(err)
	}
	fi1, err := files.FileInfo(ctx, "r.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Reads across several refreshes: always the same file.
	for end := time.Now().Add(4 * ttl); time.Now().Before(end); time.Sleep(ttl / 10) {
		r := do(t, hc, "GET", u, nil)
		if r.status != 200 || !bytes.Equal(r.body, v1) || r.header.Get("ETag") != fmt.Sprintf(`"fid-%d"`, fi1.FID) {
			t.Fatalf("GET of v1: %v", r)
		}
	}

	// Overwritten elsewhere (a new fid, another length): seen within
	// the TTL.
	v2 := content("v2", 2345)
	if _, err := files.StoreBytes(ctx, "r.txt", "", v2); err != nil {
		t.Fatal(err)
	}
	fi2, err := files.FileInfo(ctx, "r.txt")
	if err != nil || fi2.FID == fi1.FID {
		t.Fatalf("overwrite: %+v %v", fi2, err)
	}
	r := untilChanged(t, hc, u, "overwrite", ttl, func(r resp) bool { return r.status == 200 && bytes.Equal(r.body, v2) },
		func(r resp) bool { return r.status == 200 && bytes.Equal(r.body, v1) })
	if r.header.Get("ETag") != fmt.Sprintf(`"fid-%d"`, fi2.FID) || r.header.Get("Content-Length") != "2345" {
		t.Errorf("v2 headers: %v", r.header)
	}

	// Deleted elsewhere: 404 within the TTL.
	if err := files.Delete(ctx, "r.txt"); err != nil {
		t.Fatal(err)
	}
	untilChanged(t, hc, u, "delete", ttl, func(r resp) bool { return r.status == http.StatusNotFound },
		func(r resp) bool { return r.status == 200 && bytes.Equal(r.body, v2) })
}

// untilChanged GETs u until a reply isNew, and returns it. Every reply
// before must be isOld, and the change must show within the cache TTL
// (and 5 s of slack).
func untilChanged(t *testing.T, hc *http.Client, u, what string, ttl time.Duration, isNew, isOld func(resp) bool) resp {
	t.Helper()
	changed := time.Now()
	for {
		r := do(t, hc, "GET", u, nil)
		if isNew(r) {
			return r
		}
		if !isOld(r) {
			t.Fatalf("GET during the %s: neither version: %v", what, r)
		}
		if time.Since(changed) > ttl+5*time.Second {
			t.Fatalf("%s not seen after %v", what, time.Since(changed))
		}
		time.Sleep(ttl / 10)
	}
}
