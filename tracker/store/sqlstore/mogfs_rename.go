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
		if len(to) > store.MaxLongKeyLen {
			return store.ErrKeyTooLong
		}
		named := len(from) > store.MaxKeyLen || len(to) > store.MaxKeyLen
		for _, k := range []string{from, to} {
			if !named {
				_, isName, err := r.nameRow(dmid, k, true)
				if err != nil {
					return err
				}
				named = isName
			}
		}
		if named {
			var err error
			res, err = r.renameNamed(dmid, from, to, u)
			return err
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
		if names, err := r.namesFrom(dmid, to, to, true, 1); err != nil || len(names) > 0 {
			if err == nil {
				err = store.ErrDirNotEmpty
			}
			return err
		}
		var longest sql.NullInt64
		if err := r.queryRow(maxLen, append([]any{dmid}, rangeArgs...)...).Scan(&longest); err != nil {
			return err
		}
		if longest.Valid && int(longest.Int64)-len(from)+len(to) > store.MaxLongKeyLen {
			return store.ErrKeyTooLong
		}
		// Keys that outgrow file.dkey become long keys first (they
		// then lie under the surrogates' prefix, out of the UPDATE).
		if longest.Valid && int(longest.Int64)-len(from)+len(to) > store.MaxKeyLen {
			if err := r.lengthenUnder(dmid, rangeCond, rangeArgs, from, to); err != nil {
				return err
			}
		}
		// The target marker, when long, is replaced as a short one is.
		if len(to) > store.MaxKeyLen {
			if t, ok, err := r.nameRow(dmid, to, true); err != nil {
				return err
			} else if ok {
				if res.ReplacedFID, err = r.replaceTarget(dmid, t, 0, true); err != nil {
					return err
				}
				if err := r.dropName(dmid, to); err != nil {
					return err
				}
			}
		}
		// The target's marker is replaced. A row the collation deems
		// equal to it but with other bytes is left alone: the UPDATE
		// fails as a duplicate if a new key really collides.
		old, err := r.replaceTarget(dmid, to, 0, true)
		if err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
		if old != 0 {
			res.ReplacedFID = old
		}
		args := append([]any{to, len(from) + 1, dmid}, rangeArgs...)
		n, err := affected(r.exec(update, args...))
		if s.dup(err) {
			return store.ErrExists
		}
		if err != nil {
			return err
		}
		moved, err := r.renameNames(dmid, from, to)
		res.Count = n + moved
		return err
	})
	if err != nil {
		return store.MogfsRenamed{}, fmt.Errorf("sqlstore: mogfs rename prefix %q to %q in domain %d: %w", from, to, dmid, err)
	}
	return res, nil
}

// renameNamed is MogfsRename where from or to is a name of mogfs_name
// (a long key, or a name of a hard-linked file) or must become one (a
// long to): a name row is renamed, added (the file row moves to a new
// surrogate) or folded back into the file row (settle).
func (r *runner) renameNamed(dmid int, from, to string, u store.MogfsAttrUpdate) (store.MogfsRenamed, error) {
	var res store.MogfsRenamed
	f, ok, err := r.resolve(dmid, from, true)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, store.ErrNotFound
	}
	res.FID = f.FID
	if from == to {
		return res, nil
	}
	fromName := !(len(from) <= store.MaxKeyLen && f.Key == from)
	// rename(2) of one hard link over another of the same file does
	// nothing.
	t, tok, err := r.resolve(dmid, to, true)
	if err != nil {
		return res, err
	}
	if tok && t.FID == f.FID {
		return res, nil
	}
	if !u.Empty() {
		row := u.Default
		if f.Attr != nil {
			row = *f.Attr
		}
		if _, err := r.exec(replaceMogfsAttr, mogfsAttrValues(f.FID, u.Apply(row))...); err != nil {
			return res, err
		}
	}
	// The target goes as delete does: its own file row, or its name.
	switch {
	case tok && len(to) <= store.MaxKeyLen && t.Key == to:
		res.ReplacedFID, err = r.replaceTarget(dmid, to, f.FID, true)
	case tok:
		res.ReplacedFID, err = r.unname(dmid, to, t.Key)
	case len(to) <= store.MaxKeyLen:
		// A row a case-insensitive collation deems equal to to.
		res.ReplacedFID, err = r.replaceTarget(dmid, to, f.FID, true)
	}
	if err != nil {
		return res, err
	}
	switch {
	case fromName:
		if _, err = r.exec("UPDATE mogfs_name SET hash = ?, name = ? WHERE dmid = ? AND hash = ?", nameHash(to), []byte(to), dmid, nameHash(from)); err == nil {
			_, err = r.settle(dmid, f.Key)
		}
	case len(to) > store.MaxKeyLen:
		sur := NewSurrogate()
		if _, err = r.exec("UPDATE file SET dkey = ? WHERE fid = ?", sur, f.FID); err == nil {
			_, err = r.putName(dmid, to, sur)
		}
	default:
		_, err = r.exec("UPDATE file SET dkey = ? WHERE fid = ?", to, f.FID)
	}
	return res, err
}

// lengthenUnder gives a surrogate and a name to every key under from (the
// rows of rangeCond) whose new key under to is longer than file.dkey
// holds.
func (r *runner) lengthenUnder(dmid int, rangeCond string, rangeArgs []any, from, to string) error {
	q := "SELECT fid, dkey FROM file WHERE dmid = ? AND " + rangeCond
	rows, err := r.query(q, append([]any{dmid}, rangeArgs...)...)
	if err != nil {
		return err
	}
	type row struct {
		fid int64
		key string
	}
	var long []row
	for rows.Next() {
		var w row
		if err := rows.Scan(&w.fid, &w.key); err != nil {
			rows.Close()
			return err
		}
		if strings.HasPrefix(w.key, from) && len(w.key)-len(from)+len(to) > store.MaxKeyLen {
			long = append(long, w)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return err
	}
	for _, w := range long {
		sur := NewSurrogate()
		if _, err := r.exec("UPDATE file SET dkey = ? WHERE fid = ?", sur, w.fid); err != nil {
			return err
		}
		if _, err := r.putName(dmid, to+w.key[len(from):], sur); err != nil {
			return err
		}
	}
	return nil
}

// renameNames moves the names of mogfs_name under from to under to, and
// settles their files (a name that is the only one of its file and fits
// file.dkey becomes the file row's key again). It returns how many moved.
func (r *runner) renameNames(dmid int, from, to string) (int64, error) {
	ns, err := r.namesFrom(dmid, from, from, false, 1<<30)
	if err != nil {
		return 0, err
	}
	for _, n := range ns {
		nn := to + n[0][len(from):]
		if len(nn) > store.MaxLongKeyLen {
			return 0, store.ErrKeyTooLong
		}
		if _, err := r.exec("UPDATE mogfs_name SET hash = ?, name = ? WHERE dmid = ? AND hash = ?", nameHash(nn), []byte(nn), dmid, nameHash(n[0])); err != nil {
			return 0, err
		}
	}
	for _, n := range ns {
		if _, err := r.settle(dmid, n[1]); err != nil {
			return 0, err
		}
	}
	return int64(len(ns)), nil
}
