package nodeproto

import (
	"errors"
	"testing"
)

func TestUsageFormatParse(t *testing.T) {
	u := Usage{Available: 82897900, Device: "/dev/vda", Disk: "/var/mogdata/dev1", Time: 1700000000,
		Total: 95501264, Use: UsePercent(12603364, 82897900), Used: 12603364}
	got := string(u.Format())
	want := "available: 82897900\ndevice: /dev/vda\ndisk: /var/mogdata/dev1\ntime: 1700000000\n" +
		"total: 95501264\nuse: 14%\nused: 12603364\n"
	if got != want {
		t.Fatalf("Format:\n%s\nwant:\n%s", got, want)
	}
	back, err := ParseUsage([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if back != u {
		t.Fatalf("ParseUsage = %+v, want %+v", back, u)
	}
}

func TestParseUsageTrackerRules(t *testing.T) {
	// Padding newlines and odd spacing, as the original's in-place rewrite leaves them.
	u, err := ParseUsage([]byte("used :  10\ntotal:20   \n\n\n"))
	if err != nil || u.Used != 10 || u.Total != 20 {
		t.Fatalf("got %+v, %v", u, err)
	}
	for _, bad := range []string{"", "used: 10\n", "total: 10\nused: 0\n", "total: x\nused: 1\n"} {
		if _, err := ParseUsage([]byte(bad)); err == nil {
			t.Errorf("ParseUsage(%q) succeeded", bad)
		}
	}
}

func TestUsePercent(t *testing.T) {
	for _, tc := range []struct {
		used, avail uint64
		want        string
	}{{0, 10, "0%"}, {1, 99, "1%"}, {1, 199, "1%"}, {50, 50, "50%"}, {10, 0, "100%"}, {0, 0, "-"}} {
		if got := UsePercent(tc.used, tc.avail); got != tc.want {
			t.Errorf("UsePercent(%d, %d) = %q, want %q", tc.used, tc.avail, got, tc.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Command
		err  error
	}{
		{"size /dev1/usage\r\n", Command{Kind: CmdSize, URI: "/dev1/usage", Line: "size /dev1/usage"}, nil},
		{"MD5 /dev1/0/000/000/0000000001.fid fsck\n", Command{Kind: CmdDigest, Alg: "MD5",
			URI: "/dev1/0/000/000/0000000001.fid", Reason: "fsck", Line: "MD5 /dev1/0/000/000/0000000001.fid fsck"}, nil},
		{"SHA-1 /dev2/x", Command{Kind: CmdDigest, Alg: "SHA-1", URI: "/dev2/x", Line: "SHA-1 /dev2/x"}, nil},
		{"WATCH", Command{Kind: CmdWatch, Line: "WATCH"}, nil},
		{"md5 /dev1/x", Command{Kind: CmdManage, Line: "md5 /dev1/x"}, nil},
		{"shutdown graceful 5", Command{Kind: CmdManage, Line: "shutdown graceful 5"}, nil},
		{"MD5 /dev1/../../etc/passwd", Command{Kind: CmdDigest, Alg: "MD5", URI: "/dev1/../../etc/passwd",
			Line: "MD5 /dev1/../../etc/passwd"}, ErrURIDotDot},
	} {
		got, err := ParseCommand(tc.line)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v, %v", tc.line, got, err, tc.want, tc.err)
		}
	}
	if s := FormatError(ErrURIDotDot); s != "ERROR: uri invalid (contains ..)\r\n" {
		t.Errorf("FormatError = %q", s)
	}
}

func TestDigestReplies(t *testing.T) {
	const uri = "/dev1/0/000/000/0000000001.fid"
	hex := "d41d8cd98f00b204e9800998ecf8427e"
	line := FormatDigestReply(AlgMD5, uri, hex)
	if line != uri+" MD5="+hex+"\r\n" {
		t.Fatalf("FormatDigestReply = %q", line)
	}
	if got, err := ParseDigestReply(AlgMD5, uri, line); err != nil || got != hex {
		t.Fatalf("ParseDigestReply = %q, %v", got, err)
	}
	if _, err := ParseDigestReply(AlgMD5, uri, FormatDigestReply(AlgMD5, uri, "")); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing: %v", err)
	}
	for _, bad := range []string{"ERROR: unknown command: md5\r\n", FormatReadError(uri, 1048576), uri + " MD5=xyz\r\n"} {
		if _, err := ParseDigestReply(AlgMD5, uri, bad); err == nil || errors.Is(err, ErrMissing) {
			t.Errorf("ParseDigestReply(%q) = %v", bad, err)
		}
	}
	if n, err := ParseSizeReply(uri, FormatSizeReply(uri, 42)); n != 42 || err != nil {
		t.Fatalf("size = %d, %v", n, err)
	}
	if _, err := ParseSizeReply(uri, FormatSizeReply(uri, -5)); !errors.Is(err, ErrMissing) {
		t.Fatalf("size missing: %v", err)
	}
}

func TestWatchBlock(t *testing.T) {
	w := WatchBlock{10: "-", 2: "52.55", 1: "0.00"}
	s := w.Format()
	if s != "1\t0.00\n2\t52.55\n10\t-\n.\n" {
		t.Fatalf("Format = %q", s)
	}
	back, err := ParseWatchBlock([]string{"1\t0.00", "2 52.55", "", "10\t-"})
	if err != nil || len(back) != 3 || back[2] != "52.55" || back[10] != "-" {
		t.Fatalf("ParseWatchBlock = %v, %v", back, err)
	}
}
