// Package fence keeps the holder of a lease from acting once the lease
// could have passed to someone else.
//
// A lease is a row with an expiry set by the database from its own clock
// when it ran the take or renewal; another holder can take the row once
// that clock has passed the expiry. The holder cannot see the database's
// clock, but it knows when it sent its last successful take or renewal:
// the database ran the statement later than that, so the lease cannot lapse
// before the send time plus the lifetime. The holder acts only until its
// deadline, that time minus a safety margin (clock skew between database
// nodes, a statement still in flight when the deadline passes). A Fence is
// the context that ends at that deadline, moved forward by every renewal.
package fence

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrLapsed is the cause of a fence's context that reached its deadline:
// the lease was not renewed in time and could pass to another holder.
var ErrLapsed = errors.New("lease not renewed in time: it could pass to another holder")

// ErrReleased is the cause of a fence's context ended by Stop.
var ErrReleased = errors.New("lease released")

// Times are the timings of a lease, derived from its lifetime.
type Times struct {
	TTL    time.Duration // lifetime of a take or renewal
	Renew  time.Duration // how often the holder renews
	Margin time.Duration // how long before the lease could lapse the holder stops
	Retry  time.Duration // pause after a failed renewal
}

// NewTimes derives the timings from a lifetime of whole seconds (at least
// 3 s): renewals every third of it, a margin of a sixth (at least 1 s),
// retries after a failed renewal every thirtieth (at least 250 ms).
func NewTimes(ttl time.Duration) Times {
	ttl = max(ttl.Truncate(time.Second), 3*time.Second)
	return Times{
		TTL:    ttl,
		Renew:  ttl / 3,
		Margin: max(ttl/6, time.Second),
		Retry:  max(ttl/30, 250*time.Millisecond),
	}
}

// Deadline is how long a holder may act on a take or renewal it sent at
// sent and that succeeded.
func (t Times) Deadline(sent time.Time) time.Time {
	return sent.Add(t.TTL - t.Margin)
}

// Fence is a context that ends at a deadline that renewals move forward,
// or when it is stopped. Its methods are safe for concurrent use.
type Fence struct {
	mu       sync.Mutex
	ctx      context.Context
	cancel   context.CancelCauseFunc
	timer    *time.Timer
	deadline time.Time
}

// New starts a fence under parent, ending at deadline.
func New(parent context.Context, deadline time.Time) *Fence {
	ctx, cancel := context.WithCancelCause(parent)
	f := &Fence{ctx: ctx, cancel: cancel, deadline: deadline}
	f.timer = time.AfterFunc(time.Until(deadline), func() { cancel(ErrLapsed) })
	return f
}

// Context ends at the deadline, on Stop, or with the parent; its
// context.Cause says which (ErrLapsed, ErrReleased).
func (f *Fence) Context() context.Context { return f.ctx }

// Deadline is the current deadline.
func (f *Fence) Deadline() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deadline
}

// Extend moves the deadline (after a successful renewal); it reports false
// and changes nothing when the fence has already ended: a holder whose
// fence ended must take the lease anew, never resume.
func (f *Fence) Extend(deadline time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil || !f.timer.Stop() {
		return false
	}
	f.deadline = deadline
	f.timer.Reset(time.Until(deadline))
	return true
}

// Stop ends the fence now (the lease was released or found lost), with
// cause (ErrReleased when nil).
func (f *Fence) Stop(cause error) {
	if cause == nil {
		cause = ErrReleased
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timer.Stop()
	f.cancel(cause)
}
