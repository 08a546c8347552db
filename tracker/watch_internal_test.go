package tracker

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
)

// TestWatchLines: a watcher sees the marked records in the original's
// words (debug ones only when the log is at debug level) and the unmarked
// warnings and errors with their attributes, nothing else; the log itself
// gets "job=<job>" instead of the mark.
func TestWatchLines(t *testing.T) {
	for _, debug := range []bool{false, true} {
		level := slog.LevelInfo
		if debug {
			level = slog.LevelDebug
		}
		var logged bytes.Buffer
		w := newWatchers()
		ch := make(chan string, 100)
		w.set[nil] = ch // a watcher without a connection: its lines stay in ch
		log := slog.New(teeHandler{inner: slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: level}), w: w, pid: 42})

		log.Info("Job fsck has only 0, wants 1, making 1.", watchlog.Tracker())
		log.Error("Connectivity problem reaching device 3 on host 10.0.0.1\n", "devid", 3, watchlog.Job("fsck"))
		log.Debug("Fixing FID 7", watchlog.Job("fsck"))
		log.With("fid", 9).Warn("could not return leased queue row", "err", "gone")
		log.Info("domain created", "domain", "d")

		want := []string{
			"Job fsck has only 0, wants 1, making 1.",
			"[fsck(42)] Connectivity problem reaching device 3 on host 10.0.0.1",
		}
		if debug {
			want = append(want, "[debug] [fsck(42)] Fixing FID 7")
		}
		want = append(want, "could not return leased queue row fid=9 err=gone")
		var got []string
		for len(ch) > 0 {
			got = append(got, <-ch)
		}
		if !slices.Equal(got, want) {
			t.Errorf("debug=%v: watch lines %q, want %q", debug, got, want)
		}
		out := logged.String()
		if strings.Contains(out, "watch=") || !strings.Contains(out, "job=fsck") {
			t.Errorf("debug=%v: log keeps the mark or loses the job:\n%s", debug, out)
		}
	}
}
