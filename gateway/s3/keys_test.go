package s3_test

import (
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/gateway/s3"
)

func TestParseKeys(t *testing.T) {
	k, err := s3.ParseKeys(strings.NewReader("# comment\n\nAK1 S1 *\nAK2 S2 photos,thumbs\n  AK3   S3  \n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != 3 || !k["AK1"].All || k["AK1"].Secret != "S1" || !k["AK3"].All {
		t.Fatalf("keys: %+v", k)
	}
	if a := k["AK2"]; a.All || !a.May("photos") || !a.May("thumbs") || a.May("files") {
		t.Fatalf("AK2: %+v", a)
	}
	for _, bad := range []string{"AK1\n", "AK1 S1 a b\n", "AK1 S1 a\nAK1 S2 b\n", "AK1 S1 ,\n"} {
		if _, err := s3.ParseKeys(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
