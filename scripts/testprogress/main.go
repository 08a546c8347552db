// Command testprogress reads `go test -json` events on stdin and prints a
// line per package as soon as it starts and as soon as it ends, with the
// output of a package that failed. `go test` without -json prints its
// per-package results in import-path order, so one slow package early in
// the order hides every later result; scripts/test.sh pipes the suite
// through this instead. It exits 1 when a package or build failed, 0 when
// everything passed, 2 when stdin is not go test -json output.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	os.Exit(report(os.Stdin, os.Stdout))
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	Elapsed    float64
	ImportPath string // build-output and build-fail events
}

// report prints the progress of the events read from r and returns the
// exit code.
func report(r io.Reader, w io.Writer) int {
	out := map[string]*strings.Builder{} // output of each package, printed if it fails
	buf := func(pkg string) *strings.Builder {
		b := out[pkg]
		if b == nil {
			b = &strings.Builder{}
			out[pkg] = b
		}
		return b
	}
	started := time.Now()
	failed := 0
	var tests struct{ passed, failed, skipped int } // tests and subtests

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // go vet or go itself speaking
			continue
		}
		switch e.Action {
		case "build-output":
			buf(e.ImportPath).WriteString(e.Output)
		case "build-fail":
			failed++
			fmt.Fprintf(w, "FAIL build %s\n%s", e.ImportPath, out[e.ImportPath].String())
		case "start":
			fmt.Fprintf(w, "%6s  run  %s\n", since(started), e.Package)
		case "output":
			buf(e.Package).WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test != "" {
				switch e.Action {
				case "pass":
					tests.passed++
				case "fail":
					tests.failed++
				default:
					tests.skipped++
				}
				continue
			}
			switch e.Action {
			case "pass":
				fmt.Fprintf(w, "%6s  ok   %s (%.1fs)\n", since(started), e.Package, e.Elapsed)
			case "skip":
				fmt.Fprintf(w, "%6s  --   %s (no tests)\n", since(started), e.Package)
			default:
				failed++
				fmt.Fprintf(w, "%6s  FAIL %s (%.1fs)\n%s", since(started), e.Package, e.Elapsed, out[e.Package].String())
			}
			delete(out, e.Package)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "testprogress: reading go test -json: %v\n", err)
		return 2
	}
	if failed > 0 {
		fmt.Fprintf(w, "%d package(s) failed\n", failed)
	}
	// The closing line in the form CI systems read.
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", tests.passed, tests.failed, tests.skipped)
	if failed > 0 {
		return 1
	}
	return 0
}

func since(t time.Time) string {
	return time.Since(t).Truncate(time.Second).String()
}
