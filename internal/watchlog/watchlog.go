// Package watchlog marks the log records that a tracker's "!watch"
// connections see in the original mogilefsd's words.
//
// The original sends a watcher the messages its processes pass to
// error(): the parent's own ("Job fsck has only 0, wants 1, making 1.")
// as they are, a worker's prefixed with its job and process id
// ("[fsck(4242)] Connectivity problem reaching device 3 on host
// 10.0.0.1"). Operators and the original's own tests wait for those lines,
// so a record meant for them carries the Key attribute with the job that
// wrote it, and its message is the original's text; the tracker formats it
// with Line. This tracker runs its workers as goroutines of one process,
// so the process id in the prefix is the tracker's, as in "!jobs".
package watchlog

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Key is the attribute that marks a record for "!watch". Its value is the
// job whose worker logged it ("fsck", "replicate", "queryworker", ...), or
// "" for the tracker's own messages.
const Key = "watch"

// Tracker marks a message of the tracker itself (the original's parent
// process).
func Tracker() slog.Attr { return slog.String(Key, "") }

// Job marks a message of a worker of job.
func Job(job string) slog.Attr { return slog.String(Key, job) }

// Line is the "!watch" line of a marked record: msg alone for the tracker,
// "[job(pid)] msg" for a worker, and "[debug] " before either for a
// debug-level record (the original's debug()).
func Line(job, msg string, pid int, debug bool) string {
	if job != "" {
		msg = "[" + job + "(" + strconv.Itoa(pid) + ")] " + msg
	}
	if debug {
		msg = "[debug] " + msg
	}
	return msg
}

// Starting is the original's line before it starts want-have workers of
// job.
func Starting(job string, have, want int) string {
	return fmt.Sprintf("Job %s has only %d, wants %d, making %d.", job, have, want, want-have)
}

// Died is the original's line after a worker process of job ended with
// exit status status; expected when the tracker had asked it to go
// ("!want" lowered the count).
func Died(pid int, job string, status int, expected bool) string {
	how := "UNEXPECTED"
	if expected {
		how = "expected"
	}
	return fmt.Sprintf("Child %d (%s) died: %d (%s)", pid, job, status, how)
}
