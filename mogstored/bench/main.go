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

func run() error {
	rounds := flag.Int("rounds", 3, "rounds of every scenario")
	dur := flag.Duration("duration", 10*time.Second, "length of each wrk run")
	nfiles := flag.Int("files", 1000, "number of 4 KiB files")
	bigMiB := flag.Int("big", 1024, "size of the large file in MiB (0: skip)")
	threads := flag.Int("t", 2, "wrk threads")
	conns := flag.Int("c", 16, "wrk connections")
	keep := flag.Bool("keep", false, "keep the temp dir")
	flag.Parse()

	for _, bin := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + bin); err2 != nil {
				return fmt.Errorf("%s not found: %w", bin, err)
			}
		}
	}
	tmp, err := os.MkdirTemp("", "mogbench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	root := filepath.Join(tmp, "docroot")
	dev := filepath.Join(root, "dev1")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	fmt.Printf("# machine: %d CPUs, %s; load: %s\n", runtime.NumCPU(), runtime.Version(), loadavg())

	mog := filepath.Join(tmp, "mogstored")
	build := exec.Command("go", "build", "-o", mog, "./cmd/mogstored")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build (run from the module root): %w", err)
	}

	// Files.
	small := make([]byte, 4096)
	rng := rand.NewChaCha8([32]byte{1})
	var paths []string
	for i := 1; i <= *nfiles; i++ {
		p := nodeproto.FIDPath(1, int64(i))
		rng.Read(small)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, p), small, 0o644); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	pathList := filepath.Join(tmp, "paths.txt")
	os.WriteFile(pathList, []byte(strings.Join(paths, "\n")+"\n"), 0o644)
	bigPath := "/dev1/big/big.bin"
	if *bigMiB > 0 {
		if err := writeBig(filepath.Join(root, bigPath), *bigMiB, rng); err != nil {
			return err
		}
	}
	multiLua := filepath.Join(tmp, "multi.lua")
	os.WriteFile(multiLua, []byte(`local paths = {}
for l in io.lines("`+pathList+`") do paths[#paths + 1] = l end
local i = math.random(#paths)
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
`), 0o644)
	putLua := filepath.Join(tmp, "put.lua")
	os.WriteFile(putLua, []byte(`local body = string.rep("x", 4096)
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
`), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// nginx.
	ngxBin := "/usr/sbin/nginx"
	if p, err := exec.LookPath("nginx"); err == nil {
		ngxBin = p
	}
	ngxTmp := filepath.Join(tmp, "nginx")
	os.MkdirAll(ngxTmp, 0o755)
	v, _ := exec.Command(ngxBin, "-V").CombinedOutput()
	ngxAddr := freeAddr()
	conf, err := nginxconf.Generate(nginxconf.Options{Listen: ngxAddr, DocRoot: root, Devices: []int{1},
		TempDir: ngxTmp, RunAsRoot: os.Geteuid() == 0, Modules: string(v)})
	if err != nil {
		return err
	}
	confPath := filepath.Join(ngxTmp, "nginx.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	stop, ngxPID, err := start(ctx, filepath.Join(tmp, "nginx.log"), ngxAddr, ngxBin, "-p", ngxTmp, "-e", filepath.Join(ngxTmp, "error.log"),
		"-c", confPath, "-g", "daemon off;")
	if err != nil {
		return err
	}
	defer stop()

	// mogstored, fsync on and off.
	mg := target{name: "mogstored", addr: freeAddr()}
	mgNoSync := target{name: "mogstored --nofsync", addr: freeAddr()}
	for _, inst := range []*target{&mg, &mgNoSync} {
		extra := "--fsync"
		if inst == &mgNoSync {
			extra = "--nofsync"
		}
		stop, pid, err := start(ctx, filepath.Join(tmp, "mogstored"+extra+".log"), inst.addr, mog, "--skipconfig",
			"--docroot="+root, "--httplisten="+inst.addr, "--mgmtlisten="+freeAddr(), extra)
		if err != nil {
			return err
		}
		defer stop()
		inst.pid = pid
	}
	ngx := target{name: "nginx", addr: ngxAddr, pid: ngxPID}
	wrkBase := func(t target, extra ...string) []string {
		a := []string{"-t" + strconv.Itoa(*threads), "-c" + strconv.Itoa(*conns), "-d" + dur.String()}
		return append(a, extra...)
	}
	scenarios := []scenario{
		{"GET 4 KiB, one file", "req/s", []target{mg, ngx}, func(t target) []string {
			return append(wrkBase(t), "http://"+t.addr+paths[0])
		}},
		{fmt.Sprintf("GET 4 KiB, %d files", len(paths)), "req/s", []target{mg, ngx}, func(t target) []string {
			return append(wrkBase(t, "-s", multiLua), "http://"+t.addr)
		}},
	}
	if *bigMiB > 0 {
		scenarios = append(scenarios, scenario{fmt.Sprintf("GET %d MiB file", *bigMiB), "MiB/s", []target{mg, ngx},
			func(t target) []string {
				return []string{"-t1", "-c1", "-d" + dur.String(), "--timeout", "120s", "http://" + t.addr + bigPath}
			}})
	}
	scenarios = append(scenarios,
		scenario{"PUT 4 KiB", "req/s", []target{mg, mgNoSync, {name: "nginx (no fsync)", addr: ngxAddr, pid: ngxPID}},
			func(t target) []string {
				return append(wrkBase(t, "-s", putLua), "http://"+t.addr, "--", strings.Fields(t.name)[0])
			}})

	results := map[string][]float64{}
	ratios := map[string][]float64{} // per round, against nginx in the same round
	costs := map[string][]float64{}  // server CPU per request (or per GiB)
	for _, s := range scenarios {
		for _, t := range s.targets {
			fmt.Printf("# %s / %s: wrk %s\n", s.name, t.name, strings.Join(s.args(t), " "))
		}
	}
	for r := 1; r <= *rounds; r++ {
		for _, s := range scenarios {
			got := map[string]float64{}
			var base float64
			for _, t := range s.targets {
				cpu0 := cpuTime(t.pid)
				res, err := wrk(s.args(t), s.unit)
				if err != nil {
					return fmt.Errorf("%s / %s: %w", s.name, t.name, err)
				}
				cpu := cpuTime(t.pid) - cpu0
				key := s.name + "\x00" + t.name
				v := res.rate
				results[key] = append(results[key], v)
				got[key] = v
				if isNginx(t.name) {
					base = v
				}
				var cost string
				if s.unit == "req/s" && res.requests > 0 {
					c := cpu.Seconds() * 1e6 / float64(res.requests)
					costs[key] = append(costs[key], c)
					cost = fmt.Sprintf("%6.1f µs CPU/req", c)
				} else if res.mib > 0 {
					c := cpu.Seconds() * 1024 / res.mib
					costs[key] = append(costs[key], c)
					cost = fmt.Sprintf("%6.2f s CPU/GiB", c)
				}
				fmt.Printf("round %d  %-22s %-22s %10.0f %s %s %s\n", r, s.name, t.name, v, s.unit, cost, res.note)
			}
			for k, v := range got {
				if base > 0 {
					ratios[k] = append(ratios[k], v/base)
				}
			}
		}
	}
	fmt.Printf("\n# medians of %d rounds, %s each; load now: %s\n", *rounds, dur, loadavg())
	fmt.Printf("# \"vs nginx\" is the median of the per-round ratios (each round runs both back to back)\n")
	fmt.Printf("# server CPU (user+system, all threads and worker processes) per request, or per GiB sent\n")
	fmt.Printf("%-24s %-22s %12s %10s %16s\n", "scenario", "server", "median", "vs nginx", "server CPU")
	for _, s := range scenarios {
		for _, t := range s.targets {
			key := s.name + "\x00" + t.name
			unit := "µs/req"
			if s.unit != "req/s" {
				unit = "s/GiB"
			}
			fmt.Printf("%-24s %-22s %10.0f %s %9.2fx %10.2f %s\n", s.name, t.name, median(results[key]), s.unit,
				median(ratios[key]), median(costs[key]), unit)
		}
	}
	return nil
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
