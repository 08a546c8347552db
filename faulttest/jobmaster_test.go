package faulttest

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// The job-master checks: who is job master, from the lease row in the
// database and from the trackers' logs.

// jobMasterTTL is the tracker's job-master lease lifetime; a standby
// tries to take the lease every jobMasterPoll (tracker/worker/master.go).
const (
	jobMasterTTL  = 30 * time.Second
	jobMasterPoll = time.Second
)

// jobMasterTakeover bounds the time from the death of a job master to
// the start of the next: the lease lives jobMasterTTL after its last
// renewal (which was before the death), the database clock counts whole
// seconds, a standby looks every jobMasterPoll, and its statement takes a
// moment on a loaded machine (the last second).
const jobMasterTakeover = jobMasterTTL + time.Second + jobMasterPoll + time.Second

// leaseWatch polls the lease row "mgfs:job_master" until stopped. It
// records a change of holder before the old holder's lease expired (which
// the database must never allow) and the longest time no lease was live.
type leaseWatch struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	polls      int
	errs       int
	violations []string
	holders    []string // in the order they held the lease
	last       struct {
		holder  string
		expires int64
	}
	gapFrom time.Time // zero while a lease is live
	maxGap  time.Duration
	// released is a holder the test stopped cleanly: it deleted its
	// row, which may pass to another before its expiry.
	released string
}

func watchLease(db *sql.DB) *leaseWatch {
	w := &leaseWatch{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *leaseWatch) run() {
	defer close(w.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		w.poll()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

func (w *leaseWatch) poll() {
	var holder string
	var expires, now int64
	err := w.db.QueryRow("SELECT holder, expires, UNIX_TIMESTAMP() FROM tracker_lock WHERE name = 'mgfs:job_master'").Scan(&holder, &expires, &now)
	at := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		holder = ""
	case err != nil:
		// Table not made yet, or the node is busy: no observation.
		w.errs++
		return
	}
	w.polls++
	live := holder != "" && expires >= now
	if live && w.last.holder != "" && holder != w.last.holder && now <= w.last.expires && w.last.holder != w.released {
		w.violations = append(w.violations, fmt.Sprintf("lease passed from %s to %s at database time %d, before %s's lease ended at %d",
			w.last.holder, holder, now, w.last.holder, w.last.expires))
	}
	if live {
		if holder != w.last.holder {
			w.holders = append(w.holders, holder)
		}
		w.last.holder, w.last.expires = holder, expires
		if !w.gapFrom.IsZero() {
			w.maxGap = max(w.maxGap, at.Sub(w.gapFrom))
			w.gapFrom = time.Time{}
		}
	} else if w.gapFrom.IsZero() {
		w.gapFrom = at
	}
}

// release says that holder is being stopped cleanly (it deletes its row).
func (w *leaseWatch) release(holder string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.released = holder
}

// current is the holder of the live lease at the last poll ("" if none).
func (w *leaseWatch) current() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.gapFrom.IsZero() {
		return ""
	}
	return w.last.holder
}

// finish stops the polls and checks what they saw: it returns the
// longest time without a live lease.
func (w *leaseWatch) finish(t *testing.T) time.Duration {
	t.Helper()
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.violations {
		t.Error(v)
	}
	if w.polls == 0 {
		t.Errorf("the lease row was never read (%d errors)", w.errs)
	}
	t.Logf("lease row: %d polls, holders in turn %v, longest without a live lease %v", w.polls, w.holders, w.maxGap.Round(time.Millisecond))
	return w.maxGap
}

// masterTerm is one tracker process's time as job master, from its log.
type masterTerm struct {
	holder   string
	from, to time.Time
	ended    string // why to is where it is
}

var (
	masterLogRe = regexp.MustCompile(`^time=(\S+) .*msg="job master: this tracker is (now|no longer) job master" tracker=(\S+)`)
)

// trackerRun is one tracker process whose log says when it was job
// master; exited is when it was seen dead (zero: still running).
type trackerRun struct {
	name   string
	proc   *mogtest.Proc
	exited time.Time
}

// masterTerms reads the job-master terms from the runs' logs. A term
// still open ends when its process was seen dead, or at now.
func masterTerms(t *testing.T, runs []trackerRun, now time.Time) []masterTerm {
	t.Helper()
	var terms []masterTerm
	for _, r := range runs {
		var open *masterTerm
		for _, line := range strings.Split(r.proc.Output(), "\n") {
			m := masterLogRe.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				t.Fatalf("%s: log time %q: %v", r.name, m[1], err)
			}
			switch {
			case m[2] == "now" && open == nil:
				open = &masterTerm{holder: r.name + " " + m[3], from: at}
			case m[2] == "now":
				t.Errorf("%s: became job master at %v while already job master since %v", r.name, at, open.from)
			case open == nil:
				t.Errorf("%s: stopped being job master at %v without having been it", r.name, at)
			default:
				open.to, open.ended = at, "stopped"
				terms = append(terms, *open)
				open = nil
			}
		}
		if open != nil {
			open.to, open.ended = now, "still job master"
			if !r.exited.IsZero() {
				open.to, open.ended = r.exited, "killed"
			}
			terms = append(terms, *open)
		}
	}
	sort.Slice(terms, func(i, j int) bool { return terms[i].from.Before(terms[j].from) })
	return terms
}

// checkMasterTerms fails the test if two terms overlap at all, and if
// after a job master was killed no one was job master for longer than
// jobMasterTakeover. It returns the takeover times after kills.
func checkMasterTerms(t *testing.T, terms []masterTerm) []time.Duration {
	t.Helper()
	var takeovers []time.Duration
	for i, a := range terms {
		t.Logf("job master %s from %s to %s (%s)", a.holder, a.from.Format("15:04:05.000"), a.to.Format("15:04:05.000"), a.ended)
		if i+1 >= len(terms) {
			continue
		}
		b := terms[i+1]
		if b.from.Before(a.to) {
			t.Errorf("two job masters: %s from %v to %v (%s) and %s from %v", a.holder, a.from, a.to, a.ended, b.holder, b.from)
		}
		if a.ended == "killed" {
			d := b.from.Sub(a.to)
			takeovers = append(takeovers, d)
			if d > jobMasterTakeover {
				t.Errorf("no job master for %v after %s was killed, want at most %v", d, a.holder, jobMasterTakeover)
			}
		}
	}
	if len(terms) == 0 {
		t.Error("no tracker was ever job master")
	}
	return takeovers
}

// holderPID is the process id in a lease holder name (host:pid:nonce).
func holderPID(holder string) string {
	parts := strings.Split(holder, ":")
	if len(parts) < 3 {
		return ""
	}
	return parts[len(parts)-2]
}

// makeJobMaster waits until tracker a holds the job-master lease, asking
// b to restart its job master (which gives the lease up) while b holds it.
func makeJobMaster(t *testing.T, lease *leaseWatch, a, b *mogtest.Tracker) {
	t.Helper()
	aPID := fmt.Sprint(a.Proc.Cmd.Process.Pid)
	bPID := fmt.Sprint(b.Proc.Cmd.Process.Pid)
	bc := b.Conn(t)
	defer bc.Close()
	var asked time.Time
	waitFor(t, "tracker A to be job master", 2*jobMasterTakeover, func() (bool, string) {
		h := lease.current()
		switch holderPID(h) {
		case aPID:
			return true, ""
		case bPID:
			if time.Since(asked) > 3*time.Second {
				asked = time.Now()
				if _, err := bc.Bang("!to job_master :shutdown"); err != nil {
					return false, err.Error()
				}
			}
		}
		return false, "lease holder " + h
	})
}

// stopJobMaster stops (SIGTERM) whichever of a and b is job master, waits
// for the other to take over and checks the run's job-master terms from
// the database and both logs. It returns the time from the stop to the
// takeover.
func stopJobMaster(t *testing.T, lease *leaseWatch, a, b *mogtest.Tracker) time.Duration {
	t.Helper()
	var master string
	waitFor(t, "a job master", jobMasterTakeover, func() (bool, string) {
		master = lease.current()
		return master != "", "no live lease"
	})
	runs := []trackerRun{{name: "A", proc: a.Proc}, {name: "B", proc: b.Proc}}
	i := 0
	if holderPID(master) == fmt.Sprint(b.Proc.Cmd.Process.Pid) {
		i = 1
	}
	lease.release(master)
	stop := time.Now()
	if err := runs[i].proc.Stop(30 * time.Second); err != nil {
		t.Errorf("stopping the job master: %v", err)
	}
	runs[i].exited = time.Now()
	waitFor(t, "the other tracker to take over", jobMasterPoll+10*time.Second, func() (bool, string) {
		h := lease.current()
		return h != "" && h != master, "lease holder " + h
	})
	took := time.Since(stop)
	lease.finish(t)
	checkMasterTerms(t, masterTerms(t, runs, time.Now()))
	return took
}
