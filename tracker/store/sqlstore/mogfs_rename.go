package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// Renames of mogfs (docs/mogfs.md §8.6, §8.7). Each runs in one
// transaction; on MySQL the source rows and the target range are read
// with locking reads, so two renames of one key or prefix at once are
// serialised and the second finds nothing left to move.

// replaceTarget deletes the file row of exactly key to, as delete does
// (its fid queued in file_to_delete2), unless it is keepFID (the row
// being renamed, which a case-insensitive collation deems equal to its
// new key). It returns the deleted fid, 0 for none, or store.ErrExists
// when the row the collation finds for to is another key.
func (r *runner) replaceTarget(dmid int, to string, keepFID int64, lock bool) (int64, error) {
	q := "SELECT fid, dkey FROM file WHERE dmid = ? AND dkey = ?"
	if lock {
		q += "{forupdate}"
	}
	var fid int64
	var key sql.NullString
	err := r.queryRow(q, dmid, to).Scan(&fid, &key)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	case fid == keepFID:
		return 0, nil
	case key.String != to:
		return 0, store.ErrExists
	}
	if !lock {
		// Lock the row by its primary key (a record lock, no gap) and
		// check it still has the key.
		err := r.queryRow("SELECT dkey FROM file WHERE fid = ?{forupdate}", fid).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) || err == nil && key.String != to {
			return 0, nil // gone or renamed meanwhile
		}
		if err != nil {
			return 0, err
		}
	}
	if _, err := r.exec("DELETE FROM file WHERE fid = ?", fid); err != nil {
		return 0, err
	}
	if _, err := r.exec("{ignore} INTO file_to_delete2 (fid, nexttry) VALUES (?, {now})", fid); err != nil {
		return 0, err
	}
	return fid, nil
}

// MogfsRename renames from to to, replacing an existing to.
func (s *Store) MogfsRename(ctx context.Context, dmid int, from, to string, u store.MogfsAttrUpdate) (store.MogfsRenamed, error) {
	var res store.MogfsRenamed
	err := s.write(ctx, func(r *runner) error {
		res = store.MogfsRenamed{}
		if from == "" || to == "" {
			return errors.New("empty key")
		}
		if len(to) > store.MaxKeyLen {
			return store.ErrKeyTooLong
		}
		f, ok, err := r.fileExact(dmid, from, true)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		res.FID = f.FID
		if from == to {
			return nil
		}
		if !u.Empty() {
			row := u.Default
			if f.Attr != nil {
				row = *f.Attr
			}
			if _, err := r.exec(replaceMogfsAttr, mogfsAttrValues(f.FID, u.Apply(row))...); err != nil {
				return err
			}
		}
		// A key created under to after the first look makes the
		// UPDATE fail as a duplicate: look again, with a locking read.
		for try := 0; ; try++ {
			old, err := r.replaceTarget(dmid, to, f.FID, try > 0)
			if err != nil {
				return err
			}
			if old != 0 {
				res.ReplacedFID = old
			}
			_, err = r.exec("UPDATE file SET dkey = ? WHERE fid = ?", to, f.FID)
			if err == nil {
				return nil
			}
			if !s.dup(err) {
				return err
			}
			if try >= 2 {
				return store.ErrExists
			}
		}
	})
	if err != nil {
		return store.MogfsRenamed{}, fmt.Errorf("sqlstore: mogfs rename %q to %q in domain %d: %w", from, to, dmid, err)
	}
	return res, nil
}

// MogfsRenamePrefix moves every key under from to under to.
func (s *Store) MogfsRenamePrefix(ctx context.Context, dmid int, from, to string) (store.MogfsRenamed, error) {
	if from == "" || to == "" || !strings.HasSuffix(from, "/") || !strings.HasSuffix(to, "/") ||
		strings.HasPrefix(to, from) || strings.HasPrefix(from, to) {
		return store.MogfsRenamed{}, fmt.Errorf("sqlstore: mogfs rename prefix %q to %q: bad prefixes", from, to)
	}
	bytewise, err := s.keysBytewise(ctx)
	if err != nil {
		return store.MogfsRenamed{}, err
	}
	// The keys under from: an index range, narrowed by bytes when the
	// collation does not order as bytes.
	rangeCond := "dkey >= ? AND dkey < ?"
	rangeArgs := []any{from, prefixEnd(from)}
	if !bytewise {
		rangeCond, rangeArgs = s.underPrefix(from)
	}
	maxLen := "SELECT MAX(LENGTH(dkey)) FROM file WHERE dmid = ? AND " + rangeCond
	update := "UPDATE file SET dkey = CONCAT(CAST(? AS BINARY), SUBSTRING(CAST(dkey AS BINARY), ?)) WHERE dmid = ? AND " + rangeCond
	if s.target.Backend == SQLite {
		maxLen = "SELECT MAX(LENGTH(CAST(dkey AS BLOB))) FROM file WHERE dmid = ? AND " + rangeCond
		update = "UPDATE file SET dkey = CAST(? || substr(CAST(dkey AS BLOB), ?) AS TEXT) WHERE dmid = ? AND " + rangeCond
	}
	var res store.MogfsRenamed
	err = s.write(ctx, func(r *runner) error {
		res = store.MogfsRenamed{}
		// A locking read: on MySQL it also keeps new keys out of the
		// target until the commit.
		other, err := s.firstUnder(r, bytewise, dmid, to, to, true)
		if err != nil {
			return err
		}
		if other != "" {
			return store.ErrDirNotEmpty
		}
		var longest sql.NullInt64
		if err := r.queryRow(maxLen, append([]any{dmid}, rangeArgs...)...).Scan(&longest); err != nil {
			return err
		}
		if longest.Valid && int(longest.Int64)-len(from)+len(to) > store.MaxKeyLen {
			return store.ErrKeyTooLong
		}
		// The target's marker is replaced. A row the collation deems
		// equal to it but with other bytes is left alone: the UPDATE
		// fails as a duplicate if a new key really collides.
		old, err := r.replaceTarget(dmid, to, 0, true)
		if err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		res.ReplacedFID = old
		args := append([]any{to, len(from) + 1, dmid}, rangeArgs...)
		n, err := affected(r.exec(update, args...))
		if s.dup(err) {
			return store.ErrExists
		}
		res.Count = n
		return err
	})
	if err != nil {
		return store.MogfsRenamed{}, fmt.Errorf("sqlstore: mogfs rename prefix %q to %q in domain %d: %w", from, to, dmid, err)
	}
	return res, nil
}
