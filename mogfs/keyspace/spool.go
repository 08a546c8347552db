package keyspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ErrSpoolFull reports a write that found no room in the spool within
// the spool's wait.
var ErrSpoolFull = errors.New("write spool is full")

// Spool is the local staging area of writes: unlinked temporary files in
// one directory, and a bound on the bytes they hold together. A write
// that would pass the bound waits for other files to be committed and
// released, up to Wait, and then fails with ErrSpoolFull.
type Spool struct {
	dir   string
	limit int64
	// Wait is how long a write waits for room.
	Wait time.Duration

	mu   sync.Mutex
	cond *sync.Cond
	used int64
}

// NewSpool makes a spool in dir (created if needed) holding at most limit
// bytes. Its files are unlinked as soon as they are created, so nothing is
// left behind in dir, whatever way the process ends; several mounts may
// share one dir.
func NewSpool(dir string, limit int64) (*Spool, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("spool: size limit must be positive, not %d", limit)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	probe, err := os.CreateTemp(dir, ".mogfs-probe-")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())
	s := &Spool{dir: dir, limit: limit, Wait: 30 * time.Second}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Limit returns the bound in bytes.
func (s *Spool) Limit() int64 { return s.limit }

// Used returns the bytes currently reserved.
func (s *Spool) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// create returns a new unlinked file in the spool.
func (s *Spool) create() (*os.File, error) {
	f, err := os.CreateTemp(s.dir, ".mogfs-spool-")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	return f, nil
}

// reserve takes n bytes of the bound, waiting for room up to s.Wait or
// until ctx ends.
func (s *Spool) reserve(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	if n > s.limit {
		return fmt.Errorf("%w: %d bytes asked, limit is %d", ErrSpoolFull, n, s.limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+n <= s.limit {
		s.used += n
		return nil
	}
	deadline := time.Now().Add(s.Wait)
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	t := time.AfterFunc(s.Wait, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer t.Stop()
	for s.used+n > s.limit {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w: %d of %d bytes in use", ErrSpoolFull, s.used, s.limit)
		}
		s.cond.Wait()
	}
	s.used += n
	return nil
}

// release gives n bytes back.
func (s *Spool) release(n int64) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.used -= n
	if s.used < 0 {
		s.used = 0
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}
