package mogfileinfo

import (
	"bytes"
	"testing"
)

func TestFormat(t *testing.T) {
	var b bytes.Buffer
	Format(&b, "/fstab.txt", map[string]string{
		"fid": "1", "domain": "files", "class": "default", "key": "/fstab.txt", "length": "37", "devcount": "2", "devids": "1,2",
	}, []string{"http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid", "http://127.0.0.1:7500/dev2/0/000/000/0000000001.fid"})
	want := "- file: /fstab.txt\n" +
		"     class:              default\n" +
		"  devcount:                    2\n" +
		"    domain:                files\n" +
		"       fid:                    1\n" +
		"       key:           /fstab.txt\n" +
		"    length:                   37\n" +
		" - http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid\n" +
		" - http://127.0.0.1:7500/dev2/0/000/000/0000000001.fid\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}
