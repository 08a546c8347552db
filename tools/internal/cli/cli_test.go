package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/wire"
)

func TestParseConfig(t *testing.T) {
	in := `# a comment
trackers = 10.0.0.1:7001, 10.0.0.2:7001   # production
domain=foo
  class   =   big files  
db_pass = se#cret
bogus line without equals
domain = second
=novalue
`
	got, err := ParseConfig(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"trackers": "10.0.0.1:7001, 10.0.0.2:7001",
		"domain":   "foo",
		"class":    "big files",
		"db_pass":  "se#cret",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ParseConfig = %v, want %v", got, want)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o755)
	write := func(p, s string) string {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	explicit := write(filepath.Join(dir, "explicit.conf"), "domain = from-explicit\n")
	envConf := write(filepath.Join(dir, "env.conf"), "domain = from-env\nclass = from-env\n")
	write(filepath.Join(home, ".mogilefs.conf"), "domain = from-home\nclass = from-home\ntrackers = home:7001\n")
	etc := write(filepath.Join(dir, "etc.conf"), "domain = from-etc\ntrackers = etc:7001\nlib = /etc/lib\n")
	env := &Env{EtcConfig: etc, Getenv: func(k string) string {
		return map[string]string{"HOME": home, "MOGUTILSCONF": envConf}[k]
	}}
	files := ConfigFiles(env, explicit, true)
	if len(files) != 4 || files[0] != explicit || files[1] != envConf || files[3] != etc {
		t.Fatalf("ConfigFiles = %v", files)
	}
	got, err := ReadConfigFiles(files, explicit)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"domain": "from-explicit", "class": "from-env", "trackers": "home:7001", "lib": "/etc/lib"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("merged = %v, want %v", got, want)
	}
	// A missing explicit file is an error; missing default files are not.
	if _, err := ReadConfigFiles(ConfigFiles(env, filepath.Join(dir, "nope.conf"), false), filepath.Join(dir, "nope.conf")); err == nil {
		t.Fatal("missing --conf file accepted")
	}
	env.EtcConfig = filepath.Join(dir, "absent")
	if _, err := ReadConfigFiles(ConfigFiles(env, "", false), ""); err != nil {
		t.Fatalf("missing system file: %v", err)
	}
}

func TestNormalizeAndApplyConfig(t *testing.T) {
	fs := NewFlagSet("t")
	var trackers, domain, key string
	var fid int64
	var help bool
	fs.StringVar(&trackers, "trackers", "", "")
	fs.StringVar(&domain, "domain", "", "")
	fs.StringVar(&key, "key", "", "")
	fs.StringVar(&key, "key_prefix", "", "")
	fs.Int64Var(&fid, "fid", 0, "")
	fs.BoolVar(&help, "help", false, "")
	args := NormalizeArgs(fs, []string{"-domain=d1", "--track", "t:1", "-fid", "42", "--ke=x", "--", "-domain=zz"})
	want := []string{"--domain=d1", "--trackers", "t:1", "--fid", "42", "--ke=x", "--", "-domain=zz"}
	if fmt.Sprint(args) != fmt.Sprint(want) {
		t.Fatalf("NormalizeArgs = %q, want %q", args, want)
	}
	if err := fs.Parse(args[:5]); err != nil {
		t.Fatal(err)
	}
	if trackers != "t:1" || domain != "d1" || fid != 42 {
		t.Fatalf("parsed trackers=%q domain=%q fid=%d", trackers, domain, fid)
	}
	// The command line wins; configuration fills the rest.
	if err := ApplyConfig(fs, map[string]string{"domain": "conf", "key": "conf-key", "help": "1"}, "help"); err != nil {
		t.Fatal(err)
	}
	if domain != "d1" || key != "conf-key" || help {
		t.Fatalf("after config: domain=%q key=%q help=%v", domain, key, help)
	}
	fs2 := NewFlagSet("t2")
	fs2.Int64Var(&fid, "fid", 0, "")
	if err := ApplyConfig(fs2, map[string]string{"fid": "notanumber"}); err == nil {
		t.Fatal("bad configured integer accepted")
	}
}

func TestSplitTrackersAndClass(t *testing.T) {
	got, err := SplitTrackers(" 10.0.0.1 , 10.0.0.2:7002,,")
	if err != nil || fmt.Sprint(got) != "[10.0.0.1:7001 10.0.0.2:7002]" {
		t.Fatalf("SplitTrackers = %v, %v", got, err)
	}
	if _, err := SplitTrackers("host:port"); err == nil {
		t.Fatal("bad port accepted")
	}
	if ClassName("default") != "" || ClassName("big") != "big" {
		t.Fatal("ClassName")
	}
}

func TestExitCodesAndMessages(t *testing.T) {
	_, werr := wire.ParseReply("ERR unknown_key unknown_key")
	_, werr2 := wire.ParseReply("ERR unreg_domain Domain+name+invalid/not+found")
	_, openErr := os.Open(filepath.Join(t.TempDir(), "missing"))
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, 0, ""},
		{Die("Error deleting file: ", werr), 255, "Error deleting file: unknown_key unknown_key"},
		{Die("Error fetching paths: ", werr2), 255, "Error fetching paths: unreg_domain Domain name invalid/not found"},
		{FileFail("Could not open /x", openErr), int(syscall.ENOENT), "Could not open /x: No such file or directory"},
		{FileFail("Error writing /y", &os.PathError{Op: "write", Path: "/y", Err: syscall.ENOSPC}), int(syscall.ENOSPC), "Error writing /y: No space left on device"},
		{Fail(ExitFail, nil, "Host already exists."), 1, "Host already exists."},
		{&client.TrackerError{Addr: "127.0.0.1:7001", Cmd: "get_paths", Err: fmt.Errorf("%w after 3s", client.ErrTimeout)}, 255,
			`timed out against tracker 127.0.0.1:7001 when sending command "get_paths"`},
		{&client.TrackerError{Addr: "127.0.0.1:1", Cmd: "noop", Err: fmt.Errorf("%w: %w", client.ErrNoTracker, errors.New("dial tcp 127.0.0.1:1: connect: connection refused"))}, 255,
			"couldn't connect to any tracker: dial tcp 127.0.0.1:1: connect: connection refused"},
		{fmt.Errorf("wrapped: %w", context.Canceled), 130, "wrapped: context canceled"},
	} {
		if got := ExitCode(tc.err); got != tc.code {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
		var b bytes.Buffer
		Report(&Env{Stderr: &b}, tc.err)
		if want := tc.msg; (want == "" && b.Len() != 0) || (want != "" && b.String() != want+"\n") {
			t.Errorf("Report(%v) printed %q, want %q", tc.err, b.String(), want)
		}
	}
}

func TestRenderProgress(t *testing.T) {
	got := RenderProgress("up", 10<<20, 30<<20, 2*time.Second)
	want := "up [=========>                    ]  33% 10 MiB / 30 MiB 5.0 MiB/s"
	if got != want {
		t.Fatalf("RenderProgress = %q, want %q", got, want)
	}
	if got := RenderProgress("in", 3<<20, -1, time.Second); got != "in 3.0 MiB 3.0 MiB/s" {
		t.Fatalf("unknown total: %q", got)
	}
	if got := RenderProgress("x", 5, 5, 0); got != "x [==============================] 100% 5 B / 5 B " {
		t.Fatalf("complete: %q", got)
	}
}

func TestProgressOnlyOnTerminalAndLargeTransfers(t *testing.T) {
	var b bytes.Buffer
	if NewProgress(&Env{Stderr: &b, StderrTerminal: false}, "x", 100<<20) != nil {
		t.Fatal("progress bar without a terminal")
	}
	if NewProgress(&Env{Stderr: &b, StderrTerminal: true}, "x", 1<<20) != nil {
		t.Fatal("progress bar for a 1 MiB transfer")
	}
	var nilBar *Progress
	nilBar.Add(5) // must not panic
	nilBar.Done()

	p := NewProgress(&Env{Stderr: &b, StderrTerminal: true}, "x", -1)
	clock := time.Unix(1000, 0)
	p.now = func() time.Time { return clock }
	p.start = clock
	r := p.Reader(bytes.NewReader(make([]byte, 512<<10)))
	buf := make([]byte, 1<<20)
	r.Read(buf)
	if b.Len() != 0 {
		t.Fatalf("drew below the threshold: %q", b.String())
	}
	clock = clock.Add(time.Second)
	p.Add(1 << 20)
	clock = clock.Add(time.Second)
	p.Done()
	out := b.String()
	if !strings.HasPrefix(out, "\rx 1.5 MiB 1.5 MiB/s") || !strings.HasSuffix(out, "\rx 1.5 MiB 768 KiB/s\n") {
		t.Fatalf("progress output %q", out)
	}
}
