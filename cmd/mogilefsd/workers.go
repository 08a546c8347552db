package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker"
	"github.com/mogilefs-go/mogilefs/tracker/worker"
)

// background starts the replicate, delete, fsck, reaper and job master
// workers for the tracker and registers them for !jobs, !want and !to.
// The workers drop the fids whose copies they change from the tracker's
// get_paths cache and report their queue counters to !stats.
func background(cfg tracker.Config, st worker.Store) func(context.Context, *tracker.Server) (func(), error) {
	return func(ctx context.Context, s *tracker.Server) (func(), error) {
		w, err := worker.Start(ctx, worker.Deps{
			Store:         st,
			Cluster:       s.Cluster(),
			Nodes:         s.Nodes(),
			Logger:        s.Logger(),
			Config:        workerConfig(cfg, os.Getenv),
			OnFileChanged: s.FIDCache().InvalidateFID,
			CountStat:     s.CountStat,
		})
		if err != nil {
			return nil, err
		}
		for _, name := range []string{worker.JobJobMaster, worker.JobReplicate, worker.JobDelete, worker.JobFsck, worker.JobReaper} {
			s.AddJob(name, workerJob{w: w, name: name})
		}
		return w.Stop, nil
	}
}

// workerConfig is the workers' part of the tracker configuration; getenv
// reads the original's test hooks, which apply only with TESTING set.
func workerConfig(cfg tracker.Config, getenv func(string) string) worker.Config {
	wc := worker.Config{
		ReplicateJobs:          cfg.ReplicateJobs,
		DeleteJobs:             cfg.DeleteJobs,
		FsckJobs:               cfg.FsckJobs,
		ReaperJobs:             cfg.ReaperJobs,
		Hostname:               cfg.Hostname,
		RebalanceIgnoreMissing: cfg.RebalanceIgnoreMissing,
		ReplUseGetPort:         cfg.ReplUseGetPort,
		Testing:                cfg.Testing,
	}
	if cfg.JobMaster {
		wc.JobMaster = 1
	}
	if cfg.Testing {
		// The original's test hook for the tempfile reaper.
		if v, err := strconv.Atoi(getenv("T_TEMPFILE_TOO_OLD")); err == nil && v > 0 {
			wc.TempfileTooOld = time.Duration(v) * time.Second
		}
	}
	return wc
}

// workerJob adapts one worker pool to tracker.Job.
type workerJob struct {
	w    *worker.Workers
	name string
}

func (j workerJob) count() worker.JobCount {
	for _, c := range j.w.Jobs() {
		if c.Name == j.name {
			return c
		}
	}
	return worker.JobCount{Name: j.name}
}

func (j workerJob) Running() int  { return j.count().Count }
func (j workerJob) Desired() int  { return j.count().Desired }
func (j workerJob) Started() bool { return j.count().Started }
func (j workerJob) SetDesired(n int) {
	if n > 500 {
		n = 500
	}
	j.w.Want(j.name, n)
}

// Message is "!to <job> <message>".
func (j workerJob) Message(msg string) int {
	n, _ := j.w.Tell(j.name, msg)
	return n
}
