package sqlstore

import (
	"context"
	"fmt"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// QueueDue counts the rows of a queue whose nexttry is due now (by the
// database clock): for file_to_replicate, the replication backlog. Rows
// leased by a worker (nexttry pushed ahead) are not due.
func (s *Store) QueueDue(ctx context.Context, q store.Queue) (int64, error) {
	qs, err := queueOf(q)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: queue due: %w", err)
	}
	var n int64
	err = s.read(ctx, func(r *runner) error {
		return r.queryRow("SELECT COUNT(*) FROM " + qs.table + " WHERE nexttry <= {now}" + qs.where).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: rows due in %s: %w", qs, err)
	}
	return n, nil
}
