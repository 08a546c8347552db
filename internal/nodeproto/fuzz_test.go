package nodeproto

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCommand: every side-channel line parses to one kind of
// command; a size or digest uri with ".." always carries ErrURIDotDot.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"size /dev1/0/000/000/0000000001.fid\r\n", "MD5 /dev1/a.fid fsck", "SHA-1 /dev1/x",
		"watch", "WATCH\n", "shutdown graceful 5", "size /dev1/../../etc/passwd", "MD5  /x", "", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		switch c.Kind {
		case CmdSize, CmdDigest:
			if c.URI == "" || strings.ContainsAny(c.URI, " \t\r\n") {
				t.Fatalf("%q: uri %q", line, c.URI)
			}
			if strings.Contains(c.URI, "..") != errors.Is(err, ErrURIDotDot) {
				t.Fatalf("%q: uri %q, error %v", line, c.URI, err)
			}
			if c.Kind == CmdDigest && c.Alg != AlgMD5 && c.Alg != AlgSHA1 {
				t.Fatalf("%q: algorithm %q", line, c.Alg)
			}
		case CmdWatch, CmdManage:
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		default:
			t.Fatalf("%q: kind %q", line, c.Kind)
		}
	})
}

// FuzzParseUsage: a usage file either fails or has non-zero used and
// total; a formatted Usage parses back to itself.
func FuzzParseUsage(f *testing.F) {
	f.Add([]byte("available: 10\ndevice: /dev/sda1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 30\nuse: 34%\nused: 20\n"),
		uint64(20), uint64(10))
	f.Add([]byte("used:0\ntotal: 5\n"), uint64(1), uint64(0))
	f.Add([]byte("used: 99999999999999999999999\n"), uint64(0), uint64(0))
	f.Add([]byte("\x00: \xff\nused :1\ntotal\t:\t2\r\n"), uint64(7), uint64(3))
	f.Fuzz(func(t *testing.T, b []byte, used, avail uint64) {
		if u, err := ParseUsage(b); err == nil && (u.Used == 0 || u.Total == 0) {
			t.Fatalf("accepted zero used/total: %+v", u)
		}
		if used == 0 || used > 1<<60 || avail > 1<<60 {
			return
		}
		u := Usage{Available: avail, Used: used, Total: used + avail, Device: "/dev/x", Disk: "/d", Time: 1, Use: UsePercent(used, avail)}
		got, err := ParseUsage(u.Format())
		if err != nil || got != u {
			t.Fatalf("ParseUsage(Format(%+v)) = %+v, %v", u, got, err)
		}
	})
}
