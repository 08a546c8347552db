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
	changed := time.Now()
	for {
		r := do(t, hc, "GET", u, nil)
		if r.status == 200 && bytes.Equal(r.body, v2) {
			if r.header.Get("ETag") != fmt.Sprintf(`"fid-%d"`, fi2.FID) || r.header.Get("Content-Length") != "2345" {
				t.Errorf("v2 headers: %v", r.header)
			}
			break
		}
		if r.status != 200 || !bytes.Equal(r.body, v1) {
			t.Fatalf("GET during the overwrite: neither version: %v", r)
		}
		if time.Since(changed) > ttl+5*time.Second {
			t.Fatalf("overwrite not seen after %v", time.Since(changed))
		}
		time.Sleep(ttl / 10)
	}

	// Deleted elsewhere: 404 within the TTL.
	if err := files.Delete(ctx, "r.txt"); err != nil {
		t.Fatal(err)
	}
	changed = time.Now()
	for {
		r := do(t, hc, "GET", u, nil)
		if r.status == http.StatusNotFound {
			break
		}
		if r.status != 200 || !bytes.Equal(r.body, v2) {
			t.Fatalf("GET during the delete: %v", r)
		}
		if time.Since(changed) > ttl+5*time.Second {
			t.Fatalf("delete not seen after %v", time.Since(changed))
		}
		time.Sleep(ttl / 10)
	}
}
