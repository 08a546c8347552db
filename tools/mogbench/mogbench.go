package mogbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usageLine = "--trackers=host --domain=foo [--class=bar] [--mode=files] [-n 100000] [-c 16] [--size=4096] [--fastpath=auto|off|only] [--json]"

// Defaults.
const (
	defaultFiles    = 100000
	defaultConc     = 16
	defaultSize     = "4096"
	defaultJitter   = 64
	bigModeFiles    = 1000
	bigModeConc     = 4
	bigModeSize     = "1MiB"
	defaultBigSize  = "256MiB"
	defaultTimeout  = 10 * time.Second
	replicationPoll = 100 * time.Millisecond
	// Every file's latency is kept (8 bytes), with its index: the bounds
	// keep a run within a few GiB of memory.
	maxFiles = 50_000_000
	maxConc  = 10_000
)

// modes maps each mode to its phases, in order.
var modes = map[string][]string{
	"files":          {"write", "read"},
	"write":          {"write"},
	"read":           {"read"},
	"big":            {"write", "read"},
	"tracker-create": {"create"},
	"tracker-paths":  {"create", "paths"},
	"dir":            {"dir-write", "dir-read", "dir-big-write", "dir-big-read"},
	"dir-write":      {"dir-write", "dir-big-write"},
	"dir-read":       {"dir-read", "dir-big-read"},
	"dir-create":     {"dir-create"},
}

var modeNames = []string{"files", "write", "read", "big", "tracker-create", "tracker-paths", "dir", "dir-write", "dir-read", "dir-create"}

// options are the parsed command line.
type options struct {
	mode       string
	class      string
	n          int
	conc       int
	size       string
	jitter     int64
	bigSize    string
	dir        string
	prefix     string
	seed       uint64
	json       bool
	replWait   time.Duration
	del        bool
	timeout    time.Duration
	cpuprofile string
	procsFlag  string
	fastpath   string
	pathCache  time.Duration

	// derived
	sizeBytes int64
	bigBytes  int64
	phases    []string
	procs     []proc
}

func (o *options) isDir() bool { return strings.HasPrefix(o.mode, "dir") }

// Report is the result of a run, as printed with --json.
type Report struct {
	Mode        string        `json:"mode"`
	Trackers    []string      `json:"trackers,omitempty"`
	Domain      string        `json:"domain,omitempty"`
	Class       string        `json:"class,omitempty"`
	Dir         string        `json:"dir,omitempty"`
	Files       int           `json:"files"`
	Concurrency int           `json:"concurrency"`
	Size        int64         `json:"size"`
	SizeJitter  int64         `json:"size_jitter"`
	BigSize     int64         `json:"big_size,omitempty"`
	Seed        uint64        `json:"seed"`
	FastPath    string        `json:"fastpath,omitempty"`
	Prefix      string        `json:"prefix"`
	Started     time.Time     `json:"started"`
	Phases      []PhaseResult `json:"phases"`
	// Errors is the sum of the phases' errors.
	Errors int64 `json:"errors"`
}

// Main runs mogbench and returns its exit status: 0 when every operation
// succeeded, 1 when some failed (or content did not verify), 130 when
// interrupted, 255 for bad options or a cluster that cannot be used.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogbench", usageLine)
	o := &options{}
	f := u.Flags
	f.StringVar(&o.mode, "mode", "files", "what to measure: "+strings.Join(modeNames, ", "))
	f.StringVar(&o.class, "class", "", "class of the files written (default class if not given)")
	f.IntVarP(&o.n, "files", "n", defaultFiles, "number of files (big mode: 1000)")
	f.IntVarP(&o.conc, "concurrency", "c", defaultConc, "operations in flight at once (big mode: 4)")
	f.StringVar(&o.size, "size", defaultSize, "file size in bytes, or with a unit: 4KiB, 1MiB (big mode: 1MiB)")
	f.Int64Var(&o.jitter, "size-jitter", defaultJitter, "add 0..N-1 bytes to each file's size, chosen per file")
	f.StringVar(&o.bigSize, "big-size", defaultBigSize, "dir modes: size of the one big file (0: none)")
	f.StringVar(&o.dir, "dir", "", "dir modes: directory to work in, e.g. a mogfs mount point")
	f.StringVar(&o.prefix, "prefix", "", "key prefix (dir modes: subdirectory); default mogbench/<random>/")
	f.Uint64Var(&o.seed, "seed", 0, "content seed (default random); read modes need the writer's")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	f.DurationVar(&o.replWait, "replication-wait", 0, "after writing, wait up to this long for every file to reach the class's mindevcount, and measure how long it took")
	f.BoolVar(&o.del, "delete", false, "delete the files at the end (a measured phase)")
	f.DurationVar(&o.timeout, "timeout", defaultTimeout, "tracker reply timeout")
	f.StringVar(&o.procsFlag, "procs", "", "name=pid,... of local processes (tracker, storage nodes, database) whose CPU time per phase is reported beside mogbench's own")
	f.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of mogbench itself to this file")
	f.StringVar(&o.fastpath, "fastpath", "auto", "the one-round-trip paths of the storage nodes: auto (when the cluster offers them), off (three-step uploads, get_paths), only (fail instead of falling back)")
	f.DurationVar(&o.pathCache, "path-cache-ttl", 0, "how long the client trusts a key's paths it stored or looked up (0: the library's 2s; -1s: off)")
	u.Usage = usageLine + "\n\nOptions:\n" + f.FlagUsages()
	if code, done := u.Parse(args); done {
		return code
	}
	if err := o.finish(u); err != nil {
		return cli.Report(env, err)
	}
	rep, err := run(ctx, env, u, o)
	if rep != nil {
		if perr := printReport(env.Stdout, rep, o.json); perr != nil && err == nil {
			err = perr
		}
	}
	switch {
	case err != nil:
		return cli.Report(env, err)
	case ctx.Err() != nil:
		return 130
	case rep.Errors > 0:
		return cli.ExitFail
	}
	return cli.ExitOK
}

// Run runs the tool as a process.
func Run() int { return cli.Run(Main) }

// finish checks the options and fills in the mode's defaults.
func (o *options) finish(u *cli.Utils) error {
	bad := func(format string, args ...any) error {
		return cli.Fail(cli.ExitDie, errors.New("bad option"), format, args...)
	}
	phases, ok := modes[o.mode]
	if !ok {
		return bad("Unknown --mode %q; one of %s", o.mode, strings.Join(modeNames, ", "))
	}
	o.phases = slices.Clone(phases)
	changed := u.Flags.Changed
	if o.mode == "big" {
		if !changed("files") {
			o.n = bigModeFiles
		}
		if !changed("concurrency") {
			o.conc = bigModeConc
		}
		if !changed("size") {
			o.size = bigModeSize
		}
	}
	if o.n <= 0 || o.n > maxFiles {
		return bad("-n must be between 1 and %d", maxFiles)
	}
	if o.conc <= 0 || o.conc > maxConc {
		return bad("-c must be between 1 and %d", maxConc)
	}
	if o.jitter < 0 {
		return bad("--size-jitter must not be negative")
	}
	var err error
	if o.sizeBytes, err = parseSize(o.size); err != nil {
		return bad("Bad --size %q: %v", o.size, err)
	}
	if o.bigBytes, err = parseSize(o.bigSize); err != nil {
		return bad("Bad --big-size %q: %v", o.bigSize, err)
	}
	if o.replWait < 0 || o.timeout <= 0 {
		return bad("--replication-wait must not be negative and --timeout must be positive")
	}
	if _, err := client.ParseFastPathMode(o.fastpath); err != nil {
		return bad("Bad --fastpath: %v", err)
	}
	if o.procs, err = parseProcs(o.procsFlag); err != nil {
		return bad("Bad --procs: %v", err)
	}
	o.procs = append(o.procs, proc{name: "mogbench", pid: "self"})
	reads := o.mode == "read" || o.mode == "dir-read"
	if reads && (!changed("prefix") || !changed("seed")) {
		return bad("--mode=%s reads what an earlier run wrote: give its --prefix and --seed (and -n, --size, --size-jitter)", o.mode)
	}
	if !changed("seed") {
		o.seed = rand.Uint64() >> 11 // exact in JSON numbers read as doubles
	}
	if o.isDir() {
		if o.dir == "" {
			return bad("--mode=%s needs --dir", o.mode)
		}
		if o.replWait > 0 {
			return bad("--replication-wait needs a client mode, not --mode=%s", o.mode)
		}
		if o.bigBytes == 0 {
			o.phases = slices.DeleteFunc(o.phases, func(p string) bool { return strings.HasPrefix(p, "dir-big") })
		}
		if o.prefix == "" {
			o.prefix = fmt.Sprintf("mogbench-%08x", rand.Uint32())
		}
		if !filepath.IsLocal(o.prefix) {
			return bad("--prefix %q must be a relative path inside --dir", o.prefix)
		}
		if o.del {
			o.phases = append(o.phases, "dir-delete")
		}
		return nil
	}
	if o.prefix == "" {
		o.prefix = fmt.Sprintf("mogbench/%08x/", rand.Uint32())
	}
	if strings.HasPrefix(o.mode, "tracker-") {
		o.sizeBytes, o.jitter = 0, 0 // empty files
	}
	if o.replWait > 0 {
		at := slices.IndexFunc(o.phases, func(p string) bool { return p == "write" || p == "create" })
		if at < 0 {
			return bad("--replication-wait needs a mode that writes")
		}
		o.phases = slices.Insert(o.phases, at+1, "replication")
	}
	if o.del {
		o.phases = append(o.phases, "delete")
	}
	return nil
}

// parseSize reads "4096", "4KiB", "1MiB", "1MB" (decimal), ...
func parseSize(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, err
	}
	if n > 1<<50 {
		return 0, errors.New("too large")
	}
	return int64(n), nil
}

// run executes the mode's phases. The report is returned (with what was
// measured) also when a phase was interrupted.
func run(ctx context.Context, env *cli.Env, u *cli.Utils, o *options) (*Report, error) {
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return nil, cli.FileFail("Could not create "+o.cpuprofile, err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep := &Report{
		Mode: o.mode, Class: cli.ClassName(o.class), Files: o.n, Concurrency: o.conc, Size: o.sizeBytes,
		SizeJitter: o.jitter, Seed: o.seed, Prefix: o.prefix, Started: time.Now().UTC().Truncate(time.Millisecond),
	}
	var prog io.Writer
	if env.StderrTerminal {
		prog = env.Stderr
	}
	content := NewContent(o.seed, o.sizeBytes, o.jitter)
	all := make([]int, o.n)
	for i := range all {
		all[i] = i
	}
	shuffled := func(idx []int) []int {
		out := slices.Clone(idx)
		r := rand.New(rand.NewPCG(o.seed, 0x6d6f6762656e6368))
		r.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
		return out
	}
	add := func(p PhaseResult) {
		rep.Phases = append(rep.Phases, p)
		rep.Errors += p.Errors
	}

	if o.isDir() {
		rep.Dir, rep.BigSize = o.dir, o.bigBytes
		d := &dirBench{dir: filepath.Join(o.dir, o.prefix), content: content, big: NewContent(o.seed, o.bigBytes, 0)}
		if slices.Contains(o.phases, "dir-write") || slices.Contains(o.phases, "dir-create") {
			if err := os.MkdirAll(d.dir, 0o755); err != nil {
				return nil, cli.FileFail("Could not create "+d.dir, err)
			}
		}
		written := all
		bigDone := false
		for _, ph := range o.phases {
			if ctx.Err() != nil {
				break
			}
			spec := phaseSpec{name: ph, conc: o.conc, procs: o.procs}
			switch ph {
			case "dir-write":
				spec.idx, spec.newWorker = all, d.writeOp
			case "dir-read":
				spec.idx, spec.newWorker = shuffled(written), d.readOp
			case "dir-create":
				spec.idx, spec.newWorker = all, d.createOp
			case "dir-big-write":
				spec.idx, spec.conc, spec.newWorker = []int{bigIndex}, 1, d.bigWriteOp
			case "dir-big-read":
				spec.idx, spec.conc, spec.newWorker = []int{bigIndex}, 1, d.bigReadOp
			case "dir-delete":
				spec.idx, spec.newWorker = written, d.deleteOp
				if bigDone {
					spec.idx = append(slices.Clone(written), bigIndex)
				}
			}
			res, ok := runPhase(ctx, spec, prog)
			add(res)
			switch ph {
			case "dir-write", "dir-create":
				written = ok
			case "dir-big-write":
				bigDone = len(ok) == 1
			case "dir-delete":
				if err := d.removeDir(); err != nil {
					fmt.Fprintf(env.Stderr, "mogbench: could not remove %s: %v\n", d.dir, err)
				}
			}
		}
		return rep, nil
	}

	c, err := newClient(u, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rep.Trackers, rep.Domain = c.Trackers(), c.Domain()
	mode, _ := o.fastpathMode()
	rep.FastPath = string(mode)
	b := &bench{c: c, http: newHTTPClient(o.conc), domain: c.Domain(), class: cli.ClassName(o.class), prefix: o.prefix, content: content}
	defer b.http.CloseIdleConnections()

	var floor int64
	var minDev int
	if o.replWait > 0 {
		if minDev, err = minDevCount(ctx, c, b.domain, b.class); err != nil {
			return nil, cli.Die("Error reading the class's mindevcount: ", err)
		}
		if floor, err = maxCommittedFID(ctx, c); err != nil {
			return nil, cli.Die("Error finding the highest fid: ", err)
		}
	}
	written := all
	var writeEnd time.Time
	for _, ph := range o.phases {
		if ctx.Err() != nil {
			break
		}
		if ph == "replication" {
			add(b.waitReplication(ctx, written, floor, minDev, writeEnd, o.replWait, replicationPoll, o.procs))
			continue
		}
		spec := phaseSpec{name: ph, conc: o.conc, procs: o.procs}
		switch ph {
		case "write":
			spec.idx, spec.newWorker = all, b.writeOp
		case "create":
			spec.idx, spec.newWorker = all, b.createOp
		case "read":
			spec.idx, spec.newWorker = shuffled(written), b.readOp
		case "paths":
			spec.idx, spec.newWorker = shuffled(written), b.pathsOp
		case "delete":
			spec.idx, spec.newWorker = written, b.deleteOp
		}
		before := c.Stats()
		res, ok := runPhase(ctx, spec, prog)
		res.Served = served(before, c.Stats())
		add(res)
		if ph == "write" || ph == "create" {
			written, writeEnd = ok, time.Now()
		}
	}
	return rep, nil
}

// newClient makes the client: the configured trackers and domain, one
// idle tracker connection per worker.
func newClient(u *cli.Utils, o *options) (*client.Client, error) {
	trackers, err := cli.SplitTrackers(u.Trackers)
	if err != nil {
		return nil, cli.Fail(cli.ExitDie, err, "Bad --trackers: %v", err)
	}
	if len(trackers) == 0 {
		return nil, cli.Fail(cli.ExitDie, nil, "No trackers given: use --trackers=host:port or 'trackers = host:port' in ~/.mogilefs.conf")
	}
	if strings.TrimSpace(u.Domain) == "" {
		return nil, cli.Fail(cli.ExitDie, nil, "No domain given: use --domain=NAME or 'domain = NAME' in ~/.mogilefs.conf")
	}
	mode, _ := o.fastpathMode()
	return client.New(client.Config{
		Domain:            u.Domain,
		Trackers:          trackers,
		Timeout:           o.timeout,
		MaxIdlePerTracker: o.conc,
		FastPath:          mode,
		PathCacheTTL:      o.pathCache,
	})
}

func (o *options) fastpathMode() (client.FastPathMode, error) {
	return client.ParseFastPathMode(o.fastpath)
}

// printReport writes rep as JSON or as a table.
func printReport(w io.Writer, rep *Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	var b strings.Builder
	sizes := fmt.Sprintf("%d bytes", rep.Size)
	if rep.SizeJitter > 1 {
		sizes = fmt.Sprintf("%d-%d bytes", rep.Size, rep.Size+rep.SizeJitter-1)
	}
	fmt.Fprintf(&b, "mogbench %s: %d files of %s, concurrency %d", rep.Mode, rep.Files, sizes, rep.Concurrency)
	if rep.Dir != "" {
		fmt.Fprintf(&b, ", directory %s", filepath.Join(rep.Dir, rep.Prefix))
		if rep.BigSize > 0 {
			fmt.Fprintf(&b, ", big file %s", humanize.IBytes(uint64(rep.BigSize)))
		}
		fmt.Fprintf(&b, "\n  seed %d\n", rep.Seed)
	} else {
		class := rep.Class
		if class == "" {
			class = "default"
		}
		fmt.Fprintf(&b, ", domain %s, class %s\n  trackers %s, seed %d, prefix %s, fast path %s\n",
			rep.Domain, class, strings.Join(rep.Trackers, ","), rep.Seed, rep.Prefix, rep.FastPath)
	}
	fmt.Fprintf(&b, "%-14s %9s %7s %9s %10s %9s %9s %9s %9s %9s\n",
		"phase", "ok", "errors", "seconds", "files/s", "MiB/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, p := range rep.Phases {
		if p.Name == "replication" {
			if p.Errors == 0 && !p.Interrupted {
				fmt.Fprintf(&b, "%-14s %d files at >= %d copies %.2f s after the last write (%d rounds of list_fids, the last took %.3f s)\n",
					p.Name, p.Ops, p.MinDevCount, p.Seconds, p.Rounds, p.LastRoundSeconds)
			} else {
				fmt.Fprintf(&b, "%-14s %d files at >= %d copies, %d not, after %.2f s (%d rounds)\n",
					p.Name, p.Ops, p.MinDevCount, p.Errors, p.Seconds, p.Rounds)
			}
		} else {
			fmt.Fprintf(&b, "%-14s %9d %7d %9.3f %10.1f %9.1f %s\n",
				p.Name, p.Ops, p.Errors, p.Seconds, p.FilesPerSec, p.MiBPerSec, latencyCols(p.Latency))
			if p.TrackerLatency != nil {
				fmt.Fprintf(&b, "%-14s %9s %7s %9s %10s %9s %s\n", "  tracker only", "", "", "", "", "", latencyCols(p.TrackerLatency))
			}
		}
		if len(p.CPUusPerOp) > 0 {
			names := slices.Sorted(maps.Keys(p.CPUusPerOp))
			var parts []string
			for _, n := range names {
				parts = append(parts, fmt.Sprintf("%s %.0f", n, p.CPUusPerOp[n]))
			}
			fmt.Fprintf(&b, "  CPU µs per file: %s\n", strings.Join(parts, ", "))
		}
		if p.Served != nil {
			fmt.Fprintf(&b, "  %s\n", p.Served)
		}
		if p.VerifyErrors > 0 {
			fmt.Fprintf(&b, "  %d of the errors are content that did not verify\n", p.VerifyErrors)
		}
		for _, e := range p.ErrorSamples {
			fmt.Fprintf(&b, "  error: %s\n", e)
		}
		if p.Interrupted {
			fmt.Fprintf(&b, "  (interrupted)\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func latencyCols(l *Latency) string {
	if l == nil {
		return fmt.Sprintf("%9s %9s %9s %9s", "-", "-", "-", "-")
	}
	return fmt.Sprintf("%9.2f %9.2f %9.2f %9.2f", l.P50, l.P90, l.P99, l.Max)
}
