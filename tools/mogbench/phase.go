package mogbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorSamples is how many error messages a phase keeps.
const maxErrorSamples = 10

// Latency is a latency distribution in milliseconds. Percentiles are
// exact (nearest rank over every sample).
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// PhaseResult is what one phase measured.
type PhaseResult struct {
	Name string `json:"name"`
	// Ops is the number of operations that succeeded (files written,
	// read and verified, looked up, ...).
	Ops int64 `json:"ops"`
	// Errors counts failed operations, VerifyErrors the subset that
	// failed because the content read differed from what was written.
	Errors       int64 `json:"errors"`
	VerifyErrors int64 `json:"verify_errors"`
	// Bytes is the content moved by the successful operations.
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	FilesPerSec float64 `json:"files_per_sec"`
	MiBPerSec   float64 `json:"mib_per_sec"`
	// Latency is over the successful operations.
	Latency *Latency `json:"latency_ms,omitempty"`
	// TrackerLatency (tracker-create) is the time of the two tracker
	// commands alone, without the empty PUT between them.
	TrackerLatency *Latency `json:"tracker_latency_ms,omitempty"`
	// Replication phase only.
	MinDevCount      int     `json:"min_devcount,omitempty"`
	Rounds           int     `json:"rounds,omitempty"`
	LastRoundSeconds float64 `json:"last_round_seconds,omitempty"`

	// CPUms is the CPU time (user+system) each watched process used
	// during the phase (--procs; mogbench itself is "mogbench"), and
	// CPUusPerOp the same per successful operation, in microseconds.
	CPUms      map[string]float64 `json:"cpu_ms,omitempty"`
	CPUusPerOp map[string]float64 `json:"cpu_us_per_op,omitempty"`

	// Served says which paths of the client library served the phase's
	// operations (client modes only).
	Served *Served `json:"served,omitempty"`

	ErrorSamples []string `json:"error_samples,omitempty"`
	// Interrupted is set when the run was cancelled during the phase.
	Interrupted bool `json:"interrupted,omitempty"`
}

// opResult is what one operation reports.
type opResult struct {
	bytes   int64
	tracker time.Duration // tracker-only part of the latency, if measured
}

// opFunc performs the operation on file i.
type opFunc func(ctx context.Context, i int) (opResult, error)

// phaseSpec describes a phase: newWorker is called once per goroutine so
// that each has its own buffers.
type phaseSpec struct {
	name      string
	idx       []int
	conc      int
	newWorker func() opFunc
	procs     []proc // processes whose CPU time is measured
}

// errorLog collects a phase's errors.
type errorLog struct {
	n, verify atomic.Int64
	mu        sync.Mutex
	samples   []string
}

func (l *errorLog) add(err error) {
	l.n.Add(1)
	if errors.Is(err, ErrVerify) {
		l.verify.Add(1)
	}
	l.mu.Lock()
	if len(l.samples) < maxErrorSamples {
		l.samples = append(l.samples, err.Error())
	}
	l.mu.Unlock()
}

// runPhase runs op on every index of spec.idx with spec.conc goroutines
// and returns the measurements and which indices succeeded.
func runPhase(ctx context.Context, spec phaseSpec, prog io.Writer) (PhaseResult, []int) {
	var (
		next    atomic.Int64
		done    atomic.Int64
		bytes   atomic.Int64
		errs    errorLog
		wg      sync.WaitGroup
		lat     = make([][]int64, spec.conc)
		trk     = make([][]int64, spec.conc)
		okIdx   = make([][]int, spec.conc)
		perWork = len(spec.idx)/max(spec.conc, 1) + 1
	)
	cpu0 := takeCPU(spec.procs)
	start := time.Now()
	stopProgress := startProgress(prog, spec.name, int64(len(spec.idx)), start, &done, &bytes, &errs.n)
	for w := 0; w < spec.conc; w++ {
		lat[w] = make([]int64, 0, perWork)
		op := spec.newWorker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= len(spec.idx) {
					return
				}
				i := spec.idx[k]
				t0 := time.Now()
				r, err := op(ctx, i)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // cancelled: not the system's failure
					}
					errs.add(err)
				} else {
					lat[w] = append(lat[w], int64(d))
					if r.tracker > 0 {
						trk[w] = append(trk[w], int64(r.tracker))
					}
					okIdx[w] = append(okIdx[w], i)
					bytes.Add(r.bytes)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuSince(spec.procs, cpu0)
	stopProgress()

	res := PhaseResult{
		Name:         spec.name,
		Errors:       errs.n.Load(),
		VerifyErrors: errs.verify.Load(),
		Bytes:        bytes.Load(),
		ErrorSamples: errs.samples,
		Interrupted:  ctx.Err() != nil,
	}
	var all, tr []int64
	var ok []int
	for w := range lat {
		all = append(all, lat[w]...)
		tr = append(tr, trk[w]...)
		ok = append(ok, okIdx[w]...)
	}
	res.Ops = int64(len(all))
	res.Latency = latencyOf(all)
	res.TrackerLatency = latencyOf(tr)
	res.setRates(elapsed)
	res.setCPU(cpu)
	slices.Sort(ok)
	return res, ok
}

func (r *PhaseResult) setRates(elapsed time.Duration) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.FilesPerSec = float64(r.Ops) / r.Seconds
		r.MiBPerSec = float64(r.Bytes) / (1 << 20) / r.Seconds
	}
}

func (r *PhaseResult) setCPU(ms map[string]float64) {
	if len(ms) == 0 {
		return
	}
	r.CPUms = ms
	if r.Ops > 0 {
		r.CPUusPerOp = map[string]float64{}
		for name, v := range ms {
			r.CPUusPerOp[name] = v * 1000 / float64(r.Ops)
		}
	}
}

// latencyOf summarises samples in nanoseconds; nil when there are none.
func latencyOf(ns []int64) *Latency {
	if len(ns) == 0 {
		return nil
	}
	slices.Sort(ns)
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	return &Latency{
		P50:  ms(percentile(ns, 50)),
		P90:  ms(percentile(ns, 90)),
		P99:  ms(percentile(ns, 99)),
		Max:  ms(ns[len(ns)-1]),
		Mean: sum / float64(len(ns)) / 1e6,
	}
}

// percentile returns the nearest-rank p-th percentile of sorted samples:
// the smallest sample with at least p% of the samples at or below it.
func percentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// startProgress draws a progress line on prog (nil: none) every quarter
// second until the returned function is called, which clears the line.
func startProgress(prog io.Writer, name string, total int64, start time.Time, done, bytes, errs *atomic.Int64) func() {
	if prog == nil {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(prog, "\r\033[K")
				return
			case now := <-t.C:
				s := now.Sub(start).Seconds()
				fmt.Fprintf(prog, "\r\033[K%s %d/%d  %.0f files/s  %.1f MiB/s  errors %d",
					name, done.Load(), total, float64(done.Load())/s, float64(bytes.Load())/(1<<20)/s, errs.Load())
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
	}
}
