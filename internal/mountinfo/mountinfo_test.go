package mountinfo

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	info := `22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw
95 30 0:50 / /srv/my\040photos rw,nosuid,nodev,relatime shared:55 - fuse.mogfs 10.0.0.1:7001/photos rw,user_id=0,group_id=0
garbage line
97 30 0:52 / /srv/other rw - tmpfs tmpfs rw
`
	got, err := Parse(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Point: "/proc", FSType: "proc", Source: "proc"},
		{Point: "/srv/my photos", FSType: "fuse.mogfs", Source: "10.0.0.1:7001/photos"},
		{Point: "/srv/other", FSType: "tmpfs", Source: "tmpfs"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
	for in, want := range map[string]string{`a\040b`: "a b", `tab\011`: "tab\t", `back\134slash`: `back\slash`, `end\04`: `end\04`, `plain`: "plain"} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRead(t *testing.T) {
	ms, err := Read()
	if err != nil {
		t.Skipf("no mount table here: %v", err)
	}
	for _, m := range ms {
		if m.Point == "/" {
			return
		}
	}
	t.Errorf("the mount table has no /: %+v", ms)
}
