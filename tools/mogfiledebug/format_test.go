package mogfiledebug

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

func TestReportPrintMode(t *testing.T) {
	var b bytes.Buffer
	Report(context.Background(), &b, http.DefaultClient, map[string]string{
		"fid_fid": "5", "fid_dkey": "k", "fid_length": "3", "fid_domain": "files",
		"replqueue_fid": "5", "replqueue_nexttry": "0",
		"devpath_2": "http://h/dev2/0/000/000/0000000005.fid", "devpath_10": "http://h/dev10/0/000/000/0000000005.fid",
		"devids": "2,10", "checksum": "NONE",
	}, "print")
	want := "Paths...\n" +
		" - http://h/dev2/0/000/000/0000000005.fid\n" +
		" - http://h/dev10/0/000/000/0000000005.fid\n" +
		"\nTempfile and/or queue rows...\n" +
		"-    replqueue\n" +
		"                   fid:                    5\n" +
		"               nexttry:                    0\n" +
		"\n- File Row:\n" +
		"      dkey:                    k\n" +
		"    domain:                files\n" +
		"       fid:                    5\n" +
		"    length:                    3\n" +
		"\n- Raw devids: 2,10\n" +
		"\n- Stored checksum: NONE\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestEmitResults(t *testing.T) {
	three, four := int64(3), int64(4)
	var b bytes.Buffer
	EmitResults(&b, true, map[string]string{"length": "3"}, []Result{
		{Path: "http://a/x", Status: "200 OK", Length: &three, Hash: "h1", MTime: "Mon"},
		{Path: "http://b/x", Status: "200 OK", Length: &four, Hash: "h2"},
		{Path: "http://c/x", Status: "404 Not Found"},
	})
	want := "\nResults for path: http://a/x\n - MD5 Hash: h1\n - Length: 3\n - Last-Modified: Mon\n - HTTP result: 200 OK\n" +
		"\nResults for path: http://b/x\n - ERROR: Hash does not match first path!\n - ERROR: Length does not match file row!\n" +
		" - MD5 Hash: h2\n - Length: 4\n - HTTP result: 200 OK\n" +
		"\nResults for path: http://c/x\n - ERROR: File copy is missing: 404 Not Found\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}
