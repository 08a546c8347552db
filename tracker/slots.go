package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/watchlog"
)

// slots bounds the queries running at once (query_jobs, changed by
// "!want N queryworker", 0 included) and remembers the waiting ones for
// !queue.
type slots struct {
	mu      sync.Mutex
	cond    *sync.Cond
	limit   int
	busy    int
	seq     uint64
	pending map[uint64]string
	closed  bool // shutting down: with limit 0 nothing would ever run
}

type pending struct {
	id     uint64
	waited bool
}

func newSlots(n int) *slots {
	s := &slots{limit: n, pending: map[uint64]string{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// enter waits for a free slot; "ip line" is shown by !queue meanwhile. It
// returns false, without a slot, when the tracker shuts down while the
// limit is 0.
func (s *slots) enter(ip, line string) (pending, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	p := pending{id: s.seq}
	if s.busy >= s.limit {
		p.waited = true
		s.pending[p.id] = ip + " " + line
		for s.busy >= s.limit && !(s.closed && s.limit == 0) {
			s.cond.Wait()
		}
		delete(s.pending, p.id)
		if s.busy >= s.limit {
			return p, false
		}
	}
	s.busy++
	return p, true
}

// leave frees the slot; it reports whether the slot was above the limit
// (the count was lowered while its query ran).
func (s *slots) leave(pending) (over bool) {
	s.mu.Lock()
	over = s.busy > s.limit
	s.busy--
	s.mu.Unlock()
	s.cond.Signal()
	return over
}

func (s *slots) setLimit(n int) {
	s.mu.Lock()
	s.limit = n
	s.mu.Unlock()
	s.cond.Broadcast()
}

// close makes the queries waiting for a slot that will never come (limit
// 0) give up: at shutdown.
func (s *slots) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// state returns (waiting, running, idle slots, limit).
func (s *slots) state() (int, int, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idle := s.limit - s.busy
	if idle < 0 {
		idle = 0
	}
	return len(s.pending), s.busy, idle, s.limit
}

func (s *slots) waiting() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]uint64, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.pending[id]
	}
	return out
}

// counters are the !stats counters.
type counters struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counters) add(k string, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[k] += n
	c.mu.Unlock()
}

func (c *counters) get(k string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *counters) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// recentLog keeps the last 50 finished queries for !recent. They are
// formatted only when listed: every query is added, few are ever shown.
type recentLog struct {
	mu    sync.Mutex
	ring  [50]recentQuery
	next  int // index of the oldest entry once full
	count int
}

type recentQuery struct {
	ip, line    string
	total, work time.Duration
}

func (r *recentLog) add(ip, line string, total, work time.Duration) {
	r.mu.Lock()
	r.ring[r.next] = recentQuery{ip, line, total, work}
	r.next = (r.next + 1) % len(r.ring)
	if r.count < len(r.ring) {
		r.count++
	}
	r.mu.Unlock()
}

// list returns "ip line total work" per query, oldest first.
func (r *recentLog) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, r.count)
	start := (r.next - r.count + len(r.ring)) % len(r.ring)
	for i := 0; i < r.count; i++ {
		q := r.ring[(start+i)%len(r.ring)]
		out = append(out, fmt.Sprintf("%s %s %.4f %.4f", q.ip, q.line, q.total.Seconds(), q.work.Seconds()))
	}
	return out
}

// watchers are the connections that asked for !watch.
type watchers struct {
	mu  sync.Mutex
	set map[*conn]chan string
}

func newWatchers() *watchers { return &watchers{set: map[*conn]chan string{}} }

// toggle adds c (true) or removes it (false).
func (w *watchers) toggle(c *conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.set[c]; ok {
		close(ch)
		delete(w.set, c)
		return false
	}
	ch := make(chan string, 256)
	w.set[c] = ch
	go func() {
		for msg := range ch {
			c.watchMessage(msg)
		}
	}()
	return true
}

func (w *watchers) remove(c *conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.set[c]; ok {
		close(ch)
		delete(w.set, c)
	}
}

// send queues msg for every watcher; a watcher that falls behind loses
// messages rather than slowing the tracker.
func (w *watchers) send(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.set {
		select {
		case ch <- msg:
		default:
		}
	}
}

func (w *watchers) any() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.set) > 0
}

// teeHandler sends log records to the !watch connections, one line each:
// a record marked with watchlog.Key as the original words it (a debug one
// only when the tracker logs at debug level, as the original's debug()
// needs --debug), an unmarked one of level warning and above as its
// message and attributes. Other records only go to the log.
type teeHandler struct {
	inner slog.Handler
	w     *watchers
	attrs []slog.Attr
	pid   int // the "pid" of "[job(pid)]": the tracker's
}

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	// Debug records reach the watchers only when the log takes them.
	return h.inner.Enabled(ctx, l) || (l >= slog.LevelInfo && h.w.any())
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.w.any() {
		if line, ok := h.watchLine(ctx, r); ok {
			h.w.send(strings.ReplaceAll(strings.ReplaceAll(line, "\r", " "), "\n", " "))
		}
	}
	if h.inner.Enabled(ctx, r.Level) {
		return h.inner.Handle(ctx, logRecord(r))
	}
	return nil
}

// logRecord is r for the log: the !watch mark becomes "job=<job>", or
// goes for the tracker's own lines.
func logRecord(r slog.Record) slog.Record {
	marked := false
	r.Attrs(func(a slog.Attr) bool {
		marked = a.Key == watchlog.Key
		return !marked
	})
	if !marked {
		return r
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key != watchlog.Key:
			out.AddAttrs(a)
		case a.Value.String() != "":
			out.AddAttrs(slog.String("job", a.Value.String()))
		}
		return true
	})
	return out
}

// watchLine is what the watchers see of r, if anything.
func (h teeHandler) watchLine(ctx context.Context, r slog.Record) (string, bool) {
	job, marked := "", false
	find := func(a slog.Attr) bool {
		if a.Key == watchlog.Key {
			job, marked = a.Value.String(), true
			return false
		}
		return true
	}
	for _, a := range h.attrs {
		if !find(a) {
			break
		}
	}
	if !marked {
		r.Attrs(find)
	}
	if marked {
		if r.Level < slog.LevelInfo && !h.inner.Enabled(ctx, r.Level) {
			return "", false
		}
		return watchlog.Line(job, strings.TrimRight(r.Message, " \t\r\n"), h.pid, r.Level < slog.LevelInfo), true
	}
	if r.Level < slog.LevelWarn {
		return "", false
	}
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		b.WriteString(" ")
		b.WriteString(a.Key)
		b.WriteString("=")
		b.WriteString(a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	return b.String(), true
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{inner: h.inner.WithAttrs(as), w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), as...), pid: h.pid}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{inner: h.inner.WithGroup(name), w: h.w, attrs: h.attrs, pid: h.pid}
}
