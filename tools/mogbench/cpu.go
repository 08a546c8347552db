package mogbench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat (fixed at 100
// by the Linux ABI).
const userHZ = 100

// proc is a process whose CPU time is measured per phase.
type proc struct {
	name string
	pid  string // "self" for mogbench itself
}

// parseProcs reads "name=pid,name=pid".
func parseProcs(s string) ([]proc, error) {
	var out []proc
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, pid, ok := strings.Cut(f, "=")
		if n, err := strconv.Atoi(pid); !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not name=pid", f)
		}
		out = append(out, proc{name: name, pid: pid})
	}
	return out, nil
}

// cpuTicks returns the user+system CPU time of pid in 1/userHZ seconds.
func cpuTicks(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%s/stat: no command name", pid)
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat: %d fields", pid, len(f)+2)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%s/stat: bad CPU times", pid)
	}
	return u + st, nil
}

// cpuSnapshot holds the CPU ticks of each process at one moment; a
// process that could not be read is left out.
type cpuSnapshot map[string]int64

func takeCPU(procs []proc) cpuSnapshot {
	if len(procs) == 0 {
		return nil
	}
	out := cpuSnapshot{}
	for _, p := range procs {
		if t, err := cpuTicks(p.pid); err == nil {
			out[p.name] = t
		}
	}
	return out
}

// cpuSince returns each process's CPU milliseconds since before.
func cpuSince(procs []proc, before cpuSnapshot) map[string]float64 {
	if len(procs) == 0 {
		return nil
	}
	after := takeCPU(procs)
	out := map[string]float64{}
	for name, t0 := range before {
		if t1, ok := after[name]; ok {
			out[name] = float64(t1-t0) * 1000 / userHZ
		}
	}
	return out
}
