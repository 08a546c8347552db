package sqlstore

import "database/sql"

// DB exposes the query pool to the package's external tests.
func (s *Store) DB() *sql.DB { return s.wdb }
