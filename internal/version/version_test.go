package version

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	info := func(main string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: main}, Settings: settings}, true
		}
	}
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	clean := debug.BuildSetting{Key: "vcs.modified", Value: "false"}
	for _, tc := range []struct {
		name, linked, commit string
		bi                   func() (*debug.BuildInfo, bool)
		want                 string
	}{
		{"linked wins", "v1.2.0-3-g0123456-dirty", "", info("v0.0.0-2026", rev, dirty),
			"mogfs v1.2.0-3-g0123456-dirty (commit 0123456789abcdef0123456789abcdef01234567, modified, go1.99.1)"},
		{"module version", "", "fedcba", info("v1.3.0", rev, clean),
			"mogfs v1.3.0 (commit 0123456789abcdef0123456789abcdef01234567, go1.99.1)"},
		{"devel without vcs", "", "", info("(devel)"), "mogfs devel (commit unknown, go1.99.1)"},
		{"linked commit without vcs", "v1.2.0", "fedcba9876543210fedcba9876543210fedcba98", info("(devel)"),
			"mogfs v1.2.0 (commit fedcba9876543210fedcba9876543210fedcba98, go1.99.1)"},
		{"no build info", "", "", func() (*debug.BuildInfo, bool) { return nil, false },
			"mogfs devel (commit unknown, " + runtime.Version() + ")"},
	} {
		if got := read(tc.linked, tc.commit, tc.bi).Line("mogfs"); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestRequested(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--version"}, true},
		{[]string{"--version", "--trackers=x"}, true},
		{nil, false},
		{[]string{"--key", "--version"}, false}, // a value, not the option
		{[]string{"-version"}, false},
		{[]string{"--versions"}, false},
	} {
		if got := Requested(tc.args); got != tc.want {
			t.Errorf("Requested(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

// TestBinaryVersion builds one command the way the Makefile does (version
// and commit given with -X; Go adds vcs.revision in a git clone) and checks
// what --version prints.
func TestBinaryVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	head := "" // unknown without git or outside a clone
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		head = strings.TrimSpace(string(out))
	}
	bin := filepath.Join(t.TempDir(), "mogupload")
	const pkg = "github.com/mogilefs-go/mogilefs/internal/version"
	ldflags := "-X " + pkg + ".version=v9.8.7-test"
	if head != "" {
		ldflags += " -X " + pkg + ".commit=" + head
	}
	build := exec.Command("go", "build", "-o", bin, "-ldflags", ldflags, "./cmd/mogupload")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("mogupload --version: %v\n%s", err, out)
	}
	line := strings.TrimSuffix(string(out), "\n")
	re := regexp.MustCompile(`^mogupload v9\.8\.7-test \(commit ([0-9a-f]{40}|unknown)(, modified)?, go[0-9][^ )]*\)$`)
	m := re.FindStringSubmatch(line)
	if m == nil || strings.Contains(line, "\n") {
		t.Fatalf("mogupload --version printed %q; want one line matching %s", out, re)
	}
	if head != "" && m[1] != head {
		t.Errorf("commit %s, want HEAD %s", m[1], head)
	}
}
