package s3_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientEnv is the environment of a client program: the process's own
// without AWS settings, HOME a temp directory, and the given settings. No
// client looks for credentials or regions elsewhere, or reaches anything
// but the loopback endpoint.
func clientEnv(t *testing.T, tool, home string, kv ...string) []string {
	var out []string
	for _, v := range os.Environ() {
		if !strings.HasPrefix(v, "AWS_") && !strings.HasPrefix(v, "HOME=") && !strings.HasPrefix(v, "RCLONE_") {
			out = append(out, v)
		}
	}
	// A pyenv shim finds its root through HOME unless told.
	if i := strings.Index(tool, "/.pyenv/shims/"); i >= 0 && os.Getenv("PYENV_ROOT") == "" {
		out = append(out, "PYENV_ROOT="+tool[:i]+"/.pyenv")
	}
	out = append(out, "HOME="+home)
	return append(out, kv...)
}

// awsEnv runs the AWS CLI as key with a private configuration.
func (e *env) awsEnv(t *testing.T, aws, key, secret string) []string {
	home := filepath.Join(e.Dir, "aws-"+key)
	os.MkdirAll(home, 0o755)
	conf := filepath.Join(home, "config")
	// Multipart from 8 MiB on, in parts of 5 MiB (S3's smallest), so
	// that a file of a few tens of MiB is a multipart upload.
	os.WriteFile(conf, []byte("[default]\nregion = us-east-1\ns3 =\n    signature_version = s3v4\n    multipart_threshold = 8MB\n    multipart_chunksize = 5MB\n"), 0o644)
	return clientEnv(t, aws, home, "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+conf, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"AWS_PAGER=", "AWS_ENDPOINT_URL="+e.URL)
}

// makeTree writes n files under dir in nested directories, of sizes from
// 0 to about 20 KiB, and returns their relative paths.
func makeTree(t *testing.T, dir string, n int) []string {
	t.Helper()
	var names []string
	for i := 0; i < n; i++ {
		rel := fmt.Sprintf("d%d/sub%d/file-%04d.dat", i%7, i%3, i)
		if i%10 == 0 {
			rel = fmt.Sprintf("top %d+x.txt", i) // a space and a plus
		}
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content(rel, (i*997)%20000), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, rel)
	}
	return names
}

// content returns n bytes of deterministic, name-specific data.
func content(name string, n int) []byte {
	b := make([]byte, n)
	x := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		x = (x ^ uint32(name[i])) * 16777619
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// sameTrees fails the test unless a and b hold the same files.
func sameTrees(t *testing.T, a, b string) int {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(a, p)
			files[rel], _ = os.ReadFile(p)
		}
		return nil
	})
	n := 0
	filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(b, p)
			got, _ := os.ReadFile(p)
			want, ok := files[rel]
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("%s: differs from %s (present there: %v)", filepath.Join(b, rel), a, ok)
			}
			delete(files, rel)
			n++
		}
		return nil
	})
	for rel := range files {
		t.Errorf("%s missing from %s", rel, b)
	}
	return n
}

func TestAWSCLI(t *testing.T) {
	aws := needTool(t, "aws")
	e := startS3(t)
	ev := e.awsEnv(t, aws, adminKey, adminSecret)
	s3 := func(args ...string) string {
		start := time.Now()
		defer func() { t.Logf("aws s3 %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond)) }()
		return run(t, ev, aws, append([]string{"s3"}, args...)...)
	}

	out := s3("mb", "s3://photos")
	if !strings.Contains(out, "make_bucket: photos") {
		t.Fatalf("mb: %q", out)
	}
	if out := s3("ls"); !strings.Contains(out, "photos") || !strings.Contains(out, "files") {
		t.Fatalf("ls of buckets: %q", out)
	}
	small := filepath.Join(e.Dir, "hello.txt")
	os.WriteFile(small, []byte("hello, world\n"), 0o644)
	s3("cp", small, "s3://photos/docs/hello.txt")
	got := filepath.Join(e.Dir, "hello.back")
	s3("cp", "s3://photos/docs/hello.txt", got)
	if b, _ := os.ReadFile(got); string(b) != "hello, world\n" {
		t.Fatalf("cp back: %q", b)
	}
	// Written through S3, read through the client library.
	lib := e.libClient(t, "photos")
	if b, err := lib.GetBytes(context.Background(), "docs/hello.txt"); err != nil || string(b) != "hello, world\n" {
		t.Fatalf("client library read of an S3 object: %q, %v", b, err)
	}
	// Written through the client library, read through S3.
	if _, err := lib.StoreBytes(context.Background(), "docs/from-lib.bin", "", []byte("stored by the library")); err != nil {
		t.Fatal(err)
	}
	s3("cp", "s3://photos/docs/from-lib.bin", got)
	if b, _ := os.ReadFile(got); string(b) != "stored by the library" {
		t.Fatalf("S3 read of a library object: %q", b)
	}
	// A multipart upload (8 parts), a multipart download, and copies
	// server-side: CopyObject (small) and UploadPartCopy (big).
	big := filepath.Join(e.Dir, "big.bin")
	bigData := content("big", 38<<20)
	os.WriteFile(big, bigData, 0o644)
	s3("cp", big, "s3://photos/docs/big.bin")
	if b, err := lib.GetBytes(context.Background(), "docs/big.bin"); err != nil || !bytes.Equal(b, bigData) {
		t.Fatalf("library read of a multipart upload: %d bytes, %v", len(b), err)
	}
	s3apiParts(t, e, ev, aws, bigData)
	s3("cp", "s3://photos/docs/big.bin", "s3://photos/copies/big.bin")
	s3("cp", "s3://photos/docs/hello.txt", "s3://photos/copies/hello.txt")
	s3("cp", "s3://photos/copies/big.bin", got)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, bigData) {
		t.Fatalf("cp back of a server-side copy: %d bytes", len(b))
	}
	if b, err := lib.GetBytes(context.Background(), "copies/hello.txt"); err != nil || string(b) != "hello, world\n" {
		t.Fatalf("CopyObject through aws s3 cp: %q, %v", b, err)
	}
	s3("rm", "--recursive", "s3://photos/copies/")
	s3("rm", "s3://photos/docs/big.bin")
	if out := s3("ls", "s3://photos/"); !strings.Contains(out, "PRE docs/") || strings.Contains(out, "hello.txt") {
		t.Fatalf("ls without --recursive: %q", out)
	}
	if out := s3("ls", "s3://photos/docs/"); !strings.Contains(out, "13 hello.txt") {
		t.Fatalf("ls of a prefix: %q", out)
	}

	// sync both ways of a tree, then a second sync that transfers nothing.
	src := filepath.Join(e.Dir, "tree")
	names := makeTree(t, src, 200)
	out = s3("sync", src, "s3://photos/tree")
	if n := strings.Count(out, "upload:"); n != len(names) {
		t.Fatalf("sync up uploaded %d files, want %d:\n%s", n, len(names), out)
	}
	if out := s3("sync", src, "s3://photos/tree"); strings.TrimSpace(out) != "" {
		t.Fatalf("second sync up transferred:\n%s", out)
	}
	out = s3("ls", "--recursive", "s3://photos/tree/")
	if n := strings.Count(out, "\n"); n != len(names) {
		t.Fatalf("ls --recursive lists %d keys, want %d:\n%s", n, len(names), out)
	}
	back := filepath.Join(e.Dir, "back")
	out = s3("sync", "s3://photos/tree", back)
	if n := strings.Count(out, "download:"); n != len(names) {
		t.Fatalf("sync down downloaded %d files, want %d", n, len(names))
	}
	if out := s3("sync", "s3://photos/tree", back); strings.TrimSpace(out) != "" {
		t.Fatalf("second sync down transferred:\n%s", out)
	}
	if n := sameTrees(t, src, back); n != len(names) {
		t.Fatalf("%d files compared, want %d", n, len(names))
	}

	// presign, then a plain curl.
	url := strings.TrimSpace(run(t, ev, aws, "s3", "presign", "s3://photos/docs/hello.txt", "--expires-in", "300"))
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 100)
	n, _ := r.Body.Read(body)
	r.Body.Close()
	if r.StatusCode != 200 || string(body[:n]) != "hello, world\n" {
		t.Fatalf("presigned GET: %d %q", r.StatusCode, body[:n])
	}

	// rb refuses a bucket with keys; rm --recursive, then rb.
	if out, err := runErr(ev, aws, "s3", "rb", "s3://photos"); err == nil || !strings.Contains(out, "BucketNotEmpty") {
		t.Fatalf("rb of a bucket with keys: %v %s", err, out)
	}
	s3("rm", "--recursive", "s3://photos/")
	if out := s3("ls", "--recursive", "s3://photos/"); strings.TrimSpace(out) != "" {
		t.Fatalf("left after rm --recursive:\n%s", out)
	}
	s3("rb", "s3://photos")
	if out := s3("ls"); strings.Contains(out, "photos") {
		t.Fatalf("photos still listed after rb: %q", out)
	}
}

// s3apiParts reads parts of docs/big.bin of bucket photos (a multipart
// upload of 5 MiB parts holding data) with s3api get-object and
// head-object --part-number, and lists uploads in progress grouped by a
// delimiter.
func s3apiParts(t *testing.T, e *env, ev []string, aws string, data []byte) {
	t.Helper()
	api := func(out any, args ...string) {
		t.Helper()
		b := run(t, ev, aws, append([]string{"s3api"}, args...)...)
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("aws s3api %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	const part = 5 << 20
	count := (len(data) + part - 1) / part
	type head struct {
		ContentLength int64
		ContentRange  string
		PartsCount    int
		ETag          string
	}
	var got head
	file := filepath.Join(e.Dir, "part2")
	api(&got, "get-object", "--bucket", "photos", "--key", "docs/big.bin", "--part-number", "2", file)
	b, _ := os.ReadFile(file)
	if !bytes.Equal(b, data[part:2*part]) || got.ContentLength != part || got.PartsCount != count ||
		got.ContentRange != fmt.Sprintf("bytes %d-%d/%d", part, 2*part-1, len(data)) || !strings.HasSuffix(got.ETag, fmt.Sprintf(`-%d"`, count)) {
		t.Fatalf("get-object --part-number 2: %d bytes (equal: %v), %+v", len(b), bytes.Equal(b, data[part:2*part]), got)
	}
	got = head{}
	api(&got, "head-object", "--bucket", "photos", "--key", "docs/big.bin", "--part-number", "1")
	if got.ContentLength != part || got.PartsCount != count {
		t.Fatalf("head-object --part-number 1: %+v", got)
	}

	var ids []string
	for _, k := range []string{"pending/one", "pending/two", "pending-top"} {
		var u struct{ UploadId string }
		api(&u, "create-multipart-upload", "--bucket", "photos", "--key", k)
		ids = append(ids, u.UploadId)
	}
	var list struct {
		Uploads        []struct{ Key, UploadId string }
		CommonPrefixes []struct{ Prefix string }
	}
	api(&list, "list-multipart-uploads", "--bucket", "photos", "--delimiter", "/")
	if len(list.Uploads) != 1 || list.Uploads[0].Key != "pending-top" || list.Uploads[0].UploadId != ids[2] ||
		len(list.CommonPrefixes) != 1 || list.CommonPrefixes[0].Prefix != "pending/" {
		t.Fatalf("list-multipart-uploads --delimiter /: %+v", list)
	}
	for i, k := range []string{"pending/one", "pending/two", "pending-top"} {
		run(t, ev, aws, "s3api", "abort-multipart-upload", "--bucket", "photos", "--key", k, "--upload-id", ids[i])
	}
}
