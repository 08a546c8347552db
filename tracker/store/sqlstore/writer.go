package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// writer owns the one SQLite writer connection and group-commits: it
// takes every write waiting when it is free and runs them as steps of one
// BEGIN IMMEDIATE transaction, each inside its own SAVEPOINT so a failing
// step is undone alone. A commit then writes each changed page once per
// batch instead of once per request, which is what makes thousands of
// uploads per second possible on SQLite.
type writer struct {
	s     *Store
	conn  *sql.Conn
	cache *stmtCache
	ops   chan *writeOp
	done  chan struct{} // closed when the loop has exited
	quit  chan struct{} // closed by stop
}

type writeOp struct {
	ctx    context.Context
	fn     func(r *runner) error
	result chan error
}

// maxBatch bounds the steps of one transaction.
const maxBatch = 256

// stepTimeout bounds how long one batch's statements may run; ops' own
// contexts are not used for statements, because interrupting a statement
// inside a transaction would roll back the other steps of the batch.
const stepTimeout = time.Minute

var errClosed = errors.New("sqlstore: store is closed")

func startWriter(ctx context.Context, s *Store) (*writer, error) {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: writer connection: %w", s.target.Where(), err)
	}
	w := &writer{
		s:     s,
		conn:  conn,
		cache: newStmtCache(conn, s.d),
		ops:   make(chan *writeOp),
		done:  make(chan struct{}),
		quit:  make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

// do runs fn as one step of a write transaction and returns its error, or
// the transaction's if the commit failed. Once accepted, a step always
// runs to its end (even if ctx is cancelled meanwhile) so that the result
// says what happened.
func (w *writer) do(ctx context.Context, fn func(r *runner) error) error {
	op := &writeOp{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-w.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.result
}

func (w *writer) stop() {
	close(w.quit)
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	defer func() {
		w.cache.close()
		w.conn.Close()
	}()
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-w.ops:
			batch = append(batch[:0], op)
		case <-w.quit:
			return
		}
		batch = w.gather(batch)
		w.run(batch)
	}
}

// gather adds the steps that are waiting to the batch. Before each look it
// yields, so that callers whose steps just finished can submit their next
// ones and join this batch instead of waiting a whole commit; it stops
// when a look finds nothing new.
func (w *writer) gather(batch []*writeOp) []*writeOp {
	for len(batch) < maxBatch {
		runtime.Gosched()
		n := len(batch)
	more:
		for len(batch) < maxBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		if len(batch) == n {
			return batch
		}
	}
	return batch
}

// run executes one batch and answers every op in it.
func (w *writer) run(batch []*writeOp) {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	results := make([]error, len(batch))
	err := w.runTx(ctx, batch, results)
	for i, op := range batch {
		if err != nil {
			results[i] = err
		}
		op.result <- results[i]
	}
}

// exec runs a transaction control statement, prepared once. As for the
// steps' statements (see stmtContext), ctx is checked here rather than
// handed to the driver.
func (w *writer) exec(ctx context.Context, q string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	st, err := w.cache.stmt(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx)
	return err
}

// errStepFailed makes runTx take the careful path.
var errStepFailed = errors.New("a step failed")

// runTx runs the batch in one transaction. Steps rarely fail, so it first
// runs them without savepoints; if one fails, that attempt is rolled back
// and the batch runs again with a savepoint around each step, so that the
// failed step is undone alone. Every step must tolerate running twice,
// which write's retry contract already demands.
func (w *writer) runTx(ctx context.Context, batch []*writeOp, results []error) error {
	err := w.attempt(ctx, batch, results, false)
	if err == errStepFailed && len(batch) > 1 {
		clear(results)
		err = w.attempt(ctx, batch, results, true)
	}
	if err == errStepFailed {
		return nil // the one step's own error is its result
	}
	return err
}

func (w *writer) attempt(ctx context.Context, batch []*writeOp, results []error, savepoints bool) (err error) {
	if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.exec(ctx, "ROLLBACK")
		}
	}()
	r := &runner{ctx: ctx, ex: w.conn, cache: w.cache}
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !savepoints {
			if results[i] = runStep(op.fn, r); results[i] != nil {
				return errStepFailed
			}
			continue
		}
		if err := w.exec(ctx, "SAVEPOINT step"); err != nil {
			return err
		}
		results[i] = runStep(op.fn, r)
		if results[i] != nil {
			if err := w.exec(ctx, "ROLLBACK TO step"); err != nil {
				return fmt.Errorf("%w (undoing a failed step: %v)", err, results[i])
			}
		}
		if err := w.exec(ctx, "RELEASE step"); err != nil {
			return err
		}
	}
	return w.exec(ctx, "COMMIT")
}

// runStep runs one step; a panic in it fails that step instead of taking
// the writer, and with it every other caller, down.
func runStep(fn func(r *runner) error, r *runner) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: write step panicked: %v", p)
		}
	}()
	return fn(r)
}
