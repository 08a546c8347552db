package tracker_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// The S3 commands (docs/s3.md §3) over TCP against the real mogilefsd,
// on SQLite and MariaDB: s3_meta is created at start, s3_set_meta only
// sets the row of the fid the key names, s3_head answers the file fields
// and the row, s3_get_meta the rows of a batch of fids, and a purged
// fid's row goes with it.
func TestS3Commands(t *testing.T) {
	mogfsBackends(t, func(t *testing.T, e *mogfsEnv) {
		e.insertKeys(t, "fs", 9001, []string{"a/b.txt", "c"})
		do := func(cmd string, a wire.Args) (wire.Args, error) { return e.c.Do(cmd, a) }
		if _, err := do("s3_set_meta", wire.Args{"domain": "fs", "key": "a/b.txt", "fid": "9001", "etag": "0123abcd", "headers": "content-type=text%2Fplain&x-amz-meta-a=1"}); err != nil {
			t.Fatal(err)
		}
		// The key does not name that fid: refused.
		if _, err := do("s3_set_meta", wire.Args{"domain": "fs", "key": "c", "fid": "9001", "etag": "x"}); errCode(err) != "unknown_key" {
			t.Fatalf("meta for another key's fid: %v", err)
		}
		if _, err := do("s3_set_meta", wire.Args{"domain": "fs", "key": "c", "fid": "9002"}); errCode(err) != "bad_params" {
			t.Fatalf("no etag: %v", err)
		}
		a, err := do("s3_head", wire.Args{"domain": "fs", "key": "a/b.txt"})
		if err != nil || a["fid"] != "9001" || a["size"] != "7" || a["etag"] != "0123abcd" || a["headers"] != "content-type=text%2Fplain&x-amz-meta-a=1" {
			t.Fatalf("s3_head: %v, %v", a, err)
		}
		a, err = do("s3_head", wire.Args{"domain": "fs", "key": "c"})
		if err != nil || a["fid"] != "9002" || a["etag"] != "" {
			t.Fatalf("s3_head without a row: %v, %v", a, err)
		}
		if _, err := do("s3_head", wire.Args{"domain": "fs", "key": "nope"}); errCode(err) != "unknown_key" {
			t.Fatalf("s3_head of a missing key: %v", err)
		}
		a, err = do("s3_get_meta", wire.Args{"count": "2", "fid_1": "9002", "fid_2": "9001"})
		if err != nil || a["fid_2_etag"] != "0123abcd" || a["fid_1_etag"] != "" {
			t.Fatalf("s3_get_meta: %v, %v", a, err)
		}
		if _, err := do("s3_get_meta", wire.Args{"count": "1001"}); errCode(err) != "bad_params" {
			t.Fatalf("s3_get_meta of too many: %v", err)
		}
		var n int
		if err := e.db.QueryRow("SELECT COUNT(*) FROM s3_meta WHERE fid = 9001").Scan(&n); err != nil || n != 1 {
			t.Fatalf("s3_meta row: %d, %v", n, err)
		}
		testS3CreateClose(t, e)
		testS3Lock(t, e)
	})
}

// testS3Lock: s3_lock leases a named lock to one holder at a time, until
// s3_unlock with its token or the end of its ttl.
func testS3Lock(t *testing.T, e *mogfsEnv) {
	c := e.c
	a := ok(t, c, "s3_lock name=sweep&ttl=600")
	if a["locked"] != "1" || a["token"] == "" {
		t.Fatalf("s3_lock: %v", a)
	}
	if b := ok(t, c, "s3_lock name=sweep&ttl=600"); b["locked"] != "0" {
		t.Fatalf("s3_lock of a held lock: %v", b)
	}
	wantErr(t, c, "s3_unlock name=sweep&token=wrong", "not_locked", "no lease of that name and token here")
	wantErr(t, c, "s3_lock name=sweep&ttl=0", "bad_params", "give a name of 1 to 64 bytes and a ttl of 1 to 86400 seconds")
	ok(t, c, "s3_unlock name=sweep&token="+a["token"])
	a = ok(t, c, "s3_lock name=sweep&ttl=1")
	if a["locked"] != "1" {
		t.Fatalf("s3_lock after s3_unlock: %v", a)
	}
	// The lease ends by itself after its ttl.
	deadline := time.Now().Add(20 * time.Second)
	for ok(t, c, "s3_lock name=sweep&ttl=600")["locked"] != "1" {
		if time.Now().After(deadline) {
			t.Fatal("lease not released after its ttl")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testS3CreateClose: s3_create_close commits the file with its
// mogfs_attr and s3_meta rows; a refused etag commits nothing.
func testS3CreateClose(t *testing.T, e *mogfsEnv) {
	c := e.c
	upload := func(key, body string, extra wire.Args) (fid, reply string) {
		t.Helper()
		o := ok(t, c, "create_open "+enc(wire.Args{"domain": "fs", "key": key}))
		put(t, o["path"], []byte(body))
		a := wire.Args{"domain": "fs", "key": key, "fid": o["fid"], "devid": o["devid"], "path": o["path"], "size": strconv.Itoa(len(body))}
		for k, v := range extra {
			a[k] = v
		}
		return o["fid"], raw(t, c, "s3_create_close "+enc(a))
	}
	fid, r := upload("s3/obj", "hello", wire.Args{"etag": "5d41402abc4b2a76b9719d911017c592", "headers": "x-amz-meta-k=v", "mtime": "1700000000"})
	if !strings.HasPrefix(r, "OK") {
		t.Fatalf("s3_create_close: %q", r)
	}
	h := ok(t, c, "s3_head domain=fs&key=s3/obj")
	if h["fid"] != fid || h["size"] != "5" || h["etag"] != "5d41402abc4b2a76b9719d911017c592" || h["headers"] != "x-amz-meta-k=v" || h["mtime"] != "1700000000" {
		t.Fatalf("s3_head after s3_create_close: %v", h)
	}
	// pathcount: the copies in the same answer, as get_paths names them.
	hp := ok(t, c, "s3_head domain=fs&key=s3/obj&pathcount=2")
	gp := ok(t, c, "get_paths domain=fs&key=s3/obj&noverify=1")
	if hp["fid"] != fid || hp["paths"] != gp["paths"] || hp["paths"] == "0" || hp["path1"] != gp["path1"] {
		t.Fatalf("s3_head pathcount=2: %v, get_paths: %v", hp, gp)
	}
	if _, has := h["paths"]; has {
		t.Fatalf("s3_head without pathcount answered paths: %v", h)
	}
	for _, bad := range []wire.Args{{}, {"etag": strings.Repeat("e", 81)}, {"etag": "x", "name": "long"}, {"etag": "x", "mode": "12288"}} {
		if _, r := upload("s3/obj", "other", bad); !strings.HasPrefix(r, "ERR bad_params ") {
			t.Fatalf("%v: %q", bad, r)
		}
	}
	if h := ok(t, c, "s3_head domain=fs&key=s3/obj"); h["fid"] != fid || h["etag"] != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("a refused s3_create_close changed the key: %v", h)
	}
}

// errCode is the code of an ERR reply, "" for none.
func errCode(err error) string {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return ""
}
