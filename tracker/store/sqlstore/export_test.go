package sqlstore

import (
	"context"
	"database/sql"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// DB exposes the query pool to the package's external tests.
func (s *Store) DB() *sql.DB { return s.wdb }

// CommitFilesStatements commits a batch as CommitFiles did on MySQL before
// commitTxMySQL: commitTx's statements one request each (benchmarks).
func (s *Store) CommitFilesStatements(ctx context.Context, items []store.FastCommit) ([]store.CommitResult, error) {
	var out []store.CommitResult
	err := s.writeReadCommitted(ctx, func(r *runner) (err error) {
		out, err = commitTx(r, items)
		return err
	})
	return out, err
}
