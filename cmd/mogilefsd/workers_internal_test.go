package main

import (
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/tracker"
)

// The tracker's TESTING mode reaches the workers, with the original's
// T_TEMPFILE_TOO_OLD hook; without it neither applies.
func TestWorkerConfigTesting(t *testing.T) {
	env := func(k string) string {
		if k == "T_TEMPFILE_TOO_OLD" {
			return "7"
		}
		return ""
	}
	cfg := tracker.Config{ReplicateJobs: 3, DeleteJobs: 2, JobMaster: true, Hostname: "h", Testing: true}
	wc := workerConfig(cfg, env)
	if !wc.Testing || wc.TempfileTooOld != 7*time.Second || wc.ReplicateJobs != 3 || wc.DeleteJobs != 2 || wc.JobMaster != 1 || wc.Hostname != "h" {
		t.Fatalf("TESTING: %+v", wc)
	}
	cfg.Testing = false
	wc = workerConfig(cfg, env)
	if wc.Testing || wc.TempfileTooOld != 0 {
		t.Fatalf("without TESTING: %+v", wc)
	}
}
