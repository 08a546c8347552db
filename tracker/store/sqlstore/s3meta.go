package sqlstore

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The S3 metadata table (docs/s3.md §3).

//go:embed s3_meta.mysql.sql
var s3MetaMySQL string

//go:embed s3_meta.sqlite.sql
var s3MetaSQLite string

var _ store.S3Store = (*Store)(nil)

// replaceS3Meta writes a fid's row (s3_set_meta, and the commit of
// s3_create_close).
const replaceS3Meta = "REPLACE INTO s3_meta (fid, etag, headers) VALUES (?, ?, ?)"

// stripComments drops the "--" lines of a DDL file.
func stripComments(ddl string) string {
	var lines []string
	for _, l := range strings.Split(ddl, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// SetupS3 creates s3_meta when it is missing.
func (s *Store) SetupS3(ctx context.Context) error {
	ddl := s3MetaMySQL
	if s.target.Backend == SQLite {
		ddl = s3MetaSQLite
	}
	ddl = stripComments(ddl)
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.ex.ExecContext(ctx, ddl)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: %s: create table s3_meta: %w", s.target.Where(), err)
	}
	s.s3Ready.Store(true)
	return nil
}

// S3SetMeta upserts fid's row if key names fid.
func (s *Store) S3SetMeta(ctx context.Context, dmid int, key string, fid int64, m store.S3Meta) error {
	err := s.write(ctx, func(r *runner) error {
		var dkey []byte
		err := r.queryRow("SELECT dkey FROM file WHERE fid = ? AND dmid = ?", fid, dmid).Scan(&dkey)
		if errors.Is(err, sql.ErrNoRows) || err == nil && string(dkey) != key {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = r.exec(replaceS3Meta, fid, m.ETag, []byte(m.Headers))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set s3 metadata of fid %d (key %q): %w", fid, key, err)
	}
	return nil
}

// S3Meta reads the rows of fids.
func (s *Store) S3Meta(ctx context.Context, fids []int64) (map[int64]store.S3Meta, error) {
	out := make(map[int64]store.S3Meta, len(fids))
	if len(fids) == 0 {
		return out, nil
	}
	if len(fids) > store.MaxS3Fids {
		return nil, fmt.Errorf("sqlstore: s3 metadata of %d fids: at most %d", len(fids), store.MaxS3Fids)
	}
	q := "SELECT fid, etag, headers FROM s3_meta WHERE fid IN (?" + strings.Repeat(", ?", len(fids)-1) + ")"
	args := make([]any, len(fids))
	for i, f := range fids {
		args[i] = f
	}
	err := s.read(ctx, func(r *runner) error {
		clear(out)
		ctx, err := r.stmtContext()
		if err != nil {
			return err
		}
		rows, err := r.ex.QueryContext(ctx, r.cache.d.replacer().Replace(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var fid int64
			var etag string
			var headers []byte
			if err := rows.Scan(&fid, &etag, &headers); err != nil {
				return err
			}
			out[fid] = store.S3Meta{ETag: etag, Headers: string(headers)}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: s3 metadata of %d fids: %w", len(fids), err)
	}
	return out, nil
}

// DeleteS3Meta drops fid's row (nothing when s3_meta was not set up by
// this store: a tracker without the S3 commands made no rows).
func (s *Store) DeleteS3Meta(ctx context.Context, fid int64) error {
	if !s.s3Ready.Load() {
		return nil
	}
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM s3_meta WHERE fid = ?", fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete s3 metadata of fid %d: %w", fid, err)
	}
	return nil
}
