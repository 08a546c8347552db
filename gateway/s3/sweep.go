package s3

import (
	"context"
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
	doms, err := s.base.Domains(ctx)
	if err != nil {
		return 0, fmt.Errorf("list buckets: %w", err)
	}
	n := 0
	for _, d := range doms {
		c := &call{s: s, ctx: ctx, bucket: d.Name}
		ups, err := c.uploads()
		if err != nil {
			return n, fmt.Errorf("uploads of bucket %q: %w", d.Name, err)
		}
		for _, u := range ups {
			if time.Since(u.created) < olderThan {
				continue
			}
			if err := c.dropUpload(u.id); err != nil {
				return n, fmt.Errorf("abort upload %s of bucket %q: %w", u.id, d.Name, err)
			}
			s.log.Info("s3: abandoned upload aborted", "bucket", d.Name, "key", u.key, "upload", u.id, "created", u.created)
			n++
		}
	}
	return n, nil
}
