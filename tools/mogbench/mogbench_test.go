package mogbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
	"github.com/mogilefs-go/mogilefs/tools/mogbench"
)

type result struct {
	code     int
	out, err string
	rep      mogbench.Report
}

// run runs mogbench in-process with a private HOME; with --json in args
// the report is decoded.
func run(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	home := t.TempDir()
	env := &cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return map[string]string{"HOME": home}[k] },
	}
	code := mogbench.Main(mogtest.Context(t), env, args)
	r := result{code: code, out: out.String(), err: errb.String()}
	if slices.Contains(args, "--json") && out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &r.rep); err != nil {
			t.Fatalf("bad JSON report: %v\n%s", err, out.String())
		}
	}
	return r
}

func phase(t *testing.T, r result, name string) mogbench.PhaseResult {
	t.Helper()
	for _, p := range r.rep.Phases {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no phase %q in the report:\n%s", name, r.out)
	return mogbench.PhaseResult{}
}

// checkPhase checks a phase that should have done ops operations without
// errors, moving bytes bytes.
func checkPhase(t *testing.T, p mogbench.PhaseResult, ops, bytes int64) {
	t.Helper()
	if p.Ops != ops || p.Errors != 0 || p.VerifyErrors != 0 || p.Bytes != bytes || p.Interrupted {
		t.Fatalf("phase %s: ops %d errors %d verify %d bytes %d, want ops %d bytes %d; samples %q",
			p.Name, p.Ops, p.Errors, p.VerifyErrors, p.Bytes, ops, bytes, p.ErrorSamples)
	}
	if p.Seconds <= 0 || p.FilesPerSec <= 0 || (bytes > 0 && p.MiBPerSec <= 0) {
		t.Fatalf("phase %s: seconds %v files/s %v MiB/s %v", p.Name, p.Seconds, p.FilesPerSec, p.MiBPerSec)
	}
	if got := float64(p.Ops) / p.Seconds; got != p.FilesPerSec {
		t.Fatalf("phase %s: files/s %v, ops/seconds %v", p.Name, p.FilesPerSec, got)
	}
	l := p.Latency
	if l == nil || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max || l.Mean <= 0 || l.Mean > l.Max {
		t.Fatalf("phase %s: latency %+v", p.Name, l)
	}
	// No operation can take longer than the phase.
	if l.Max > p.Seconds*1000 {
		t.Fatalf("phase %s: max latency %v ms in a %v s phase", p.Name, l.Max, p.Seconds)
	}
}

func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func newClient(t *testing.T, addr, domain string) *client.Client {
	t.Helper()
	// A generous reply timeout: the tests check results, not speed, and a
	// loaded machine can hold a create_close past the original's 3 s.
	c, err := client.New(client.Config{Domain: domain, Trackers: []string{addr}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFilesModeWritesReadsAndVerifies(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "bench", Classes: map[string]int{"one": 1}})
	const n = 300
	r := run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "--class=one", "-n", strconv.Itoa(n), "-c", "8", "--json",
		"--procs=mogilefsd="+strconv.Itoa(cl.Tracker.Proc.Cmd.Process.Pid))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	rep := r.rep
	if rep.Mode != "files" || rep.Files != n || rep.Concurrency != 8 || rep.Size != 4096 || rep.SizeJitter != 64 ||
		rep.Domain != "bench" || rep.Class != "one" || rep.Errors != 0 || len(rep.Phases) != 2 ||
		!strings.HasPrefix(rep.Prefix, "mogbench/") || len(rep.Trackers) != 1 || rep.Started.IsZero() {
		t.Fatalf("report: %+v", rep)
	}
	content := mogbench.NewContent(rep.Seed, rep.Size, rep.SizeJitter)
	total := content.TotalSize(indices(n))
	checkPhase(t, phase(t, r, "write"), n, total)
	checkPhase(t, phase(t, r, "read"), n, total)
	// The CPU time of the tracker and of mogbench itself, per phase.
	w := phase(t, r, "write")
	if _, ok := w.CPUms["mogilefsd"]; !ok || w.CPUms["mogilefsd"]+w.CPUms["mogbench"] <= 0 ||
		w.CPUusPerOp["mogilefsd"] != w.CPUms["mogilefsd"]*1000/n {
		t.Fatalf("write phase CPU: %v ms, %v µs per file", w.CPUms, w.CPUusPerOp)
	}

	// What is stored is what the content generator says, so the read
	// phase's verification compared real bytes with the right ones.
	c := newClient(t, cl.Tracker.Addr, "bench")
	ctx := mogtest.Context(t)
	for _, i := range []int{0, 1, 150, n - 1} {
		got, err := c.GetBytes(ctx, rep.Prefix+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, content.Size(i))
		content.Fill(i, 0, want)
		if !bytes.Equal(got, want) {
			t.Fatalf("file %d as stored differs from its content", i)
		}
	}
	keys := 0
	for _, err := range c.Keys(ctx, rep.Prefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys++
	}
	if keys != n {
		t.Fatalf("%d keys under %s, want %d", keys, rep.Prefix, n)
	}

	// The table for people names the phases and the settings.
	r = run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "-n", "20", "-c", "2", "--size=1KiB", "--size-jitter=0", "--delete")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"mogbench files: 20 files of 1024 bytes, concurrency 2, domain bench, class default",
		"\nwrite ", "\nread ", "\ndelete ", "p99 ms", "fast path auto", "served: writes three-step 20", "tracker commands"} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("table lacks %q:\n%s", want, r.out)
		}
	}
	if r.err != "" {
		t.Fatalf("stderr without a terminal: %q", r.err)
	}
}

// fidFiles returns the stored .fid files under the nodes' docroots.
func fidFiles(t *testing.T, cl *mogtest.Cluster) []string {
	t.Helper()
	var out []string
	for _, n := range cl.Nodes {
		filepath.WalkDir(n.DocRoot, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".fid") {
				out = append(out, p)
			}
			return nil
		})
	}
	slices.Sort(out)
	return out
}

func TestReadModeCatchesCorruptionOnDisk(t *testing.T) {
	// Through the three-step path and get_paths, and through the fast
	// path (/_put, /_key served by the node holding the copy).
	for _, fastpath := range []string{"off", "only"} {
		t.Run(fastpath, func(t *testing.T) { testCorruptionOnDisk(t, fastpath) })
	}
}

func testCorruptionOnDisk(t *testing.T, fastpath string) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "bench", Classes: map[string]int{"one": 1}, FastPath: fastpath == "only"})
	if fastpath == "only" {
		cl.WaitFastPath(t)
	}
	common := []string{"--trackers=" + cl.Tracker.Addr, "--domain=bench", "--class=one", "-n", "40", "-c", "4",
		"--prefix=c/", "--seed=12345", "--json", "--fastpath=" + fastpath}
	w := run(t, append([]string{"--mode=write"}, common...)...)
	if w.code != 0 || len(w.rep.Phases) != 1 || w.rep.Seed != 12345 || w.rep.Prefix != "c/" || w.rep.FastPath != fastpath {
		t.Fatalf("write: exit %d\n%s\n%s", w.code, w.out, w.err)
	}
	if s := w.rep.Phases[0].Served; fastpath == "only" && s.FastPathPuts != 40 || fastpath == "off" && s.ThreeStepPuts != 40 {
		t.Fatalf("write served %+v", s)
	}
	files := fidFiles(t, cl)
	if len(files) != 40 {
		t.Fatalf("%d .fid files on disk, want 40", len(files))
	}
	// Flip one byte in the header of one file and one in the body of
	// another, and cut a third short.
	flip := func(p string, at int64) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[at] ^= 0x80
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flip(files[3], 2)
	flip(files[17], 3000)
	if err := os.Truncate(files[29], 100); err != nil {
		t.Fatal(err)
	}

	r := run(t, append([]string{"--mode=read"}, common...)...)
	if r.code != cli.ExitFail {
		t.Fatalf("read of corrupted files: exit %d, want %d\n%s", r.code, cli.ExitFail, r.err)
	}
	p := phase(t, r, "read")
	if p.Ops != 37 || p.Errors != 3 || p.VerifyErrors != 3 || r.rep.Errors != 3 || len(p.ErrorSamples) != 3 {
		t.Fatalf("read phase: %+v", p)
	}
	if s := p.Served; fastpath == "only" && s.KeyReads != 40 || fastpath == "off" && s.PathLookups != 40 {
		t.Fatalf("read served %+v", s)
	}
	for _, s := range p.ErrorSamples {
		if !strings.Contains(s, "content differs") {
			t.Fatalf("error sample %q", s)
		}
	}
	// A read with the wrong seed verifies nothing.
	bad := run(t, "--mode=read", "--trackers="+cl.Tracker.Addr, "--domain=bench", "-n", "40", "--prefix=c/", "--seed=54321", "--json")
	if bad.code != cli.ExitFail || phase(t, bad, "read").VerifyErrors != 40 {
		t.Fatalf("read with another seed: exit %d, %+v", bad.code, bad.rep.Phases)
	}
}

func TestTrackerModes(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "bench", Classes: map[string]int{"one": 1}})
	r := run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "--class=one", "--mode=tracker-paths",
		"-n", "150", "-c", "6", "--delete", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if names := []string{r.rep.Phases[0].Name, r.rep.Phases[1].Name, r.rep.Phases[2].Name}; len(r.rep.Phases) != 3 ||
		!slices.Equal(names, []string{"create", "paths", "delete"}) {
		t.Fatalf("phases %+v", r.rep.Phases)
	}
	if r.rep.Size != 0 || r.rep.SizeJitter != 0 {
		t.Fatalf("tracker modes store empty files, report says %d+%d bytes", r.rep.Size, r.rep.SizeJitter)
	}
	create := phase(t, r, "create")
	checkPhase(t, create, 150, 0)
	tl := create.TrackerLatency
	if tl == nil || tl.P50 <= 0 || tl.P50 > tl.P99 || tl.Max > create.Latency.Max {
		t.Fatalf("tracker latency %+v beside %+v", tl, create.Latency)
	}
	checkPhase(t, phase(t, r, "paths"), 150, 0)
	checkPhase(t, phase(t, r, "delete"), 150, 0)
	c := newClient(t, cl.Tracker.Addr, "bench")
	for _, err := range c.Keys(mogtest.Context(t), r.rep.Prefix) {
		t.Fatalf("a key is left after --delete (err %v)", err)
	}

	// An unknown domain fails every operation and says why.
	r = run(t, "--trackers="+cl.Tracker.Addr, "--domain=nope", "--mode=tracker-create", "-n", "5", "--json")
	if r.code != cli.ExitFail || phase(t, r, "create").Errors != 5 ||
		!strings.Contains(strings.Join(phase(t, r, "create").ErrorSamples, " "), "unreg_domain") {
		t.Fatalf("unknown domain: exit %d %+v", r.code, r.rep.Phases)
	}
}

func TestReplicationWait(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 2, Domain: "bench", Classes: map[string]int{"two": 2}})
	ctx := mogtest.Context(t)
	c := newClient(t, cl.Tracker.Addr, "bench")
	if f, err := mogbench.MaxCommittedFID(ctx, c); err != nil || f != 0 {
		t.Fatalf("highest fid of an empty cluster: %d, %v", f, err)
	}
	// Some files before the run, so that the fid search has work to do.
	var before int64
	for i := 0; i < 37; i++ {
		if _, err := c.StoreBytes(ctx, "pre"+strconv.Itoa(i), "", []byte("x")); err != nil {
			t.Fatal(err)
		}
		fi, err := c.FileInfo(ctx, "pre"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		before = max(before, fi.FID)
	}
	if f, err := mogbench.MaxCommittedFID(ctx, c); err != nil || f != before {
		t.Fatalf("highest fid: %d, %v; want %d", f, err, before)
	}
	// Gaps in the fids (deleted files), the highest one deleted too.
	fids := map[int]int64{}
	for i := 0; i < 37; i++ {
		fi, err := c.FileInfo(ctx, "pre"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		fids[i] = fi.FID
	}
	for _, i := range []int{3, 4, 5, 20, 21, 22, 23, 35, 36} {
		if err := c.Delete(ctx, "pre"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if f, err := mogbench.MaxCommittedFID(ctx, c); err != nil || f != fids[34] {
		t.Fatalf("highest fid after deletes: %d, %v; want %d", f, err, fids[34])
	}

	const n = 60
	r := run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "--class=two", "--mode=write",
		"-n", strconv.Itoa(n), "-c", "4", "--replication-wait=90s", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if len(r.rep.Phases) != 2 || r.rep.Phases[1].Name != "replication" {
		t.Fatalf("phases %+v", r.rep.Phases)
	}
	rp := phase(t, r, "replication")
	if rp.Ops != n || rp.Errors != 0 || rp.MinDevCount != 2 || rp.Rounds < 1 || rp.Seconds <= 0 || rp.Seconds > 90 {
		t.Fatalf("replication phase %+v", rp)
	}
	// Every file really has two copies.
	for i := 0; i < n; i++ {
		fi, err := c.FileInfo(ctx, r.rep.Prefix+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if fi.DevCount < 2 || fi.FID <= before {
			t.Fatalf("file %d: devcount %d fid %d (highest before %d)", i, fi.DevCount, fi.FID, before)
		}
	}
}

func TestBigMode(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "bench"})
	r := run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "--mode=big", "-n", "6", "--size=700KiB", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if r.rep.Concurrency != 4 || r.rep.Size != 700<<10 {
		t.Fatalf("big mode defaults: concurrency %d size %d", r.rep.Concurrency, r.rep.Size)
	}
	total := mogbench.NewContent(r.rep.Seed, r.rep.Size, r.rep.SizeJitter).TotalSize(indices(6))
	checkPhase(t, phase(t, r, "write"), 6, total)
	checkPhase(t, phase(t, r, "read"), 6, total)
}

func TestDirModes(t *testing.T) {
	dir := t.TempDir()
	r := run(t, "--mode=dir", "--dir="+dir, "-n", "120", "-c", "4", "--big-size=3MiB", "--delete", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	content := mogbench.NewContent(r.rep.Seed, 4096, 64)
	checkPhase(t, phase(t, r, "dir-write"), 120, content.TotalSize(indices(120)))
	checkPhase(t, phase(t, r, "dir-read"), 120, content.TotalSize(indices(120)))
	checkPhase(t, phase(t, r, "dir-big-write"), 1, 3<<20)
	checkPhase(t, phase(t, r, "dir-big-read"), 1, 3<<20)
	checkPhase(t, phase(t, r, "dir-delete"), 121, 0)
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left behind after --delete: %v", left)
	}

	// Written in one run, damaged, read in another.
	common := []string{"--dir=" + dir, "--prefix=sub", "--seed=777", "-n", "30", "--big-size=1MiB", "--json"}
	if w := run(t, append([]string{"--mode=dir-write"}, common...)...); w.code != 0 {
		t.Fatalf("dir-write: exit %d\n%s", w.code, w.err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sub", "f9"))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	os.WriteFile(filepath.Join(dir, "sub", "f9"), b, 0o644)
	os.Remove(filepath.Join(dir, "sub", "f20"))
	rd := run(t, append([]string{"--mode=dir-read"}, common...)...)
	p := phase(t, rd, "dir-read")
	if rd.code != cli.ExitFail || p.Ops != 28 || p.Errors != 2 || p.VerifyErrors != 1 {
		t.Fatalf("dir-read of damaged files: exit %d %+v", rd.code, p)
	}
	checkPhase(t, phase(t, rd, "dir-big-read"), 1, 1<<20)
}

func TestDirCreate(t *testing.T) {
	dir := t.TempDir()
	r := run(t, "--mode=dir-create", "--dir="+dir, "--prefix=e", "-n", "50", "-c", "2", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	checkPhase(t, phase(t, r, "dir-create"), 50, 0)
	ents, err := os.ReadDir(filepath.Join(dir, "e"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 50 {
		t.Fatalf("%d files created, want 50", len(ents))
	}
	for _, e := range ents {
		if fi, err := e.Info(); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			t.Fatalf("%s: %v, %v", e.Name(), fi, err)
		}
	}

	// A name that exists is not a creation: it counts as an error, and
	// its content stays. --delete removes what was created.
	if err := os.Mkdir(filepath.Join(dir, "e2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "e2", "f7"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "--mode=dir-create", "--dir="+dir, "--prefix=e2", "-n", "10", "--delete", "--json")
	p := phase(t, r, "dir-create")
	if r.code != cli.ExitFail || p.Ops != 9 || p.Errors != 1 {
		t.Fatalf("create over an existing name: exit %d %+v", r.code, p)
	}
	checkPhase(t, phase(t, r, "dir-delete"), 9, 0)
	if b, err := os.ReadFile(filepath.Join(dir, "e2", "f7")); err != nil || string(b) != "kept" {
		t.Fatalf("existing file: %q, %v", b, err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--mode=bogus", "--trackers=127.0.0.1:1", "--domain=d"}, `Unknown --mode "bogus"`},
		{[]string{"--mode=read", "--trackers=127.0.0.1:1", "--domain=d"}, "give its --prefix and --seed"},
		{[]string{"-n", "0", "--trackers=127.0.0.1:1", "--domain=d"}, "-n must be between 1 and"},
		{[]string{"-n", "2000000000", "--trackers=127.0.0.1:1", "--domain=d"}, "-n must be between 1 and"},
		{[]string{"--concurrency=-3", "--trackers=127.0.0.1:1", "--domain=d"}, "-c must be between 1 and"},
		{[]string{"--size=4 parsecs", "--trackers=127.0.0.1:1", "--domain=d"}, "Bad --size"},
		{[]string{"--mode=dir"}, "needs --dir"},
		{[]string{"--mode=dir", "--dir=/tmp", "--prefix=../up"}, "must be a relative path"},
		{[]string{"--domain=d"}, "No trackers given"},
		{[]string{"--procs=tracker", "--trackers=127.0.0.1:1", "--domain=d"}, "Bad --procs"},
		{[]string{"--trackers=127.0.0.1:1"}, "No domain given"},
		{[]string{"--mode=read", "--prefix=x", "--seed=1", "--replication-wait=1s", "--trackers=127.0.0.1:1", "--domain=d"}, "needs a mode that writes"},
	} {
		r := run(t, tc.args...)
		if r.code != cli.ExitDie || !strings.Contains(r.err, tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want 255 and %q", tc.args, r.code, r.err, tc.msg)
		}
	}
	// No tracker answering: every write fails, the run still reports.
	r := run(t, "--trackers=127.0.0.1:1", "--domain=d", "-n", "3", "-c", "1", "--json")
	if r.code != cli.ExitFail || phase(t, r, "write").Errors != 3 || phase(t, r, "read").Ops != 0 {
		t.Fatalf("no tracker: exit %d %+v\n%s", r.code, r.rep, r.err)
	}
	if r := run(t, "--help"); r.code != 0 || !strings.Contains(r.out, "--replication-wait") {
		t.Fatalf("--help: exit %d\n%s", r.code, r.out)
	}
}

func TestInterruptReportsWhatWasDone(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "bench"})
	ctx, cancel := context.WithCancel(mogtest.Context(t))
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }}
	// Cancel once the first files are written: the writer below sees
	// the progress of the run through the tracker.
	c := newClient(t, cl.Tracker.Addr, "bench")
	done := make(chan int)
	go func() {
		done <- mogbench.Main(ctx, env, []string{"--trackers=" + cl.Tracker.Addr, "--domain=bench",
			"-n", "1000000", "-c", "2", "--prefix=int/", "--json"})
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		keys, _, err := c.ListKeys(ctx, "int/", "", 10)
		if err == nil && len(keys) >= 10 {
			break
		}
		if err != nil && !client.IsNoneMatch(err) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no 10 files written within 2 minutes")
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	cancel()
	if code := <-done; code != 130 {
		t.Fatalf("exit %d after cancel, want 130\n%s", code, errb.String())
	}
	var rep mogbench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report after cancel: %v\n%s", err, out.String())
	}
	// The ten keys seen were committed; up to -c of them may have been
	// cut short after their commit, before mogbench counted them (a CI
	// run saw 8).
	if len(rep.Phases) != 1 || !rep.Phases[0].Interrupted || rep.Phases[0].Ops < 10-2 || rep.Phases[0].Errors != 0 {
		t.Fatalf("phases after cancel: %+v", rep.Phases)
	}
}

func TestFilesModeOnMariaDB(t *testing.T) {
	db := mogtest.NewMySQL(t)
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "bench", Classes: map[string]int{"one": 1},
		Tracker: mogtest.TrackerOptions{MySQL: &db}})
	const n = 100
	r := run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "--class=one", "-n", strconv.Itoa(n), "-c", "8",
		"--mode=tracker-paths", "--json")
	if r.code != 0 {
		t.Fatalf("tracker-paths: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	checkPhase(t, phase(t, r, "create"), n, 0)
	checkPhase(t, phase(t, r, "paths"), n, 0)
	r = run(t, "--trackers="+cl.Tracker.Addr, "--domain=bench", "--class=one", "-n", strconv.Itoa(n), "-c", "8", "--delete", "--json")
	if r.code != 0 {
		t.Fatalf("files: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	total := mogbench.NewContent(r.rep.Seed, r.rep.Size, r.rep.SizeJitter).TotalSize(indices(n))
	checkPhase(t, phase(t, r, "write"), n, total)
	checkPhase(t, phase(t, r, "read"), n, total)
	checkPhase(t, phase(t, r, "delete"), n, 0)
}
