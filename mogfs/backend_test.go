package mogfs

import (
	"testing"
	"time"
	"unsafe"

	"github.com/mogilefs-go/mogilefs/internal/wire"
)

// The replies below are written as docs/mogfs.md §8 specifies them, in
// wire form, and decoded by the wire codec first.

func TestParseListDir(t *testing.T) {
	r, err := wire.ParseReply("OK entry_count=3&entry_1_name=a&entry_1_type=f&entry_1_fid=7&entry_1_size=12" +
		"&entry_1_class=one&entry_1_devcount=2&entry_1_mtime=1000000000&entry_1_mtime_nsec=5&entry_1_mode=384" +
		"&entry_2_name=a.jpg&entry_2_type=f&entry_2_fid=8&entry_2_size=0&entry_2_class=default&entry_2_devcount=1" +
		"&entry_3_name=a&entry_3_type=d&entry_3_mtime=1&entry_3_mode=448&next_after=p/a/")
	if err != nil {
		t.Fatal(err)
	}
	page, err := parseListDir(r, "p/")
	if err != nil {
		t.Fatal(err)
	}
	if page.Next != "p/a/" || len(page.Entries) != 3 {
		t.Fatalf("page %+v", page)
	}
	f := page.Entries[0]
	if f.Dir || !f.HasInfo || f.Info.Key != "p/a" || f.Info.Fid != 7 || f.Info.Size != 12 || f.Info.Class != "one" ||
		f.Info.DevCount != 2 || !f.Info.Attr.Set || f.Info.Attr.Mode != 0o600 || !f.Info.Attr.Mtime.Equal(time.Unix(1e9, 5)) {
		t.Errorf("file entry %+v", f)
	}
	if g := page.Entries[1]; g.Info.Attr.Set || g.Info.Size != 0 {
		t.Errorf("entry without attributes %+v", g)
	}
	d := page.Entries[2]
	if !d.Dir || d.Name != "a" || d.Info.Key != "p/a/" || !d.Info.Attr.Set || d.Info.Attr.Mode != 0o700 {
		t.Errorf("directory entry %+v", d)
	}
	r, _ = wire.ParseReply("OK entry_count=1&entry_1_name=x&entry_1_type=q")
	if _, err := parseListDir(r, ""); err == nil {
		t.Error("an entry of unknown type was accepted")
	}
	r, _ = wire.ParseReply("OK entry_count=0")
	if page, err := parseListDir(r, ""); err != nil || page.Next != "" || len(page.Entries) != 0 {
		t.Errorf("empty page %+v, %v", page, err)
	}
}

// TestParseListDirCopies: the names and classes of a page do not point
// into the reply line (inodes keep them for as long as the kernel keeps
// the inodes).
func TestParseListDirCopies(t *testing.T) {
	line := "OK entry_count=2&entry_1_name=longname1&entry_1_type=f&entry_1_fid=7&entry_1_size=1&entry_1_class=someclass" +
		"&entry_2_name=longname2&entry_2_type=d"
	r, err := wire.ParseReply(line)
	if err != nil {
		t.Fatal(err)
	}
	page, err := parseListDir(r, "")
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("page %+v, %v", page, err)
	}
	inLine := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		b := uintptr(unsafe.Pointer(unsafe.StringData(line)))
		return p >= b && p < b+uintptr(len(line))
	}
	for _, e := range page.Entries {
		if inLine(e.Name) || inLine(e.Info.Class) {
			t.Errorf("entry %q (class %q) points into the reply line", e.Name, e.Info.Class)
		}
	}
	if page.Entries[0].Name != "longname1" || page.Entries[0].Info.Class != "someclass" || page.Entries[1].Name != "longname2" {
		t.Errorf("page %+v", page)
	}
}

func TestParseLookup(t *testing.T) {
	r, _ := wire.ParseReply("OK file=1&fid=3&size=9&class=default&devcount=2&dir=1&dir_mtime=5&dir_mtime_nsec=0&dir_mode=493")
	l := parseLookup(r, "k")
	if l.File == nil || l.File.Fid != 3 || l.File.Size != 9 || l.File.Attr.Set || !l.Dir || !l.DirAttr.Set || l.DirAttr.Mode != 0o755 {
		t.Errorf("lookup %+v %+v", l, l.File)
	}
	r, _ = wire.ParseReply("OK file=0&dir=1")
	if l := parseLookup(r, "k"); l.File != nil || !l.Dir || l.DirAttr.Set {
		t.Errorf("directory-only lookup %+v", l)
	}
}
