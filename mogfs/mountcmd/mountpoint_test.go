package mountcmd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/mogilefs-go/mogilefs/client"
)

func TestMountsAt(t *testing.T) {
	info := `22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw
95 30 0:50 / /srv/my\040photos rw,nosuid,nodev,relatime shared:55 - fuse.mogfs 10.0.0.1:7001/photos rw,user_id=0,group_id=0
96 95 0:51 / /srv/my\040photos rw,nosuid,nodev,relatime - fuse.mogfs 10.0.0.2:7001 rw,user_id=0,group_id=0
97 30 0:52 / /srv/other rw - tmpfs tmpfs rw
`
	got, err := mountsAt(strings.NewReader(info), "/srv/my photos")
	if err != nil {
		t.Fatal(err)
	}
	want := []mountEntry{
		{Point: "/srv/my photos", FSType: "fuse.mogfs", Source: "10.0.0.1:7001/photos"},
		{Point: "/srv/my photos", FSType: "fuse.mogfs", Source: "10.0.0.2:7001"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mountsAt = %+v, want %+v", got, want)
	}
	if got, _ := mountsAt(strings.NewReader(info), "/srv"); len(got) != 0 {
		t.Errorf("/srv is no mount point: %+v", got)
	}
}

func TestCheckDomainClass(t *testing.T) {
	ds := []client.DomainInfo{
		{Name: "photos", Classes: []client.ClassInfo{{Name: "default"}, {Name: "thumbs"}}},
		{Name: "docs", Classes: []client.ClassInfo{{Name: "default"}}},
	}
	for _, c := range []struct {
		domain, class string
		lacking       []string
		err           string
	}{
		{domain: "photos"},
		{domain: "photos", class: "thumbs"},
		{domain: "docs", class: "thumbs", err: `class "thumbs" does not exist in domain "docs"`},
		{domain: "nope", err: `domain "nope" does not exist`},
		{class: "thumbs", lacking: []string{"docs"}},
		{class: "nope", err: `class "nope" does not exist in any domain`},
		{},
	} {
		o := &Options{Domain: c.domain, Class: c.class, Trackers: []string{"t:7001"}}
		lacking, err := checkDomainClass(o, ds)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q/%q: %v, want an error with %q", c.domain, c.class, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(lacking, c.lacking) {
			t.Errorf("%q/%q: lacking %v, %v; want %v", c.domain, c.class, lacking, err, c.lacking)
		}
	}
}

// TestPrepareMountpoint covers what needs no FUSE: a missing mount point,
// a file, an empty and a non-empty directory, and a live mount (/proc).
func TestPrepareMountpoint(t *testing.T) {
	var said []string
	notice := func(msg string, kv ...any) { said = append(said, userText(msg, kv)) }
	dir := t.TempDir()
	if err := prepareMountpoint(filepath.Join(dir, "missing"), notice); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing mount point: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareMountpoint(file, notice); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as mount point: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := prepareMountpoint(empty, notice); err != nil || len(said) != 0 {
		t.Errorf("empty directory: %v, said %q", err, said)
	}
	if err := prepareMountpoint(dir, notice); err != nil || len(said) != 1 || !strings.Contains(said[0], "is not empty") {
		t.Errorf("non-empty directory: %v, said %q", err, said)
	}
	said = nil
	if err := prepareMountpoint("/proc", notice); err != nil || len(said) != 1 || !strings.Contains(said[0], "already a mount point") ||
		!strings.Contains(said[0], "fstype=proc") {
		t.Errorf("/proc: %v, said %q", err, said)
	}
	if !isDeadConn(&os.PathError{Op: "stat", Path: "/x", Err: syscall.ENOTCONN}) || isDeadConn(os.ErrNotExist) {
		t.Error("isDeadConn")
	}
}
