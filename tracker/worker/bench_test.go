package worker_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker/store"
	"github.com/mogilefs-go/mogilefs/tracker/worker"
)

// The benchmarks measure fixed workloads (run them with -benchtime=1x):
//
//	MOGBENCH_FILES  number of 4 KiB files (default 10000)
//	MOGBENCH_JOBS   replicate_jobs and fsck_jobs (default 1, the original's)
//	MOGBENCH_MYSQL  set to run on MariaDB (MOGTEST_MYSQL_DSN) instead of SQLite
//
// go test -run XXX -bench . -benchtime=1x ./tracker/worker/

func benchInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchEnv(b *testing.B, hosts [][]int) (*env, int) {
	cfg := fastConfig()
	jobs := benchInt("MOGBENCH_JOBS", 1)
	cfg.ReplicateJobs, cfg.FsckJobs = jobs, jobs
	e := newEnv(b, envOpts{mysql: os.Getenv("MOGBENCH_MYSQL") != "", hosts: hosts, cfg: &cfg})
	return e, benchInt("MOGBENCH_FILES", 10000)
}

// uploadMany stores n 4 KiB files of class on the given devices (round
// robin) with 8 uploaders, with the job master paused.
func (e *env) uploadMany(n int, class string, devs []int, withSum bool) []int64 {
	if err := e.w.Want(worker.JobJobMaster, 0); err != nil {
		e.t.Fatal(err)
	}
	fids := make([]int64, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				b := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 2048)
				fids[i] = e.upload(fmt.Sprintf("bench%d", i), class, b, devs[i%len(devs)], withSum)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return fids
}

// runUntil starts the job master and waits until done holds, returning
// the time taken.
func (e *env) runUntil(what string, done func() (bool, string)) time.Duration {
	start := time.Now()
	if err := e.w.Want(worker.JobJobMaster, 1); err != nil {
		e.t.Fatal(err)
	}
	e.waitFor(what, 30*time.Minute, done)
	return time.Since(start)
}

func (e *env) totalCopies(devs []int) int {
	total := 0
	for _, d := range devs {
		ids, err := e.st.FIDsOnDevice(e.ctx, d, 0, 10000000)
		if err != nil {
			e.t.Fatal(err)
		}
		total += len(ids)
	}
	return total
}

// Replication of n 4 KiB files until every one is at 2 copies.
func BenchmarkReplication(b *testing.B) {
	e, n := benchEnv(b, [][]int{{1}, {2}})
	e.uploadMany(n, "2copies", []int{1, 2}, false)
	b.ResetTimer()
	took := e.runUntil("all replicated", func() (bool, string) {
		q := e.queueLen(store.QueueReplicate)
		return q == 0, fmt.Sprintf("%d queued", q)
	})
	b.StopTimer()
	if got := e.totalCopies([]int{1, 2}); got != 2*n {
		b.Fatalf("%d copies, want %d", got, 2*n)
	}
	b.ReportMetric(float64(n)/took.Seconds(), "files/s")
}

// Re-replication of the n files of a device marked dead, reaper included
// (queue_rate_for_reaper 1000 per pass every 100 ms here; the original
// passes every 5 s).
func BenchmarkDeadDevice(b *testing.B) {
	e, n := benchEnv(b, [][]int{{1}, {2}, {3}})
	e.uploadMany(n, "2copies", []int{1}, false)
	e.runUntil("initial replication", func() (bool, string) {
		return e.queueLen(store.QueueReplicate) == 0, ""
	})
	onDead := e.totalCopies([]int{2})
	if err := e.w.Want(worker.JobJobMaster, 0); err != nil {
		b.Fatal(err)
	}
	e.setStatus(e.cl, 2, "dead")
	b.ResetTimer()
	took := e.runUntil("dead device re-replicated", func() (bool, string) {
		left := e.totalCopies([]int{2})
		q := e.queueLen(store.QueueReplicate)
		return left == 0 && q == 0, fmt.Sprintf("%d left on dev2, %d queued", left, q)
	})
	b.StopTimer()
	if got := e.totalCopies([]int{1, 3}); got != 2*n {
		b.Fatalf("%d copies after re-replication, want %d", got, 2*n)
	}
	b.ReportMetric(float64(onDead)/took.Seconds(), "files/s")
	b.Logf("%d files re-replicated off the dead device in %v", onDead, took)
}

func benchFsck(b *testing.B, class string) {
	e, n := benchEnv(b, [][]int{{1}, {2}})
	e.uploadMany(n, class, []int{1, 2}, class == "md5")
	e.runUntil("initial replication", func() (bool, string) {
		return e.queueLen(store.QueueReplicate) == 0, ""
	})
	b.ResetTimer()
	start := time.Now()
	log := e.fullFsck(false)
	took := time.Since(start)
	b.StopTimer()
	if len(log) != 0 {
		b.Fatalf("fsck found problems on healthy files: %v", log[:min(len(log), 10)])
	}
	b.ReportMetric(float64(n)/took.Seconds(), "files/s")
}

// Fsck of n healthy files at 2 copies: HEAD of each copy.
func BenchmarkFsck(b *testing.B) { benchFsck(b, "2copies") }

// Fsck of n healthy files of an MD5 class: each copy's MD5 through the
// storage node's side channel.
func BenchmarkFsckChecksums(b *testing.B) { benchFsck(b, "md5") }
