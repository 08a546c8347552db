package watchlog

import "testing"

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		job, msg string
		debug    bool
		want     string
	}{
		{"", "Job fsck has only 0, wants 1, making 1.", false, "Job fsck has only 0, wants 1, making 1."},
		{"fsck", "Connectivity problem reaching device 3 on host 10.0.0.1", false, "[fsck(42)] Connectivity problem reaching device 3 on host 10.0.0.1"},
		{"fsck", "Fixing FID 7", true, "[debug] [fsck(42)] Fixing FID 7"},
		{"", "Monitor running", true, "[debug] Monitor running"},
	} {
		if got := Line(tc.job, tc.msg, 42, tc.debug); got != tc.want {
			t.Errorf("Line(%q, %q, 42, %v) = %q, want %q", tc.job, tc.msg, tc.debug, got, tc.want)
		}
	}
	if a := Job("fsck"); a.Key != Key || a.Value.String() != "fsck" {
		t.Errorf("Job: %v", a)
	}
	if a := Tracker(); a.Key != Key || a.Value.String() != "" {
		t.Errorf("Tracker: %v", a)
	}
}

func TestWorkerLines(t *testing.T) {
	if got, want := Starting("fsck", 0, 2), "Job fsck has only 0, wants 2, making 2."; got != want {
		t.Errorf("Starting: %q, want %q", got, want)
	}
	if got, want := Died(42, "job_master", 0, false), "Child 42 (job_master) died: 0 (UNEXPECTED)"; got != want {
		t.Errorf("Died: %q, want %q", got, want)
	}
	if got, want := Died(42, "replicate", 0, true), "Child 42 (replicate) died: 0 (expected)"; got != want {
		t.Errorf("Died: %q, want %q", got, want)
	}
}
