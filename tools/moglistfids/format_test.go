package moglistfids

import (
	"bytes"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
)

func TestFormat(t *testing.T) {
	var b bytes.Buffer
	Format(&b, client.FidInfo{FID: 12, Domain: "files", Class: "default", Key: "a b&c", Length: 37, DevCount: 2})
	want := "fid 12\nclass default\ndevcount 2\ndomain files\nkey a b&c\nlength 37\n\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
