package s3

import (
	"context"
	"time"
)

// SweepUploadsBy is sweepBy for the tests: a sweep whose lease ends at
// deadline.
func (s *Server) SweepUploadsBy(ctx context.Context, olderThan time.Duration, deadline time.Time) (int, error) {
	return s.sweepBy(ctx, olderThan, deadline)
}

// ErrLeaseEnded is errLeaseEnded for the tests.
var ErrLeaseEnded = errLeaseEnded
