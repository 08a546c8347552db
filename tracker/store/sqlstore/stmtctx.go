package sqlstore

import "context"

// stmtContext returns the context to run r's next statement with, or the
// error of r.ctx once that has ended.
//
// On SQLite the driver is handed a context that cannot be cancelled: for
// every statement whose context can end, modernc.org/sqlite starts a
// goroutine that waits to interrupt it (and database/sql one more per
// query, to close its rows), which costs more CPU than the tracker's
// small statements themselves. Instead r.ctx is checked before each
// statement, so an ended context still stops a transaction or a batch at
// the next statement; a statement already running finishes (SQLite's
// lock waits are bounded by busy_timeout). MySQL keeps the real context:
// its driver watches it on a goroutine per connection, and a statement
// waiting on the network or on a row lock must be abandoned when it ends.
func (r *runner) stmtContext() (context.Context, error) {
	if r.sctx == nil {
		r.sctx = r.ctx
		if r.cache.d.backend() == SQLite {
			r.sctx = context.WithoutCancel(r.ctx)
		}
	}
	if r.sctx != r.ctx {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
	}
	return r.sctx, nil
}
