package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReportOfRealRun runs go test -json over two packages of a throwaway
// module, one passing and one failing, and checks what report prints.
func TestReportOfRealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":            "module example.com/tp\n\ngo 1.22\n",
		"good/good_test.go": "package good\n\nimport \"testing\"\n\nfunc TestGood(t *testing.T) {}\n",
		"bad/bad_test.go":   "package bad\n\nimport \"testing\"\n\nfunc TestBad(t *testing.T) { t.Log(\"the reason\"); t.Fail() }\n",
		"none/none.go":      "package none\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := mkdirWrite(p, text); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	js, err := cmd.Output()
	if err == nil {
		t.Fatalf("go test passed with a failing package:\n%s", js)
	}
	var b strings.Builder
	code := report(strings.NewReader(string(js)), &b)
	got := b.String()
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, re := range []string{
		`(?m)^ *\S+  run  example.com/tp/good$`,
		`(?m)^ *\S+  ok   example.com/tp/good \(\d+\.\ds\)$`,
		`(?m)^ *\S+  FAIL example.com/tp/bad \(\d+\.\ds\)\n(.*\n)*.*the reason`,
		`(?m)^1 package\(s\) failed$`,
		`tests: 1 passed, 1 failed, 0 skipped\n$`, // the closing line, last
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("output lacks %s:\n%s", re, got)
		}
	}
	if strings.Contains(got, "TestGood") {
		t.Errorf("output of a passing package printed:\n%s", got)
	}
}

func TestReportPassesOtherLinesThrough(t *testing.T) {
	var b strings.Builder
	in := "# example.com/x\nvet: something\n" +
		`{"Action":"start","Package":"p"}` + "\n" +
		`{"Action":"pass","Package":"p","Elapsed":0.5}` + "\n"
	if code := report(strings.NewReader(in), &b); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if !strings.HasPrefix(b.String(), "# example.com/x\nvet: something\n") || !strings.Contains(b.String(), "ok   p (0.5s)") {
		t.Errorf("output:\n%s", b.String())
	}
}

func mkdirWrite(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
