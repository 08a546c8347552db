package s3

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// The sweep of abandoned multipart uploads (docs/s3.md §6): uploads whose
// record is older than Config.AbandonedUploads are aborted, once every
// Config.SweepEvery, by the one gateway of the cluster holding the
// trackers' s3_lock lease "abandoned-uploads".

// Defaults of the sweep.
const (
	DefaultAbandonedUploads = 7 * 24 * time.Hour
	DefaultSweepEvery       = time.Hour
)

const sweepLock = "abandoned-uploads"

// sweepLoop sweeps every SweepEvery until ctx ends.
func (s *Server) sweepLoop(ctx context.Context) {
	if s.cfg.AbandonedUploads < 0 {
		return
	}
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.SweepUploads(ctx, s.cfg.AbandonedUploads)
		switch {
		case err != nil:
			s.log.Warn("s3: sweep of abandoned uploads failed", "err", err, "aborted", n)
		case n > 0:
			s.log.Info("s3: abandoned uploads aborted", "count", n)
		}
	}
}

// SweepUploads aborts, in every bucket, the multipart uploads created
// more than olderThan ago, under the trackers' lease (nothing is done
// while another gateway holds it). It returns how many it aborted.
func (s *Server) SweepUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	ttl := max(s.cfg.SweepEvery, time.Minute)
	asked := time.Now()
	a, err := s.base.Do(ctx, "s3_lock", map[string]string{"name": sweepLock, "ttl": strconv.Itoa(int(ttl.Seconds()))})
	if err != nil {
		return 0, fmt.Errorf("take the sweep lease: %w", err)
	}
	if a["locked"] != "1" {
		return 0, nil
	}
	defer func() {
		_, err := s.base.Do(context.WithoutCancel(ctx), "s3_unlock", map[string]string{"name": sweepLock, "token": a["token"]})
		if err != nil && !client.IsCode(err, "not_locked") {
			s.log.Warn("s3: sweep lease not released (it ends with its ttl)", "err", err)
		}
	}()
	// The tracker granted the lease after it was asked for, so it lasts
	// at least until asked+ttl; the sweep stops a tenth of it before, so
	// that no two gateways sweep at once even when this one is slow.
	return s.sweepBy(ctx, olderThan, asked.Add(ttl-ttl/10))
}

// errLeaseEnded ends a sweep that reached its lease's deadline.
var errLeaseEnded = errors.New("the sweep lease is about to end")

// sweepBy sweeps until deadline, the end of its lease.
func (s *Server) sweepBy(ctx context.Context, olderThan time.Duration, deadline time.Time) (int, error) {
	ctx, cancel := context.WithDeadlineCause(ctx, deadline, errLeaseEnded)
	defer cancel()
	doms, err := s.base.Domains(ctx)
	if err != nil {
		return 0, fmt.Errorf("list buckets: %w", leaseErr(ctx, err))
	}
	n := 0
	for _, d := range doms {
		c := &call{s: s, ctx: ctx, bucket: d.Name}
		ups, err := c.uploads()
		if err != nil {
			return n, fmt.Errorf("uploads of bucket %q: %w", d.Name, leaseErr(ctx, err))
		}
		for _, u := range ups {
			if time.Since(u.created) < olderThan {
				continue
			}
			if ctx.Err() != nil {
				return n, fmt.Errorf("abort upload %s of bucket %q: %w", u.id, d.Name, context.Cause(ctx))
			}
			if err := c.dropUpload(u.id); err != nil {
				return n, fmt.Errorf("abort upload %s of bucket %q: %w", u.id, d.Name, leaseErr(ctx, err))
			}
			s.log.Info("s3: abandoned upload aborted", "bucket", d.Name, "key", u.key, "upload", u.id, "created", u.created)
			n++
		}
	}
	return n, nil
}

// leaseErr returns the lease's end as the cause of err when the sweep's
// context ended with it.
func leaseErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errLeaseEnded) {
		return fmt.Errorf("%w (%w)", errLeaseEnded, err)
	}
	return err
}
