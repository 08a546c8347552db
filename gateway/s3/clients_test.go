package s3_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestS3cmd(t *testing.T) {
	s3cmd := needTool(t, "s3cmd")
	e := startS3(t)
	home := filepath.Join(e.Dir, "s3cmd")
	os.MkdirAll(home, 0o755)
	conf := filepath.Join(home, "s3cfg")
	os.WriteFile(conf, []byte("[default]\naccess_key = "+adminKey+"\nsecret_key = "+adminSecret+
		"\nhost_base = "+e.Addr+"\nhost_bucket = "+e.Addr+"\nuse_https = False\nsignature_v2 = False\n"+
		"bucket_location = us-east-1\nenable_multipart = True\ncheck_ssl_certificate = False\n"), 0o600)
	ev := clientEnv(t, s3cmd, home)
	s3c := func(args ...string) string { return run(t, ev, s3cmd, append([]string{"-c", conf}, args...)...) }

	s3c("mb", "s3://tools")
	src := filepath.Join(e.Dir, "tree")
	names := makeTree(t, src, 60)
	one := filepath.Join(src, names[1])
	s3c("put", one, "s3://tools/one.dat")
	back := filepath.Join(e.Dir, "one.back")
	s3c("get", "--force", "s3://tools/one.dat", back)
	if a, b := mustRead(t, one), mustRead(t, back); string(a) != string(b) {
		t.Fatalf("s3cmd get: %d bytes, want %d", len(b), len(a))
	}
	// A multipart upload in parts of 5 MiB, and back.
	big := filepath.Join(e.Dir, "big.bin")
	os.WriteFile(big, content("s3cmd-big", 12<<20), 0o644)
	s3c("put", "--multipart-chunk-size-mb=5", big, "s3://tools/big.bin")
	s3c("get", "--force", "s3://tools/big.bin", back)
	if a, b := mustRead(t, big), mustRead(t, back); string(a) != string(b) {
		t.Fatalf("s3cmd get of a multipart upload: %d bytes, want %d", len(b), len(a))
	}
	s3c("del", "s3://tools/big.bin")
	if out := s3c("ls", "s3://tools/"); !strings.Contains(out, "s3://tools/one.dat") {
		t.Fatalf("ls: %q", out)
	}
	s3c("sync", src+"/", "s3://tools/tree/")
	out := s3c("ls", "--recursive", "s3://tools/tree/")
	if n := strings.Count(out, "s3://tools/tree/"); n != len(names) {
		t.Fatalf("ls --recursive: %d keys, want %d\n%s", n, len(names), out)
	}
	if out := s3c("sync", src+"/", "s3://tools/tree/"); strings.Contains(out, "upload:") {
		t.Fatalf("second sync uploaded:\n%s", out)
	}
	down := filepath.Join(e.Dir, "down")
	s3c("sync", "s3://tools/tree/", down+"/")
	if n := sameTrees(t, src, down); n != len(names) {
		t.Fatalf("%d files compared, want %d", n, len(names))
	}
	s3c("del", "s3://tools/one.dat")
	s3c("del", "--recursive", "--force", "s3://tools/tree/")
	if out := s3c("ls", "--recursive", "s3://tools/"); strings.TrimSpace(out) != "" {
		t.Fatalf("left after del:\n%s", out)
	}
	s3c("rb", "s3://tools")
}

func TestRclone(t *testing.T) {
	rclone := needTool(t, "rclone")
	e := startS3(t)
	home := filepath.Join(e.Dir, "rclone")
	os.MkdirAll(home, 0o755)
	conf := filepath.Join(home, "rclone.conf")
	os.WriteFile(conf, nil, 0o600)
	ev := clientEnv(t, rclone, home, "RCLONE_CONFIG="+conf,
		"RCLONE_CONFIG_MOG_TYPE=s3", "RCLONE_CONFIG_MOG_PROVIDER=Other",
		"RCLONE_CONFIG_MOG_ACCESS_KEY_ID="+adminKey, "RCLONE_CONFIG_MOG_SECRET_ACCESS_KEY="+adminSecret,
		"RCLONE_CONFIG_MOG_ENDPOINT="+e.URL, "RCLONE_CONFIG_MOG_REGION=us-east-1",
		"RCLONE_CONFIG_MOG_FORCE_PATH_STYLE=true", "RCLONE_CONFIG_MOG_UPLOAD_CUTOFF=8M", "RCLONE_CONFIG_MOG_CHUNK_SIZE=5M",
		"RCLONE_CONFIG_MOG_ENV_AUTH=false")
	rc := func(args ...string) string { return run(t, ev, rclone, append([]string{"-q"}, args...)...) }

	rc("mkdir", "mog:sync")
	src := filepath.Join(e.Dir, "tree")
	names := makeTree(t, src, 100)
	rc("copyto", filepath.Join(src, names[3]), "mog:sync/single.dat")
	rc("sync", src, "mog:sync/tree")
	if out := rc("ls", "mog:sync/tree"); strings.Count(out, "\n") != len(names) {
		t.Fatalf("ls: %d lines, want %d\n%s", strings.Count(out, "\n"), len(names), out)
	}
	// check compares sizes and the MD5 hashes (the ETags).
	rc("check", src, "mog:sync/tree")
	// A big file goes up in parts (multipart upload), and back.
	bigDir := filepath.Join(e.Dir, "bigdir")
	os.MkdirAll(bigDir, 0o755)
	os.WriteFile(filepath.Join(bigDir, "big.bin"), content("rclone-big", 21<<20), 0o644)
	rc("copy", bigDir, "mog:sync/big")
	bigBack := filepath.Join(e.Dir, "bigback")
	rc("copy", "mog:sync/big", bigBack)
	if n := sameTrees(t, bigDir, bigBack); n != 1 {
		t.Fatalf("%d big files compared", n)
	}
	rc("purge", "mog:sync/big")
	if out := run(t, ev, rclone, "sync", "-v", src, "mog:sync/tree"); strings.Contains(out, "Copied") {
		t.Fatalf("second sync copied:\n%s", out)
	}
	down := filepath.Join(e.Dir, "down")
	rc("sync", "mog:sync/tree", down)
	if n := sameTrees(t, src, down); n != len(names) {
		t.Fatalf("%d files compared, want %d", n, len(names))
	}
	// A file rclone wrote is the client library's key.
	lib := e.libClient(t, "sync")
	b, err := lib.GetBytes(context.Background(), "tree/"+names[5])
	if err != nil || string(b) != string(mustRead(t, filepath.Join(src, names[5]))) {
		t.Fatalf("library read of an rclone upload: %d bytes, %v", len(b), err)
	}
	rc("delete", "mog:sync/single.dat")
	rc("purge", "mog:sync/tree")
	if out := rc("ls", "mog:sync"); strings.TrimSpace(out) != "" {
		t.Fatalf("left after purge:\n%s", out)
	}
	rc("rmdir", "mog:sync")
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
