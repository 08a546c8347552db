package mogfs_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pjdfstest (the POSIX conformance suite, github.com/pjd/pjdfstest) runs
// on a real mount by TestPJDFSTest. The environment variables below shape
// the run; none is needed in CI.
const (
	// pjdReportEnv names a file that receives the per-group table.
	pjdReportEnv = "MOGFS_PJDFSTEST_REPORT"
	// pjdUpdateEnv=1 rewrites the expected-failure list from the run.
	pjdUpdateEnv = "MOGFS_PJDFSTEST_UPDATE"
	// pjdJobsEnv sets how many .t files run at once (default 4).
	pjdJobsEnv = "MOGFS_PJDFSTEST_JOBS"
	// pjdFileTimeoutEnv bounds one .t file (a Go duration, default 4m;
	// tests/chown/00.t, the longest, sleeps 84 s and takes about 100 s).
	pjdFileTimeoutEnv = "MOGFS_PJDFSTEST_FILE_TIMEOUT"
	// pjdRunEnv, a regular expression, runs only the matching files
	// (e.g. "tests/chmod/"); the expected-failure list is then checked
	// for those files only, and cannot be rewritten.
	pjdRunEnv = "MOGFS_PJDFSTEST_RUN"
	// pjdTAPDirEnv names a directory that receives every file's output:
	// GROUP-NN.tap (its TAP) and GROUP-NN.err (its stderr).
	pjdTAPDirEnv = "MOGFS_PJDFSTEST_TAP_DIR"
)

// pjdExpectedFile is the checked-in list of subtests known to fail.
const pjdExpectedFile = "testdata/pjdfstest-expected-failures.txt"

// TestPJDFSTest builds the pinned pjdfstest (../shared/pjdfstest from the
// repository root), mounts mogfs with --allow-other on a cluster of a
// SQLite tracker and two storage nodes, runs every .t file of every group
// in a fresh directory of the mount, and compares the failing subtests
// with the checked-in expected-failure list: a failure not on the list
// fails the test, a listed subtest that passes is logged so the list can
// shrink. It needs root (pjdfstest switches users and changes owners) and
// the build tools; without them it is skipped, loudly, unless CI=true.
func TestPJDFSTest(t *testing.T) { pjdSuite(t) }

// TestPJDFSTestOpenCache runs the same suite, against the same list, on a
// mount with --open-cache: whatever the mount trusts of the tracker's
// last answers, what it changes itself must show at once. The list is
// rewritten, and the report and TAP written, by TestPJDFSTest alone.
func TestPJDFSTestOpenCache(t *testing.T) {
	if os.Getenv(pjdUpdateEnv) == "1" {
		t.Skipf("%s=1: the list is TestPJDFSTest's", pjdUpdateEnv)
	}
	pjdSuite(t, "--open-cache=1h")
}

// pjdSuite is TestPJDFSTest on a mount with the extra flags mountArgs.
func pjdSuite(t *testing.T, mountArgs ...string) {
	t.Parallel()
	var filter *regexp.Regexp
	if s := os.Getenv(pjdRunEnv); s != "" {
		var err error
		if filter, err = regexp.Compile(s); err != nil {
			t.Fatalf("%s: %v", pjdRunEnv, err)
		}
	}
	update := os.Getenv(pjdUpdateEnv) == "1"
	if update && filter != nil {
		t.Fatalf("%s=1 rewrites the whole list: it cannot go with %s", pjdUpdateEnv, pjdRunEnv)
	}
	expected, err := readExpectedFailures(pjdExpectedFile)
	if err != nil && !(update && errors.Is(err, os.ErrNotExist)) {
		t.Fatal(err)
	}
	jobs := 4
	if s := os.Getenv(pjdJobsEnv); s != "" {
		if jobs, err = strconv.Atoi(s); err != nil || jobs < 1 {
			t.Fatalf("%s=%q: want a positive number", pjdJobsEnv, s)
		}
	}
	fileTimeout := 4 * time.Minute
	if s := os.Getenv(pjdFileTimeoutEnv); s != "" {
		if fileTimeout, err = time.ParseDuration(s); err != nil || fileTimeout <= 0 {
			t.Fatalf("%s=%q: want a positive duration", pjdFileTimeoutEnv, s)
		}
	}

	root := buildPJDFSTest(t)
	files, err := filepath.Glob(filepath.Join(root, "tests", "*", "*.t"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tests/*/*.t in %s: %v", root, err)
	}
	slices.Sort(files)
	if filter != nil {
		files = slices.DeleteFunc(files, func(f string) bool { return !filter.MatchString(pjdName(root, f)) })
		if len(files) == 0 {
			t.Fatalf("%s=%q matches no file", pjdRunEnv, filter)
		}
	}

	e := newEnv(t, 2)
	mnt := e.mountFG(t, append([]string{"--domain=" + e.domain, "--allow-other"}, mountArgs...)...)

	start := time.Now()
	results := make([]pjdFileResult, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name := pjdName(root, files[i])
				// Leave the cleanup (unmount, processes) a minute of
				// the test binary's -timeout: a mount that hangs every
				// file must end in a failure with a report, not in a
				// panic of the whole package.
				timeout := fileTimeout
				if dl, ok := t.Deadline(); ok {
					timeout = min(timeout, time.Until(dl)-time.Minute)
				}
				if timeout <= 0 {
					results[i] = pjdFileResult{Name: name, Planned: 1, Failed: []int{1},
						Diag: map[int]string{1: "not run: the test's -timeout is near"}}
					continue
				}
				// A fresh directory per file, named after it.
				dir := filepath.Join(mnt, pjdFlatName(name))
				if err := os.Mkdir(dir, 0o755); err != nil {
					results[i] = pjdFileResult{Name: name, Planned: 1, Failed: []int{1},
						Diag: map[int]string{1: "mkdir of the test directory: " + err.Error()}}
					continue
				}
				r := runPJDFile(files[i], name, dir, timeout)
				if r.diedSilent() {
					// The shell died before it reported anything (seen
					// once under load: SIGPIPE before its plan line):
					// not a result of mogfs; one more run, in a new
					// directory, decides.
					t.Logf("%s died before reporting anything (%s); running it again", name, strings.TrimSpace(r.Stderr))
					dir += "-again"
					if err := os.Mkdir(dir, 0o755); err == nil {
						r = runPJDFile(files[i], name, dir, timeout)
					}
				}
				results[i] = r
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start).Round(time.Second)

	report := pjdReport(results, elapsed)
	t.Logf("pjdfstest on mogfs %v, %d files in %v (%d at once):\n%s", mountArgs, len(files), elapsed, jobs, report)
	if d := os.Getenv(pjdTAPDirEnv); d != "" && len(mountArgs) == 0 {
		if err := writeTAPDir(d, results); err != nil {
			t.Error(err)
		}
	}
	if p := os.Getenv(pjdReportEnv); p != "" && len(mountArgs) == 0 {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Errorf("write the report: %v", err)
		}
	}
	byTime := slices.Clone(results)
	slices.SortFunc(byTime, func(a, b pjdFileResult) int { return int(b.Elapsed - a.Elapsed) })
	var slow []string
	for _, r := range byTime[:min(5, len(byTime))] {
		slow = append(slow, fmt.Sprintf("%s %v", r.Name, r.Elapsed.Round(time.Second/10)))
	}
	t.Logf("slowest files: %s", strings.Join(slow, ", "))
	for _, r := range results {
		if r.TimedOut {
			t.Logf("%s did not finish within %v: all its %d subtests count as failed", r.Name, fileTimeout, r.Planned)
		}
	}

	if update {
		if err := writeExpectedFailures(pjdExpectedFile, results, expected); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s=1: rewrote %s with %d failing subtests", pjdUpdateEnv, pjdExpectedFile, countFailed(results))
		return
	}
	regressions, fixed := compareExpected(results, expected, filter != nil)
	if len(fixed) > 0 {
		t.Logf("%d subtests on %s now pass; shrink the list (MOGFS_PJDFSTEST_UPDATE=1 go test -run TestPJDFSTest ./mogfs/):\n%s",
			len(fixed), pjdExpectedFile, headLines(fixed, 100))
	}
	if len(regressions) > 0 {
		for _, r := range results {
			if r.Stderr != "" && slices.ContainsFunc(regressions, func(l string) bool { return strings.HasPrefix(l, r.Name+" ") }) {
				t.Logf("%s stderr (last lines):\n%s", r.Name, lastLines(r.Stderr, 10))
			}
		}
		t.Errorf("%d pjdfstest subtests fail that are not on %s (regressions; if a failure is expected, add it to the list):\n%s",
			len(regressions), pjdExpectedFile, headLines(regressions, 200))
	}
}

// needPJD skips the test, loudly, or fails it under CI=true, where the
// suite must run.
func needPJD(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("pjdfstest cannot run but CI=true: %s", msg)
	}
	t.Skipf("SKIPPING pjdfstest: %s", msg)
}

// buildPJDFSTest copies the pinned pjdfstest into a temp dir, builds it
// there and returns the copy's root (holding pjdfstest and tests/).
func buildPJDFSTest(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		needPJD(t, "it needs root (it switches users and changes owners)")
	}
	// Each of these is run by the build or by the .t files.
	for _, tool := range []string{"autoreconf", "automake", "libtoolize", "pkg-config", "make", "cc", "openssl", "awk", "df"} {
		if _, err := exec.LookPath(tool); err != nil {
			needPJD(t, "%s is not installed (scripts/deps.sh installs what the suite needs)", tool)
		}
	}
	// The test runs in mogfs/; ../shared sits beside the repository root.
	src, err := filepath.Abs(filepath.Join("..", "..", "shared", "pjdfstest"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "pjdfstest.c")); err != nil {
		needPJD(t, "the pinned suite is not at ../shared/pjdfstest beside the repository: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "pjdfstest")
	steps := [][]string{
		{"cp", "-R", src, dst},
		// The copy of a read-only tree is read-only: the build writes in it.
		{"chmod", "-R", "u+w", dst},
		{"autoreconf", "-ifs"},
		{"./configure"},
		{"make", "pjdfstest"},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		if s[0] != "cp" {
			cmd.Dir = dst
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build pjdfstest: %s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	return dst
}

// pjdName is a .t file's name relative to the suite's root,
// "tests/chmod/00.t", as the expected-failure list spells it.
func pjdName(root, file string) string {
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return file
	}
	return filepath.ToSlash(rel)
}

// pjdFlatName is a file's name without directories: "chmod-00" for
// "tests/chmod/00.t".
func pjdFlatName(name string) string {
	return strings.NewReplacer("tests/", "", "/", "-", ".t", "").Replace(name)
}

// pjdGroup is the group of a file name: "chmod" for "tests/chmod/00.t".
func pjdGroup(name string) string {
	return strings.TrimPrefix(filepath.ToSlash(filepath.Dir(name)), "tests/")
}

// pjdFileResult is the outcome of one .t file.
type pjdFileResult struct {
	Name     string         // tests/chmod/00.t
	Planned  int            // from its plan line
	Failed   []int          // failing subtest numbers, ascending
	Diag     map[int]string // what a failing subtest said, when it said anything
	TimedOut bool
	Output   []byte // its TAP
	Stderr   string
	Elapsed  time.Duration
}

// diedSilent reports a file that ended, not by the timeout, without a
// single result line.
func (r pjdFileResult) diedSilent() bool {
	return !r.TimedOut && r.Stderr != "" && !bytes.Contains(r.Output, []byte("ok "))
}

// Passed is the number of planned subtests that passed.
func (r pjdFileResult) Passed() int { return r.Planned - len(r.Failed) }

// runPJDFile runs one .t file with dir as working directory, killing its
// whole process group if it outlives timeout.
func runPJDFile(file, name, dir string, timeout time.Duration) pjdFileResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", file)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A child stuck in the filesystem may hold the pipes after the kill.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := parseTAP(name, stdout.Bytes())
	r.Elapsed = time.Since(start)
	r.Output = stdout.Bytes()
	r.Stderr = stderr.String()
	if ctx.Err() != nil {
		// A hung file fails as a whole, whatever it printed before.
		r.TimedOut = true
		r.Failed = r.Failed[:0]
		for n := 1; n <= r.Planned; n++ {
			r.Failed = append(r.Failed, n)
		}
		for n := range r.Diag {
			delete(r.Diag, n)
		}
		r.Diag[1] = fmt.Sprintf("timed out after %v", timeout)
	} else if err != nil && r.Stderr == "" {
		r.Stderr = err.Error()
	}
	return r
}

var (
	tapPlan   = regexp.MustCompile(`^1\.\.(\d+)`)
	tapResult = regexp.MustCompile(`^(not )?ok (\d+)\b\s*(.*)$`)
)

// parseTAP reads the TAP output of one file: the plan "1..N" and the lines
// "ok N" / "not ok N". As in TAP, a "not ok" with a TODO directive is not
// a failure: pjdfstest marks so what POSIX leaves open on this system
// (such as whether chown(-1, -1) updates ctime), and the outcome of some
// of them depends on timing. A
// planned subtest without a line (the file died early) counts as failed; a
// file without a plan counts as the subtests it reported, at least one.
func parseTAP(name string, out []byte) pjdFileResult {
	r := pjdFileResult{Name: name, Diag: map[int]string{}}
	ok := map[int]bool{}
	maxSeen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := tapPlan.FindStringSubmatch(line); m != nil && r.Planned == 0 {
			r.Planned, _ = strconv.Atoi(m[1])
			continue
		}
		m := tapResult.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		maxSeen = max(maxSeen, n)
		todo := strings.HasPrefix(strings.ToUpper(strings.TrimLeft(strings.TrimPrefix(m[3], "-"), " ")), "# TODO")
		if m[1] != "" && !todo {
			ok[n] = false
			if d := strings.TrimPrefix(m[3], "- "); d != "" {
				r.Diag[n] = d
			}
		} else if _, seen := ok[n]; !seen {
			ok[n] = true
		}
	}
	if r.Planned == 0 {
		r.Planned = max(maxSeen, 1)
		if maxSeen == 0 {
			r.Diag[1] = "no TAP output"
		}
	}
	for n := 1; n <= r.Planned; n++ {
		if !ok[n] {
			r.Failed = append(r.Failed, n)
			if _, seen := ok[n]; !seen && r.Diag[n] == "" {
				r.Diag[n] = "no result (the file ended early)"
			}
		}
	}
	return r
}

// pjdReport formats the per-group table: passed and planned subtests.
func pjdReport(results []pjdFileResult, elapsed time.Duration) string {
	type sum struct{ files, passed, planned int }
	groups := map[string]*sum{}
	var order []string
	var total sum
	for _, r := range results {
		g := pjdGroup(r.Name)
		if groups[g] == nil {
			groups[g] = &sum{}
			order = append(order, g)
		}
		for _, s := range []*sum{groups[g], &total} {
			s.files++
			s.passed += r.Passed()
			s.planned += r.Planned
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# pjdfstest on mogfs: %d files, %v\n", total.files, elapsed)
	fmt.Fprintf(&b, "%-16s %5s %7s %7s\n", "group", "files", "passed", "planned")
	for _, g := range order {
		s := groups[g]
		fmt.Fprintf(&b, "%-16s %5d %7d %7d\n", g, s.files, s.passed, s.planned)
	}
	fmt.Fprintf(&b, "%-16s %5d %7d %7d\n", "total", total.files, total.passed, total.planned)
	return b.String()
}

func countFailed(results []pjdFileResult) int {
	n := 0
	for _, r := range results {
		n += len(r.Failed)
	}
	return n
}

// pjdKey names one subtest: "tests/chmod/00.t 12".
type pjdKey struct {
	File string
	N    int
}

func (k pjdKey) String() string { return k.File + " " + strconv.Itoa(k.N) }

// pjdExpected is the expected-failure list.
type pjdExpected map[pjdKey]pjdEntry

// pjdEntry is one line of the list.
type pjdEntry struct {
	// Flaky marks a subtest that fails on some runs only: either
	// outcome is accepted and neither is reported.
	Flaky bool
	Note  string // the line's comment, without "#"
}

// readExpectedFailures reads the expected-failure list: one subtest per
// line as "FILE N", or "FILE N flaky"; "#" starts a comment, blank lines
// are ignored.
func readExpectedFailures(path string) (pjdExpected, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the expected-failure list: %w", err)
	}
	out := pjdExpected{}
	for i, line := range strings.Split(string(b), "\n") {
		note := ""
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line, note = line[:c], strings.TrimSpace(line[c+1:])
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		flaky := len(f) == 3 && f[2] == "flaky"
		if flaky {
			f = f[:2]
		}
		n, err := strconv.Atoi(f[len(f)-1])
		if len(f) != 2 || err != nil || n < 1 {
			return nil, fmt.Errorf("%s:%d: want \"tests/GROUP/NN.t N\" or \"tests/GROUP/NN.t N flaky\", have %q", path, i+1, line)
		}
		out[pjdKey{f[0], n}] = pjdEntry{Flaky: flaky, Note: note}
	}
	return out, nil
}

// compareExpected returns the failures missing from the list
// (regressions) and the listed subtests, not marked flaky, that passed.
// With partial, listed subtests of files that did not run are not
// reported.
func compareExpected(results []pjdFileResult, expected pjdExpected, partial bool) (regressions, fixed []string) {
	ran := map[string]bool{}
	failed := map[pjdKey]bool{}
	for _, r := range results {
		ran[r.Name] = true
		for _, n := range r.Failed {
			k := pjdKey{r.Name, n}
			failed[k] = true
			if _, listed := expected[k]; !listed {
				line := k.String()
				if d := r.Diag[n]; d != "" {
					line += " - " + d
				}
				regressions = append(regressions, line)
			}
		}
	}
	var keys []pjdKey
	for k, e := range expected {
		if !e.Flaky && !failed[k] && (ran[k.File] || !partial) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, comparePJDKeys)
	for _, k := range keys {
		fixed = append(fixed, k.String())
	}
	return regressions, fixed
}

func comparePJDKeys(a, b pjdKey) int {
	if c := strings.Compare(a.File, b.File); c != 0 {
		return c
	}
	return a.N - b.N
}

// pjdRandomName matches what differs on every run in what a subtest
// says: the names pjdfstest makes up (namegen: an MD5 in hex, with or
// without its "pjdfstest_" prefix), inode numbers and times. The list
// shows them as N so that rewriting it changes only what changed.
var pjdRandomName = regexp.MustCompile(`(pjdfstest_)?[0-9a-f]{32,}|-?\b[0-9]{9,}\b`)

// writeExpectedFailures rewrites the expected-failure list from results:
// per file a comment with its count, then one line per failing subtest
// with what it tried and got as a comment. The subtests the old list
// marks flaky stay on it, still marked and with their comment, whether
// they failed or not.
func writeExpectedFailures(path string, results []pjdFileResult, old pjdExpected) error {
	var b strings.Builder
	b.WriteString(`# Subtests of pjdfstest (../shared/pjdfstest) that fail on mogfs today, as
# "FILE N": TestPJDFSTest fails when a subtest not listed here fails, and
# logs listed subtests that pass. Rewrite it from a run with
#   MOGFS_PJDFSTEST_UPDATE=1 go test -count=1 -run TestPJDFSTest ./mogfs/
# (as root). "FILE N flaky" marks a subtest that fails on some runs only
# (mark it by hand; a rewrite keeps the mark). After "#": what the subtest
# tried and got, with pjdfstest's random names, inodes and times as N.
`)
	// Flaky subtests by file, so that they appear in their file's block.
	flaky := map[string][]int{}
	for k, e := range old {
		if e.Flaky {
			flaky[k.File] = append(flaky[k.File], k.N)
		}
	}
	for _, r := range results {
		failed := map[int]bool{}
		nums := slices.Clone(r.Failed)
		for _, n := range r.Failed {
			failed[n] = true
		}
		for _, n := range flaky[r.Name] {
			if !failed[n] {
				nums = append(nums, n)
			}
		}
		delete(flaky, r.Name)
		if len(nums) == 0 {
			continue
		}
		slices.Sort(nums)
		fmt.Fprintf(&b, "\n# %s: %d of %d fail", r.Name, len(r.Failed), r.Planned)
		if r.TimedOut {
			b.WriteString(" (it timed out)")
		}
		b.WriteString("\n")
		for _, n := range nums {
			line := fmt.Sprintf("%s %d", r.Name, n)
			if e := old[pjdKey{r.Name, n}]; e.Flaky {
				line += " flaky"
				if e.Note != "" {
					b.WriteString(line + "  # " + e.Note + "\n")
					continue
				}
			}
			if d := r.Diag[n]; d != "" && !r.TimedOut {
				d = pjdRandomName.ReplaceAllString(d, "N")
				if len(d) > 160 {
					d = d[:157] + "..."
				}
				line += "  # " + d
			}
			b.WriteString(line + "\n")
		}
	}
	// Flaky subtests of files that did not run (or no longer exist).
	var rest []pjdKey
	for f, nums := range flaky {
		for _, n := range nums {
			rest = append(rest, pjdKey{f, n})
		}
	}
	slices.SortFunc(rest, comparePJDKeys)
	if len(rest) > 0 {
		b.WriteString("\n# flaky subtests of files that did not run\n")
	}
	for _, k := range rest {
		line := k.String() + " flaky"
		if e := old[k]; e.Note != "" {
			line += "  # " + e.Note
		}
		b.WriteString(line + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the expected-failure list: %w", err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write the expected-failure list: %w", err)
	}
	return nil
}

// writeTAPDir writes each file's output into dir.
func writeTAPDir(dir string, results []pjdFileResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("TAP directory: %w", err)
	}
	for _, r := range results {
		base := filepath.Join(dir, pjdFlatName(r.Name))
		if err := os.WriteFile(base+".tap", r.Output, 0o644); err != nil {
			return fmt.Errorf("TAP directory: %w", err)
		}
		if err := os.WriteFile(base+".err", []byte(r.Stderr), 0o644); err != nil {
			return fmt.Errorf("TAP directory: %w", err)
		}
	}
	return nil
}

// headLines joins the first n lines, saying how many more there are.
func headLines(lines []string, n int) string {
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n... and %d more", len(lines)-n)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestParseTAP: plans, results, a file that died early, one without a
// plan, and "not ok" with a TODO directive.
func TestParseTAP(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, out       string
		planned         int
		failed          []int
		diag1, diagLast string
	}{
		{"all pass", "1..3\nok 1\nok 2\nok 3\n", 3, nil, "", ""},
		{"failures", "1..3\nok 1\nnot ok 2 - tried 'x', expected 0, got EPERM\nnot ok 3\n", 3, []int{2, 3}, "tried 'x', expected 0, got EPERM", ""},
		{"died early", "1..4\nok 1\nok 2\n", 4, []int{3, 4}, "no result (the file ended early)", "no result (the file ended early)"},
		{"plan at the end", "ok 1\nnot ok 2\n1..2\n", 2, []int{2}, "", ""},
		{"no plan", "ok 1\nnot ok 2\n", 2, []int{2}, "", ""},
		{"no output", "not ok - could not source configuration file\n", 1, []int{1}, "no TAP output", "no TAP output"},
		{"todo", "1..3\nok 1 # TODO known\nnot ok 2 # TODO known\nnot ok 3 - # todo known\n", 3, nil, "", ""},
		{"reported twice", "1..1\nok 1\nnot ok 1\n", 1, []int{1}, "", ""},
		{"noise", "1..2\nstat returned -1\nok 1\nok 10\nok 2\n", 2, nil, "", ""},
	} {
		r := parseTAP("tests/x/00.t", []byte(c.out))
		if r.Planned != c.planned || !slices.Equal(r.Failed, c.failed) {
			t.Errorf("%s: planned %d, failed %v; want %d, %v", c.name, r.Planned, r.Failed, c.planned, c.failed)
			continue
		}
		if len(c.failed) > 0 {
			if got := r.Diag[c.failed[0]]; got != c.diag1 {
				t.Errorf("%s: first failure says %q, want %q", c.name, got, c.diag1)
			}
			if got := r.Diag[c.failed[len(c.failed)-1]]; c.diagLast != "" && got != c.diagLast {
				t.Errorf("%s: last failure says %q, want %q", c.name, got, c.diagLast)
			}
		}
		if r.Passed() != c.planned-len(c.failed) {
			t.Errorf("%s: passed %d", c.name, r.Passed())
		}
	}
}

// TestExpectedFailureList: a rewritten list reads back as the failures of
// the run plus the flaky marks of the old list, and the comparison finds
// regressions and listed subtests that pass, but says nothing of flaky
// ones.
func TestExpectedFailureList(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "list.txt")
	old := pjdExpected{{"tests/a/00.t", 3}: {Flaky: true, Note: "timing"}, {"tests/b/00.t", 1}: {}, {"tests/gone/00.t", 2}: {Flaky: true}}
	results := []pjdFileResult{
		{Name: "tests/a/00.t", Planned: 5, Failed: []int{1, 4},
			Diag: map[int]string{1: "tried 'mkdir pjdfstest_0123456789abcdef0123456789abcdef 0755', expected 0, got EPERM"}},
		{Name: "tests/b/00.t", Planned: 2, Diag: map[int]string{}},
	}
	if err := writeExpectedFailures(path, results, old); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "tests/a/00.t 1  # tried 'mkdir N 0755', expected 0, got EPERM\n") {
		t.Errorf("the list does not show the failure with its random name as N:\n%s", b)
	}
	got, err := readExpectedFailures(path)
	if err != nil {
		t.Fatal(err)
	}
	want := pjdExpected{{"tests/a/00.t", 1}: {Note: "tried 'mkdir N 0755', expected 0, got EPERM"}, {"tests/a/00.t", 3}: {Flaky: true, Note: "timing"},
		{"tests/a/00.t", 4}: {}, {"tests/gone/00.t", 2}: {Flaky: true}}
	if len(got) != len(want) {
		t.Fatalf("read back %v, want %v\n%s", got, want, b)
	}
	for k, f := range want {
		if g, ok := got[k]; !ok || g != f {
			t.Errorf("read back %v, want %v\n%s", got, want, b)
			break
		}
	}

	// tests/a/00.t 4 now passes, 2 newly fails, flaky 3 fails.
	now := []pjdFileResult{{Name: "tests/a/00.t", Planned: 5, Failed: []int{1, 2, 3}, Diag: map[int]string{2: "got EIO"}}}
	reg, fixed := compareExpected(now, got, true)
	if !slices.Equal(reg, []string{"tests/a/00.t 2 - got EIO"}) || !slices.Equal(fixed, []string{"tests/a/00.t 4"}) {
		t.Errorf("partial run: regressions %q, fixed %q", reg, fixed)
	}
	got[pjdKey{"tests/c/00.t", 7}] = pjdEntry{}
	if _, fixed := compareExpected(now, got, false); !slices.Equal(fixed, []string{"tests/a/00.t 4", "tests/c/00.t 7"}) {
		t.Errorf("whole run: fixed %q", fixed)
	}

	for _, bad := range []string{"tests/a/00.t\n", "tests/a/00.t x\n", "tests/a/00.t 0\n", "tests/a/00.t 1 sometimes\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readExpectedFailures(path); err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
}
