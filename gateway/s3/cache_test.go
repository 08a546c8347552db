package s3_test

import (
	"context"
	"testing"
	"time"
)

// TestCacheRules: GET and HEAD answer from the caches, but this server's
// own writes are seen at once (overwrite with new metadata, delete), and
// another writer's within the cache's TTL.
func TestCacheRules(t *testing.T) {
	e := startS3(t)
	get := func() resp { t.Helper(); return e.admin(t, "GET", "/files/c/obj", nil) }
	e.admin(t, "PUT", "/files/c/obj", []byte("first"), "X-Amz-Meta-V", "1")
	for range 3 { // fills the caches, then answers from them
		if r := get(); r.status != 200 || string(r.body) != "first" || r.header.Get("X-Amz-Meta-V") != "1" {
			t.Fatalf("GET: %v %v", r, r.header)
		}
	}
	e.admin(t, "PUT", "/files/c/obj", []byte("second!"), "X-Amz-Meta-V", "2")
	if r := get(); r.status != 200 || string(r.body) != "second!" || r.header.Get("X-Amz-Meta-V") != "2" {
		t.Fatalf("GET after an overwrite: %v %v", r, r.header)
	}
	if r := e.admin(t, "HEAD", "/files/c/obj", nil); r.header.Get("Content-Length") != "7" {
		t.Fatalf("HEAD after an overwrite: %v %v", r, r.header)
	}
	e.admin(t, "DELETE", "/files/c/obj", nil)
	if r := get(); r.status != 404 {
		t.Fatalf("GET after a delete: %v", r)
	}
	// Another writer: seen once the cached answer expired (2 s).
	e.admin(t, "PUT", "/files/c/obj", []byte("third"))
	if r := get(); string(r.body) != "third" {
		t.Fatalf("GET: %v", r)
	}
	lib := e.libClient(t, "files")
	if _, err := lib.StoreBytes(context.Background(), "c/obj", "", []byte("fourth")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get()
		if string(r.body) == "fourth" {
			break
		}
		if string(r.body) != "third" || time.Now().After(deadline) {
			t.Fatalf("GET after another writer's overwrite: %v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
