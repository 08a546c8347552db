package mogstored

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// FuzzParseNodePath: a request path the node accepts names a device
// directory and stays beneath the docroot whatever the docroot is; every
// segment obeys the original's character set.
func FuzzParseNodePath(f *testing.F) {
	for _, s := range []string{"/dev1/0/000/000/0000000001.fid", "/dev1/../etc/passwd", "/dev1/%2e%2e/x", "/dev1//a",
		"/dev01/a", "/dev999999999/x", "/dev1234567890/x", "//etc/passwd", "/dev1/.", "/dev1/a/", "/dev1\\..\\x", "/usage", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		np, err := parseNodePath(p)
		if err != nil {
			if err != errBadPath && err != errNotDevice {
				t.Fatalf("parseNodePath(%q): unexpected error %v", p, err)
			}
			return
		}
		if np.devid < 0 || np.rel != p[1:] || strings.Contains(np.rel, "..") {
			t.Fatalf("parseNodePath(%q) = %+v", p, np)
		}
		root := "/srv/mog data"
		full := filepath.Join(root, np.rel)
		if !strings.HasPrefix(full, root+"/dev") {
			t.Fatalf("%q maps to %q, outside %q", p, full, root)
		}
		dev, _, _ := strings.Cut(strings.TrimSuffix(np.rel, "/"), "/")
		if id, ok := parseDevName(dev); !ok || id != np.devid {
			t.Fatalf("%q: device %q, devid %d", p, dev, np.devid)
		}
		for seg := range strings.SplitSeq(strings.TrimSuffix(np.rel, "/"), "/") {
			if !validSegment(seg) {
				t.Fatalf("%q: accepted segment %q", p, seg)
			}
		}
	})
}

// FuzzFIDPath: the path of any fid on any device is one the storage node
// accepts, names that device, and gives the fid back from its file name;
// its three directory levels are prefixes of it.
func FuzzFIDPath(f *testing.F) {
	for _, v := range [][2]int64{{1, 1}, {2, 148056}, {7, 9999999999}, {1, 10000000000}, {999999999, 1<<63 - 1}, {0, 0}} {
		f.Add(int(v[0]), v[1])
	}
	f.Fuzz(func(t *testing.T, devid int, fid int64) {
		if devid < 0 || devid > 999999999 || fid < 0 {
			return
		}
		p := nodeproto.FIDPath(devid, fid)
		np, err := parseNodePath(p)
		if err != nil || np.devid != devid || np.dir {
			t.Fatalf("FIDPath(%d, %d) = %q: parsed %+v, %v", devid, fid, p, np, err)
		}
		name := strings.TrimSuffix(p[strings.LastIndexByte(p, '/')+1:], ".fid")
		if got, err := strconv.ParseInt(name, 10, 64); err != nil || got != fid {
			t.Fatalf("FIDPath(%d, %d) = %q: file name gives %d, %v", devid, fid, p, got, err)
		}
		for _, d := range nodeproto.FIDDirs(devid, fid) {
			if !strings.HasPrefix(p, d) || !strings.HasSuffix(d, "/") {
				t.Fatalf("FIDDirs(%d, %d) level %q is not a directory prefix of %q", devid, fid, d, p)
			}
			if np, err := parseNodePath(d); err != nil || !np.dir {
				t.Fatalf("directory %q refused: %v", d, err)
			}
		}
	})
}

// FuzzParseRange: any Range header for any size gives 200 (whole file),
// 416, or 206 with 0 <= start <= end < size; a well-formed single range
// inside the file is honoured exactly. (Positions of more than 18 digits
// are ignored, which serves the whole file: RFC 9110 lets a server ignore
// a Range header, and no file is an exabyte long.)
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "bytes=0-0", "bytes=3-", "bytes=-4", "bytes=-0", "bytes=5-4", "bytes=1-2,4-5",
		"bytes=99999999999999999999-", "bytes= 1-2", "bytes=-", "Bytes=0-1", "bytes=+1-2", "bytes=0x1-2"} {
		f.Add(s, int64(10), int64(2), int64(5))
	}
	f.Fuzz(func(t *testing.T, h string, size, a, b int64) {
		if size < 0 {
			return
		}
		start, end, status := parseRange(h, size)
		switch status {
		case 200, 416:
		case 206:
			if start < 0 || start > end || end >= size {
				t.Fatalf("parseRange(%q, %d) = %d-%d 206", h, size, start, end)
			}
		default:
			t.Fatalf("parseRange(%q, %d) status %d", h, size, status)
		}
		if a < 0 || b < a || a >= size || b >= 1e18 {
			return
		}
		start, end, status = parseRange("bytes="+strconv.FormatInt(a, 10)+"-"+strconv.FormatInt(b, 10), size)
		if status != 206 || start != a || end != min(b, size-1) {
			t.Fatalf("bytes=%d-%d of %d: %d-%d %d", a, b, size, start, end, status)
		}
	})
}
