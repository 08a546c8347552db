// Command bench measures mogstored against stock nginx serving the same
// docroot, side by side in one run, with wrk:
//
//	go run ./mogstored/bench [-rounds 3] [-duration 10s] [-big 1024]
//
// It builds cmd/mogstored, fills a temporary docroot (dev1) with 4 KiB
// files in the fid layout and one large file, starts nginx (the
// configuration of package nginxconf, sendfile on, access log off) and two
// mogstored instances (fsync on and off), and then, for each round, runs
// every scenario against every server in turn, so that noise from other
// load hits both alike. It prints the exact wrk commands and, per
// scenario, the median of the rounds and mogstored's ratio to nginx.
//
// Scenarios: GET of one 4 KiB file; GET of 4 KiB files round-robin over
// -files paths; GET of the large file (MiB/s); PUT of 4 KiB files (unique
// paths) with fsync on and off, and through nginx's WebDAV module (which
// does not fsync) for reference.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
	"github.com/mogilefs-go/mogilefs/mogstored/nginxconf"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type target struct {
	name string
	addr string
	pid  int // the server process; with its children, what CPU time is counted for
}

type scenario struct {
	name    string
	unit    string // "req/s" or "MiB/s"
	targets []target
	args    func(t target) []string
}

var (
	reqRe  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	xferRe = regexp.MustCompile(`Transfer/sec:\s+([0-9.]+)([KMG]?B)`)
	errRe  = regexp.MustCompile(`(Non-2xx or 3xx responses|Socket errors):[^\n]*`)
)

// options are the command-line flags.
type options struct {
	rounds, files, bigMiB, threads, conns int
	dur                                   time.Duration
	keep                                  bool
}

// fixture is the docroot with its files and the wrk scripts.
type fixture struct {
	tmp, root        string
	paths            []string // the 4 KiB files
	bigPath          string   // "" without a large file
	multiLua, putLua string
}

func run() error {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of every scenario")
	flag.DurationVar(&o.dur, "duration", 10*time.Second, "length of each wrk run")
	flag.IntVar(&o.files, "files", 1000, "number of 4 KiB files")
	flag.IntVar(&o.bigMiB, "big", 1024, "size of the large file in MiB (0: skip)")
	flag.IntVar(&o.threads, "t", 2, "wrk threads")
	flag.IntVar(&o.conns, "c", 16, "wrk connections")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir")
	flag.Parse()

	for _, bin := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + bin); err2 != nil {
				return fmt.Errorf("%s not found: %w", bin, err)
			}
		}
	}
	tmp, err := os.MkdirTemp("", "mogstored-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	fmt.Printf("# machine: %d CPUs, %s; load: %s\n", runtime.NumCPU(), runtime.Version(), loadavg())
	fx, err := makeFixture(tmp, o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	servers, stop, err := startServers(ctx, fx)
	defer stop()
	if err != nil {
		return err
	}
	scenarios := makeScenarios(o, fx, servers)
	for _, s := range scenarios {
		for _, t := range s.targets {
			fmt.Printf("# %s / %s: wrk %s\n", s.name, t.name, strings.Join(s.args(t), " "))
		}
	}
	res, err := measure(o, scenarios)
	if err != nil {
		return err
	}
	fmt.Printf("\n# medians of %d rounds, %s each; load now: %s\n", o.rounds, o.dur, loadavg())
	res.report(scenarios)
	return nil
}

// makeFixture builds mogstored and fills the docroot.
func makeFixture(tmp string, o options) (*fixture, error) {
	fx := &fixture{tmp: tmp, root: filepath.Join(tmp, "docroot")}
	if err := os.MkdirAll(filepath.Join(fx.root, "dev1"), 0o755); err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(tmp, "mogstored"), "./cmd/mogstored")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("go build (run from the module root): %w", err)
	}
	small := make([]byte, 4096)
	rng := rand.NewChaCha8([32]byte{1})
	for i := 1; i <= o.files; i++ {
		p := nodeproto.FIDPath(1, int64(i))
		rng.Read(small)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(fx.root, p)), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(fx.root, p), small, 0o644); err != nil {
			return nil, err
		}
		fx.paths = append(fx.paths, p)
	}
	pathList := filepath.Join(tmp, "paths.txt")
	if err := os.WriteFile(pathList, []byte(strings.Join(fx.paths, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if o.bigMiB > 0 {
		fx.bigPath = "/dev1/big/big.bin"
		if err := writeBig(filepath.Join(fx.root, fx.bigPath), o.bigMiB, rng); err != nil {
			return nil, err
		}
	}
	fx.multiLua = filepath.Join(tmp, "multi.lua")
	fx.putLua = filepath.Join(tmp, "put.lua")
	for p, text := range map[string]string{fx.multiLua: `local paths = {}
for l in io.lines("` + pathList + `") do paths[#paths + 1] = l end
local i = math.random(#paths)
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
`, fx.putLua: `local body = string.rep("x", 4096)
local n = 0
local prefix = ""
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  prefix = args[1] .. "/" .. math.random(1, 1000000000)
end
request = function()
  n = n + 1
  return wrk.format("PUT", "/dev1/put/" .. prefix .. "/" .. n .. ".fid", nil, body)
end
`} {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	return fx, nil
}

// servers are the processes under test.
type servers struct{ nginx, mog, mogNoSync target }

// startServers starts nginx (nginxconf, WebDAV on dev1) and mogstored
// with fsync on and off, all on the same docroot.
func startServers(ctx context.Context, fx *fixture) (servers, func(), error) {
	var stops []func()
	stopAll := func() {
		for _, f := range stops {
			f()
		}
	}
	var sv servers
	ngxBin := "/usr/sbin/nginx"
	if p, err := exec.LookPath("nginx"); err == nil {
		ngxBin = p
	}
	ngxTmp := filepath.Join(fx.tmp, "nginx")
	os.MkdirAll(ngxTmp, 0o755)
	v, _ := exec.Command(ngxBin, "-V").CombinedOutput()
	sv.nginx = target{name: "nginx", addr: freeAddr()}
	conf, err := nginxconf.Generate(nginxconf.Options{Listen: sv.nginx.addr, DocRoot: fx.root, Devices: []int{1},
		TempDir: ngxTmp, RunAsRoot: os.Geteuid() == 0, Modules: string(v)})
	if err != nil {
		return sv, stopAll, err
	}
	confPath := filepath.Join(ngxTmp, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return sv, stopAll, err
	}
	stop, pid, err := start(ctx, filepath.Join(fx.tmp, "nginx.log"), sv.nginx.addr, ngxBin, "-p", ngxTmp,
		"-e", filepath.Join(ngxTmp, "error.log"), "-c", confPath, "-g", "daemon off;")
	if err != nil {
		return sv, stopAll, err
	}
	stops = append(stops, stop)
	sv.nginx.pid = pid
	sv.mog = target{name: "mogstored", addr: freeAddr()}
	sv.mogNoSync = target{name: "mogstored --nofsync", addr: freeAddr()}
	for _, inst := range []*target{&sv.mog, &sv.mogNoSync} {
		extra := "--fsync"
		if inst == &sv.mogNoSync {
			extra = "--nofsync"
		}
		stop, pid, err := start(ctx, filepath.Join(fx.tmp, "mogstored"+extra+".log"), inst.addr,
			filepath.Join(fx.tmp, "mogstored"), "--skipconfig", "--docroot="+fx.root, "--httplisten="+inst.addr,
			"--mgmtlisten="+freeAddr(), extra)
		if err != nil {
			return sv, stopAll, err
		}
		stops = append(stops, stop)
		inst.pid = pid
	}
	return sv, stopAll, nil
}

func makeScenarios(o options, fx *fixture, sv servers) []scenario {
	base := func(extra ...string) []string {
		a := []string{"-t" + strconv.Itoa(o.threads), "-c" + strconv.Itoa(o.conns), "-d" + o.dur.String()}
		return append(a, extra...)
	}
	out := []scenario{
		{"GET 4 KiB, one file", "req/s", []target{sv.mog, sv.nginx}, func(t target) []string {
			return append(base(), "http://"+t.addr+fx.paths[0])
		}},
		{fmt.Sprintf("GET 4 KiB, %d files", len(fx.paths)), "req/s", []target{sv.mog, sv.nginx}, func(t target) []string {
			return append(base("-s", fx.multiLua), "http://"+t.addr)
		}},
	}
	if fx.bigPath != "" {
		out = append(out, scenario{fmt.Sprintf("GET %d MiB file", o.bigMiB), "MiB/s", []target{sv.mog, sv.nginx},
			func(t target) []string {
				return []string{"-t1", "-c1", "-d" + o.dur.String(), "--timeout", "120s", "http://" + t.addr + fx.bigPath}
			}})
	}
	ngxPut := sv.nginx
	ngxPut.name = "nginx (no fsync)"
	return append(out, scenario{"PUT 4 KiB", "req/s", []target{sv.mog, sv.mogNoSync, ngxPut},
		func(t target) []string {
			return append(base("-s", fx.putLua), "http://"+t.addr, "--", strings.Fields(t.name)[0])
		}})
}

// results are the measurements, keyed by scenario and server.
type results struct {
	rates  map[string][]float64
	ratios map[string][]float64 // per round, against nginx in the same round
	costs  map[string][]float64 // server CPU per request (or per GiB)
}

func key(s scenario, t target) string { return s.name + "\x00" + t.name }

// measure runs every scenario against every server, round after round.
func measure(o options, scenarios []scenario) (*results, error) {
	res := &results{rates: map[string][]float64{}, ratios: map[string][]float64{}, costs: map[string][]float64{}}
	for r := 1; r <= o.rounds; r++ {
		for _, s := range scenarios {
			got := map[string]float64{}
			var base float64
			for _, t := range s.targets {
				cpu0 := cpuTime(t.pid)
				w, err := wrk(s.args(t), s.unit)
				if err != nil {
					return nil, fmt.Errorf("%s / %s: %w", s.name, t.name, err)
				}
				cpu := cpuTime(t.pid) - cpu0
				k := key(s, t)
				res.rates[k] = append(res.rates[k], w.rate)
				got[k] = w.rate
				if isNginx(t.name) {
					base = w.rate
				}
				var cost string
				if s.unit == "req/s" && w.requests > 0 {
					c := cpu.Seconds() * 1e6 / float64(w.requests)
					res.costs[k] = append(res.costs[k], c)
					cost = fmt.Sprintf("%6.1f µs CPU/req", c)
				} else if w.mib > 0 {
					c := cpu.Seconds() * 1024 / w.mib
					res.costs[k] = append(res.costs[k], c)
					cost = fmt.Sprintf("%6.2f s CPU/GiB", c)
				}
				fmt.Printf("round %d  %-22s %-22s %10.0f %s %s %s\n", r, s.name, t.name, w.rate, s.unit, cost, w.note)
			}
			for k, v := range got {
				if base > 0 {
					res.ratios[k] = append(res.ratios[k], v/base)
				}
			}
		}
	}
	return res, nil
}

func (res *results) report(scenarios []scenario) {
	fmt.Printf("# \"vs nginx\" is the median of the per-round ratios (each round runs both back to back)\n")
	fmt.Printf("# server CPU (user+system, all threads and worker processes) per request, or per GiB sent\n")
	fmt.Printf("%-24s %-22s %12s %10s %16s\n", "scenario", "server", "median", "vs nginx", "server CPU")
	for _, s := range scenarios {
		for _, t := range s.targets {
			k := key(s, t)
			unit := "µs/req"
			if s.unit != "req/s" {
				unit = "s/GiB"
			}
			fmt.Printf("%-24s %-22s %10.0f %s %9.2fx %10.2f %s\n", s.name, t.name, median(res.rates[k]), s.unit,
				median(res.ratios[k]), median(res.costs[k]), unit)
		}
	}
}

func isNginx(name string) bool { return name == "nginx" || strings.HasPrefix(name, "nginx ") }

type wrkResult struct {
	rate     float64 // req/s or MiB/s
	requests int64
	mib      float64 // data read
	note     string  // errors wrk reported
}

var (
	countRe = regexp.MustCompile(`(\d+) requests in [0-9.]+\w+, ([0-9.]+)([KMG]?B) read`)
)

func toMiB(v float64, unit string) float64 {
	switch unit {
	case "B":
		return v / (1 << 20)
	case "KB":
		return v / (1 << 10)
	case "GB":
		return v * (1 << 10)
	}
	return v
}

func wrk(args []string, unit string) (wrkResult, error) {
	out, err := exec.Command("wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %v: %w\n%s", args, err, out)
	}
	var r wrkResult
	r.note = strings.Join(errRe.FindAllString(string(out), -1), "; ")
	if m := countRe.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(string(m[1]), 10, 64)
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		r.mib = toMiB(v, string(m[3]))
	}
	if unit == "req/s" {
		m := reqRe.FindSubmatch(out)
		if m == nil {
			return r, fmt.Errorf("no Requests/sec in\n%s", out)
		}
		r.rate, _ = strconv.ParseFloat(string(m[1]), 64)
		return r, nil
	}
	m := xferRe.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Transfer/sec in\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	r.rate = toMiB(v, string(m[2]))
	return r, nil
}

// cpuTime is the user+system time of pid and its child processes (nginx's
// workers), from /proc.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	tick := 100.0 // USER_HZ on Linux
	var total float64
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(st[i+1:]) // f[0] = state, f[1] = ppid, f[11] = utime, f[12] = stime
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if p != pid && ppid != pid {
			continue
		}
		u, _ := strconv.ParseFloat(f[11], 64)
		sy, _ := strconv.ParseFloat(f[12], 64)
		total += u + sy
	}
	return time.Duration(total / tick * float64(time.Second))
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func writeBig(path string, mib int, rng *rand.ChaCha8) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		rng.Read(buf)
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs a server (output to logPath) and waits for addr to answer;
// stop ends it with SIGTERM (nginx's master then stops its workers).
func start(ctx context.Context, logPath, addr, bin string, args ...string) (func(), int, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	if log, err := os.Create(logPath); err == nil {
		cmd.Stdout, cmd.Stderr = log, log
		defer log.Close()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return stop, cmd.Process.Pid, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, 0, fmt.Errorf("%s did not answer on %s", bin, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
