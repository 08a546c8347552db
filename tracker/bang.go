package tracker

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
)

// Job is a class of work that !jobs lists and "!want <count> <job>"
// resizes. The tracker registers queryworker and monitor itself;
// background workers register theirs with AddJob.
type Job interface {
	// Running is the number of goroutines doing this job now.
	Running() int
	// Desired is the number wanted.
	Desired() int
	// SetDesired changes the number wanted (already capped at 500, and
	// at 1 for job_master and monitor).
	SetDesired(n int)
	// Started reports whether the job ever ran: from then on !jobs lists
	// it, with "count 0" too, as the original lists every job class that
	// ever had a worker process.
	Started() bool
}

// validJobs are the job classes of the original, in its order.
var validJobs = []string{"delete", "fsck", "job_master", "monitor", "queryworker", "reaper", "replicate"}

type jobRegistry struct {
	mu   sync.Mutex
	jobs map[string]Job
	// want remembers "!want" for job classes nobody registered yet.
	want map[string]int
}

func newJobRegistry(s *Server) *jobRegistry {
	r := &jobRegistry{jobs: map[string]Job{}, want: map[string]int{}}
	r.jobs["queryworker"] = queryJob{s}
	r.jobs["monitor"] = monitorJob{s}
	return r
}

// AddJob registers a background job class for !jobs and !want.
func (s *Server) AddJob(name string, j Job) {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	s.jobs.jobs[name] = j
	if n, ok := s.jobs.want[name]; ok {
		j.SetDesired(n)
		delete(s.jobs.want, name)
	}
}

// queryJob is the query slots seen as the original's query workers.
// "!want 0 queryworker" is allowed: from then on new queries are accepted
// and wait (they show in !queue and as pending_queries in !stats) until
// the count is raised again, as the original queues them while it has no
// query worker; queries already running finish. Admin ("!") commands
// never need a slot, so the operator can always raise it again.
type queryJob struct{ s *Server }

// Running is 0 until the monitor's first round: like the original, which
// starts its query workers only then (tests wait for "queryworker count"
// before "!want"). While it shrinks, the queries still running above the
// new limit count too, as the original's busy workers do until they
// finish.
func (q queryJob) Running() int {
	if q.s.cl.RoundsCompleted() == 0 {
		return 0
	}
	_, running, _, limit := q.s.slots.state()
	return max(limit, running)
}
func (q queryJob) Desired() int {
	_, _, _, limit := q.s.slots.state()
	return limit
}
func (q queryJob) Started() bool { return q.s.cl.RoundsCompleted() > 0 }
func (q queryJob) SetDesired(n int) {
	have := q.Running()
	_, running, _, _ := q.s.slots.state()
	q.s.slots.setLimit(n)
	switch {
	case n > have:
		q.s.jobMessage("queryworker", have, n)
	case n < have:
		// The idle ones go at once; a busy one when its query is answered
		// (slots.leave).
		for range have - max(n, running) {
			q.s.childEnded("queryworker")
		}
	}
}

// monitorJob is the monitor: "!want 0 monitor" pauses its rounds and
// database reloads, "!want 1 monitor" resumes them. While it is paused
// the commands that wait for a monitor round (clear_cache, the admin
// changes) answer after reloading the database, with the devices as the
// last round saw them, instead of waiting for a round that would not come
// (the original's would wait forever).
type monitorJob struct{ s *Server }

func (m monitorJob) Running() int {
	if m.s.mon.Paused() {
		return 0
	}
	return 1
}
func (m monitorJob) Desired() int  { return m.Running() }
func (m monitorJob) Started() bool { return true }
func (m monitorJob) SetDesired(n int) {
	paused := n == 0
	if m.s.mon.Paused() == paused {
		return
	}
	m.s.mon.SetPaused(paused)
	if paused {
		m.s.childEnded("monitor")
	} else {
		m.s.jobMessage("monitor", 0, 1)
	}
}

// Message is "!to queryworker <message>": the original's query workers
// are processes that could be told to exit (and were restarted); the
// query slots have nothing to stop, so it only counts them.
func (q queryJob) Message(string) int { return q.Running() }

// Message is "!to monitor <message>": ":refresh_monitor" (or ":wake_up")
// starts a round now, as the original's monitor does on
// ":refresh_monitor"; other messages change nothing.
func (m monitorJob) Message(msg string) int {
	if m.Running() == 0 {
		return 0
	}
	if msg == ":refresh_monitor" || msg == ":wake_up" {
		m.s.cl.Kick()
	}
	return 1
}

// jobMessage is the original's line when it starts workers of a job.
func (s *Server) jobMessage(job string, have, want int) {
	s.log.Info(watchlog.Starting(job, have, want), watchlog.Tracker())
}

// childEnded is the original's line when a worker of job went because
// "!want" lowered the count.
func (s *Server) childEnded(job string) {
	s.log.Info(watchlog.Died(os.Getpid(), job, 0, true), watchlog.Tracker())
}

const bangHelp = `Mogilefsd admin commands:

    !version    Server version
    !recent     Recently executed queries and how long they took.
    !queue      Queries that are pending execution.
    !stats      General stats on what we're up to.
    !watch      Observe errors/messages from children.
    !jobs       Outstanding job counts, desired level, and pids.
    !shutdown   Immediately kill all of mogilefsd.

    !to <job class> <message>
                Send <message> to all workers of <job class>.
                Mostly used for debugging.

    !want <count> <job class>
                Alter the level of workers of this class desired.
                Example: !want 20 queryworker, !want 3 replicate.
                See !jobs for what jobs are available.

`

var (
	wantRe = regexp.MustCompile(`^(\d+)\s+(\S+)`)
	toRe   = regexp.MustCompile(`^(\S+)\s+(.+)`)
)

// bang answers an admin ("!") command: lines joined by "\r\n", then ".".
// The word is matched as a prefix (except "stats"), in the original's
// order.
func (s *Server) bang(c *conn, cmd, args string) string {
	if !s.adminAllowed(c, "!"+cmd) {
		return bangDenied
	}
	var out []string
	switch {
	case cmd == "stats":
		out = s.bangStats()
	case strings.HasPrefix(cmd, "shutdown"):
		s.log.Info("User requested shutdown: " + args)
		s.requestShutdown()
	case strings.HasPrefix(cmd, "jobs"):
		out = s.bangJobs()
	case strings.HasPrefix(cmd, "want"):
		out = []string{s.bangWant(args)}
	case strings.HasPrefix(cmd, "to"):
		out = []string{s.bangTo(args)}
	case strings.HasPrefix(cmd, "queue") || strings.HasPrefix(cmd, "pend"):
		out = s.slots.waiting()
	case strings.HasPrefix(cmd, "watch"):
		if s.watchers.toggle(c) {
			out = []string{"Added you to watcher list."}
		} else {
			out = []string{"Removed you from watcher list."}
		}
	case strings.HasPrefix(cmd, "recent"):
		out = s.recent.list()
	case strings.HasPrefix(cmd, "version"):
		out = []string{Version}
	default:
		return bangHelp + ".\r\n"
	}
	out = append(out, ".", "")
	return strings.Join(out, "\r\n")
}

func (s *Server) bangStats() []string {
	waiting, running, idle, _ := s.slots.state()
	out := []string{
		"uptime " + strconv.FormatInt(int64(time.Since(s.start)/time.Second), 10),
		"pending_queries " + strconv.Itoa(waiting),
		"processing_queries " + strconv.Itoa(running),
		"bored_queryworkers " + strconv.Itoa(idle),
	}
	st := s.stats.snapshot()
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+" "+strconv.FormatInt(st[k], 10))
	}
	return out
}

// bangJobs lists "<job> count|desired|pids" for every job that ever ran,
// sorted by name; "pids" is the tracker's, whose goroutines do the work,
// and empty at count 0 (the original's line then ends in a space).
func (s *Server) bangJobs() []string {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	names := make([]string, 0, len(s.jobs.jobs))
	for n := range s.jobs.jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	pid := strconv.Itoa(os.Getpid())
	var out []string
	for _, n := range names {
		j := s.jobs.jobs[n]
		if !j.Started() {
			continue
		}
		running := j.Running()
		pids := pid
		if running <= 0 {
			running, pids = 0, ""
		}
		out = append(out,
			n+" count "+strconv.Itoa(running),
			n+" desired "+strconv.Itoa(j.Desired()),
			n+" pids "+pids)
	}
	return out
}

func (s *Server) bangWant(args string) string {
	m := wantRe.FindStringSubmatch(args)
	if m == nil {
		return "ERROR: usage: !want <count> <jobclass>"
	}
	count, err := strconv.Atoi(m[1])
	if err != nil || count > 500 {
		count = 500
	}
	job := m[2]
	switch {
	case s.cl.RoundsCompleted() == 0:
		return "ERROR: Monitor has not completed initial run yet\n"
	case !isValidJob(job):
		return fmt.Sprintf("ERROR: Invalid class '%s'.  Valid classes: %s", job, strings.Join(validJobs, ", "))
	}
	// job_master and monitor silently stay at one at most.
	if !((job == "job_master" || job == "monitor") && count > 1) {
		s.jobs.mu.Lock()
		if j, ok := s.jobs.jobs[job]; ok {
			j.SetDesired(count)
		} else {
			s.jobs.want[job] = count
		}
		s.jobs.mu.Unlock()
	}
	return fmt.Sprintf("Now desiring %d children doing '%s'.", count, job)
}

func (s *Server) bangTo(args string) string {
	m := toRe.FindStringSubmatch(args)
	if m == nil {
		return "ERROR: usage: !to <jobclass> <message>"
	}
	n := 0
	s.jobs.mu.Lock()
	if j, ok := s.jobs.jobs[m[1]]; ok {
		if mr, ok := j.(interface{ Message(string) int }); ok {
			n = mr.Message(m[2])
		}
	}
	s.jobs.mu.Unlock()
	return fmt.Sprintf("Message sent to %d children.", n)
}

func isValidJob(j string) bool {
	for _, v := range validJobs {
		if v == j {
			return true
		}
	}
	return false
}

// CountStat adds n to a !stats counter (e.g. "work_queue_for_replicate"
// from the job master, "work_sent_to_delete" from a worker pool).
func (s *Server) CountStat(name string, n int64) { s.stats.add(name, n) }
