package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// RegisterTempfile inserts the tempfile row of a create_open. Like the
// original it needs no transaction of its own (on MySQL that saves two
// round trips per upload): each statement is atomic and a fid is only
// returned once its row is in and checked.
func (s *Store) RegisterTempfile(ctx context.Context, t store.Tempfile) (int64, error) {
	devids := joinInts(t.DevIDs)
	if db := s.multiDB(); db != nil && t.FID <= 0 {
		fid, err := s.registerTempfileMySQL(ctx, db, t, devids)
		if err == nil {
			return fid, nil
		}
		if !errors.Is(err, errFallback) {
			return 0, fmt.Errorf("sqlstore: register tempfile key %q: %w", t.Key, err)
		}
	}
	var fid int64
	err := s.autocommit(ctx, func(r *runner) error {
		fid = 0
		if t.FID > 0 {
			inFile, err := r.exists("SELECT 1 FROM file WHERE fid = ?", t.FID)
			if err != nil {
				return err
			}
			if inFile {
				return store.ErrExists
			}
			_, err = r.exec("INSERT INTO tempfile (fid, dmid, dkey, classid, devids, createtime) VALUES (?, ?, ?, ?, ?, {now})",
				t.FID, t.DomainID, t.Key, t.ClassID, devids)
			if s.dup(err) {
				return store.ErrExists
			}
			if err == nil {
				fid = t.FID
			}
			return err
		}
		for try := 0; try < maxIDTries; try++ {
			res, err := r.exec("INSERT INTO tempfile (dmid, dkey, classid, devids, createtime) VALUES (?, ?, ?, ?, {now})",
				t.DomainID, t.Key, t.ClassID, devids)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			if id <= 0 {
				return fmt.Errorf("database returned fid %d", id)
			}
			inFile, err := r.exists("SELECT 1 FROM file WHERE fid = ?", id)
			if err != nil {
				return err
			}
			if !inFile && id > s.minFID {
				fid = id
				return nil
			}
			// The counter is behind the file table (InnoDB may reset it
			// on restart): drop the row, push the counter past the
			// highest file fid with a dummy row, and allocate again.
			if _, err := r.exec("DELETE FROM tempfile WHERE fid = ?", id); err != nil {
				return err
			}
			var maxFID sql.NullInt64
			if err := r.queryRow("SELECT MAX(fid) FROM file").Scan(&maxFID); err != nil {
				return err
			}
			bump := max(maxFID.Int64, s.minFID)
			n, err := affected(r.exec("{ignore} INTO tempfile (fid, dmid, dkey, classid, devids, createtime) VALUES (?, ?, ?, ?, ?, {now})",
				bump, t.DomainID, t.Key, t.ClassID, devids))
			if err != nil {
				return err
			}
			if n == 1 {
				if _, err := r.exec("DELETE FROM tempfile WHERE fid = ?", bump); err != nil {
					return err
				}
			}
		}
		return errIDRace
	})
	if err != nil {
		if t.FID > 0 {
			return 0, fmt.Errorf("sqlstore: register tempfile fid %d key %q: %w", t.FID, t.Key, err)
		}
		return 0, fmt.Errorf("sqlstore: register tempfile key %q: %w", t.Key, err)
	}
	return fid, nil
}

func joinInts(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

// splitInts parses a comma list of ids, skipping anything unparsable (the
// column is free text to other writers).
func splitInts(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

const tempfileCols = "fid, createtime, classid, dmid, dkey, devids"

func scanTempfile(sc interface{ Scan(...any) error }) (store.Tempfile, error) {
	var t store.Tempfile
	var key, devids sql.NullString
	if err := sc.Scan(&t.FID, &t.CreateTime, &t.ClassID, &t.DomainID, &key, &devids); err != nil {
		return t, err
	}
	t.Key = key.String
	t.DevIDs = splitInts(devids.String)
	return t, nil
}

// Tempfile returns the tempfile row of fid.
func (s *Store) Tempfile(ctx context.Context, fid int64) (store.Tempfile, error) {
	var t store.Tempfile
	err := s.read(ctx, func(r *runner) (err error) {
		t, err = scanTempfile(r.queryRow("SELECT "+tempfileCols+" FROM tempfile WHERE fid = ?", fid))
		return notFound(err)
	})
	if err != nil {
		return store.Tempfile{}, fmt.Errorf("sqlstore: tempfile fid %d: %w", fid, err)
	}
	return t, nil
}

// OldTempfiles lists tempfiles created before the given time, by fid.
func (s *Store) OldTempfiles(ctx context.Context, before int64, limit int) ([]store.Tempfile, error) {
	var out []store.Tempfile
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT "+tempfileCols+" FROM tempfile WHERE createtime < ? ORDER BY fid LIMIT ?", before, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTempfile(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: old tempfiles: %w", err)
	}
	return out, nil
}

// CommitFile does create_close's database work in one transaction.
//
// The key is looked up without a locking read: on MySQL a locking read of
// a key that does not exist yet takes a gap lock, and concurrent closes of
// neighbouring keys then deadlock each other. Two closes of the same key
// at once are settled by the unique key instead: the loser gets a
// duplicate error, reads the winner's row with a locking read (a record
// lock only) and replaces it like any older file.
func (s *Store) CommitFile(ctx context.Context, f store.CloseFile) (int64, error) {
	if db := s.multiDB(); db != nil && f.Name == "" {
		replaced, err := s.commitFileMySQL(ctx, db, f)
		if !errors.Is(err, errFallback) {
			if err != nil {
				return 0, fmt.Errorf("sqlstore: commit fid %d key %q: %w", f.FID, f.Key, err)
			}
			return replaced, nil
		}
	}
	var replaced int64
	err := s.write(ctx, func(r *runner) error {
		replaced = 0
		n, err := affected(r.exec("DELETE FROM tempfile WHERE fid = ?", f.FID))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if f.ResolveNames && f.Name == "" {
			if dkey, ok, err := r.nameRow(f.DomainID, f.Key, true); err != nil {
				return err
			} else if ok {
				f.Name, f.Key = f.Key, dkey // new content for every name of the file
			}
		}
		lookup := "SELECT fid FROM file WHERE dmid = ? AND dkey = ?"
		for try := 0; ; try++ {
			old, err := r.replaceKey(lookup, f)
			if err != nil {
				return err
			}
			if old != 0 {
				replaced = old
			}
			_, err = r.exec("INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, ?, ?, 1)",
				f.FID, f.DomainID, f.Key, f.Length, f.ClassID)
			if err == nil {
				break
			}
			if !s.dup(err) || try >= maxIDTries {
				return err
			}
			if taken, err := r.exists("SELECT 1 FROM file WHERE fid = ?", f.FID); err != nil || taken {
				if err != nil {
					return err
				}
				// The fid itself already has a file row (an explicit
				// fid): overwrite it, as the original's REPLACE does.
				if _, err := r.exec("REPLACE INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, ?, ?, 1)",
					f.FID, f.DomainID, f.Key, f.Length, f.ClassID); err != nil {
					return err
				}
				break
			}
			lookup = "SELECT fid FROM file WHERE dmid = ? AND dkey = ?{forupdate}"
		}
		if _, err := r.exec("{ignore} INTO file_on (fid, devid) VALUES (?, ?)", f.FID, f.DevID); err != nil {
			return err
		}
		if f.Checksum != nil {
			if _, err := r.exec("REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)",
				f.FID, int(f.Checksum.HashType), f.Checksum.Sum); err != nil {
				return err
			}
		}
		if f.Attr != nil {
			if _, err := r.exec(replaceMogfsAttr, mogfsAttrValues(f.FID, *f.Attr)...); err != nil {
				return err
			}
		}
		if f.S3 != nil {
			if _, err := r.exec(replaceS3Meta, f.FID, f.S3.ETag, []byte(f.S3.Headers)); err != nil {
				return err
			}
		}
		if f.Name != "" {
			old, err := r.putName(f.DomainID, f.Name, f.Key)
			if err != nil {
				return err
			}
			if replaced == 0 {
				replaced = old
			}
		}
		if f.Replicated {
			return nil
		}
		_, err = r.exec("{ignore} INTO file_to_replicate (fid, nexttry) VALUES (?, 0)", f.FID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: commit fid %d key %q: %w", f.FID, f.Key, err)
	}
	return replaced, nil
}

// replaceKey removes the file that has f's key, if any, and queues its
// fid for deletion; it returns that fid (0 for none).
func (r *runner) replaceKey(lookup string, f store.CloseFile) (int64, error) {
	var old int64
	err := r.queryRow(lookup, f.DomainID, f.Key).Scan(&old)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	case old == f.FID:
		return 0, store.ErrFIDExists
	}
	if _, err := r.exec("DELETE FROM file WHERE fid = ?", old); err != nil {
		return 0, err
	}
	if _, err := r.exec("{ignore} INTO file_to_delete2 (fid, nexttry) VALUES (?, {now})", old); err != nil {
		return 0, err
	}
	return old, nil
}

// DiscardTempfile turns an upload that will not be kept into a deletion.
// A tempfile row whose fid is a live file (a stale duplicate) is only
// removed: the file is not queued for deletion.
func (s *Store) DiscardTempfile(ctx context.Context, fid int64, devids []int) error {
	err := s.write(ctx, func(r *runner) error {
		n, err := affected(r.exec("DELETE FROM tempfile WHERE fid = ?", fid))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if live, err := r.exists("SELECT 1 FROM file WHERE fid = ?", fid); err != nil || live {
			return err
		}
		for _, dev := range devids {
			if _, err := r.exec("{ignore} INTO file_on (fid, devid) VALUES (?, ?)", fid, dev); err != nil {
				return err
			}
		}
		_, err = r.exec("{ignore} INTO file_to_delete2 (fid, nexttry) VALUES (?, {now})", fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: discard tempfile fid %d: %w", fid, err)
	}
	return nil
}

const fileCols = "fid, dmid, dkey, length, classid, devcount"

func scanFile(sc interface{ Scan(...any) error }) (store.File, error) {
	var f store.File
	var key sql.NullString
	var length sql.NullInt64
	if err := sc.Scan(&f.FID, &f.DomainID, &key, &length, &f.ClassID, &f.DevCount); err != nil {
		return f, err
	}
	f.Key, f.Length = key.String, length.Int64
	return f, nil
}

// FileByKey returns the file with this key in the domain.
func (s *Store) FileByKey(ctx context.Context, dmid int, key string) (store.File, error) {
	var f store.File
	err := s.read(ctx, func(r *runner) (err error) {
		f, err = scanFile(r.queryRow("SELECT "+fileCols+" FROM file WHERE dmid = ? AND dkey = ?", dmid, key))
		return notFound(err)
	})
	if err != nil {
		return store.File{}, fmt.Errorf("sqlstore: file key %q in domain %d: %w", key, dmid, err)
	}
	return f, nil
}

// FileByKeyDevIDs returns the file row of a key and the devids of its
// copies, ascending, from one join (one round trip, one snapshot).
func (s *Store) FileByKeyDevIDs(ctx context.Context, dmid int, key string) (store.File, []int, error) {
	f, devids, _, err := s.fileWithCopies(ctx, "f.dmid = ? AND f.dkey = ?", dmid, key)
	if err != nil {
		return store.File{}, nil, fmt.Errorf("sqlstore: file key %q in domain %d: %w", key, dmid, err)
	}
	return f, devids, nil
}

// FileCopies returns fid's file row, the devids of its copies (ascending)
// and its checksum, from one join (one round trip, one snapshot).
func (s *Store) FileCopies(ctx context.Context, fid int64) (store.File, []int, *store.Checksum, error) {
	f, devids, sum, err := s.fileWithCopies(ctx, "f.fid = ?", fid)
	if err != nil {
		return store.File{}, nil, nil, fmt.Errorf("sqlstore: file fid %d with copies: %w", fid, err)
	}
	return f, devids, sum, nil
}

// fileWithCopies reads the file row that where selects (as f), with its
// copies (file_on) and checksum, in one statement; store.ErrNotFound when
// there is no such row.
func (s *Store) fileWithCopies(ctx context.Context, where string, args ...any) (store.File, []int, *store.Checksum, error) {
	var f store.File
	var devids []int
	var sum *store.Checksum
	err := s.read(ctx, func(r *runner) error {
		f, devids, sum = store.File{}, nil, nil
		rows, err := r.query("SELECT f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount, fo.devid, c.hashtype, c.checksum "+
			"FROM file f LEFT JOIN file_on fo ON fo.fid = f.fid LEFT JOIN checksum c ON c.fid = f.fid "+
			"WHERE "+where+" ORDER BY fo.devid", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			var k sql.NullString
			var length, devid, hashType sql.NullInt64
			var digest []byte
			if err := rows.Scan(&f.FID, &f.DomainID, &k, &length, &f.ClassID, &f.DevCount, &devid, &hashType, &digest); err != nil {
				return err
			}
			f.Key, f.Length, found = k.String, length.Int64, true
			if devid.Valid {
				devids = append(devids, int(devid.Int64))
			}
			if hashType.Valid && sum == nil {
				sum = &store.Checksum{FID: f.FID, HashType: store.HashType(hashType.Int64), Sum: digest}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		return nil
	})
	return f, devids, sum, err
}

// FileByFID returns the file row of fid.
func (s *Store) FileByFID(ctx context.Context, fid int64) (store.File, error) {
	var f store.File
	err := s.read(ctx, func(r *runner) (err error) {
		f, err = scanFile(r.queryRow("SELECT "+fileCols+" FROM file WHERE fid = ?", fid))
		return notFound(err)
	})
	if err != nil {
		return store.File{}, fmt.Errorf("sqlstore: file fid %d: %w", fid, err)
	}
	return f, nil
}

// FileDevIDs returns the devids holding fid, ascending.
func (s *Store) FileDevIDs(ctx context.Context, fid int64) ([]int, error) {
	var out []int
	err := s.read(ctx, func(r *runner) (err error) {
		out, err = r.ints("SELECT devid FROM file_on WHERE fid = ? ORDER BY devid", fid)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: devices of fid %d: %w", fid, err)
	}
	return out, nil
}

func (r *runner) ints(tmpl string, args ...any) ([]int, error) {
	rows, err := r.query(tmpl, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// DeleteFile removes the file row and queues fid for deletion.
func (s *Store) DeleteFile(ctx context.Context, fid int64) error {
	if err := s.deleteFile(ctx, "fid = ?", fid); err != nil {
		return fmt.Errorf("sqlstore: delete fid %d: %w", fid, err)
	}
	return nil
}

// DeleteKey is DeleteFile of the file key names, only while key still
// names fid: a delete that looked the key up is refused (ErrNotFound)
// when a rename or a replacement of the key committed in between, rather
// than deleting the file under its new name (both commands would
// otherwise answer OK).
func (s *Store) DeleteKey(ctx context.Context, dmid int, key string, fid int64) error {
	if err := s.deleteFile(ctx, "fid = ? AND dmid = ? AND dkey = ?", fid, dmid, key); err != nil {
		return fmt.Errorf("sqlstore: delete %q (fid %d) in domain %d: %w", key, fid, dmid, err)
	}
	return nil
}

func (s *Store) deleteFile(ctx context.Context, where string, args ...any) error {
	fid := args[0]
	return s.write(ctx, func(r *runner) error {
		n, err := affected(r.exec("DELETE FROM file WHERE "+where, args...))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err = r.exec("{ignore} INTO file_to_delete2 (fid, nexttry) VALUES (?, {now})", fid)
		return err
	})
}

// RenameFile changes a key within a domain.
func (s *Store) RenameFile(ctx context.Context, dmid int, from, to string) error {
	err := s.autocommit(ctx, func(r *runner) error {
		n, err := affected(r.exec("UPDATE file SET dkey = ? WHERE dmid = ? AND dkey = ?", to, dmid, from))
		if s.dup(err) {
			return store.ErrExists
		}
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: rename %q to %q in domain %d: %w", from, to, dmid, err)
	}
	return nil
}

// SetFileClass changes a file's class.
func (s *Store) SetFileClass(ctx context.Context, fid int64, classid int) error {
	err := s.autocommit(ctx, func(r *runner) error {
		n, err := affected(r.exec("UPDATE file SET classid = ? WHERE fid = ?", classid, fid))
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set class of fid %d: %w", fid, err)
	}
	return nil
}

// ListFiles returns files with fid > after, ascending, at most limit.
func (s *Store) ListFiles(ctx context.Context, after int64, limit int) ([]store.File, error) {
	var out []store.File
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT "+fileCols+" FROM file WHERE fid > ? ORDER BY fid LIMIT ?", after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFile(rows)
			if err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list files after fid %d: %w", after, err)
	}
	return out, nil
}

// MaxFID returns the highest fid in file, 0 when there is none.
func (s *Store) MaxFID(ctx context.Context) (int64, error) {
	var maxFID sql.NullInt64
	err := s.read(ctx, func(r *runner) error {
		return r.queryRow("SELECT MAX(fid) FROM file").Scan(&maxFID)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: max fid: %w", err)
	}
	return maxFID.Int64, nil
}

const devcountUpdate = "UPDATE file SET devcount = (SELECT COUNT(*) FROM file_on WHERE fid = ?) WHERE fid = ?"

// AddFileOn records that devid holds fid.
func (s *Store) AddFileOn(ctx context.Context, fid int64, devid int, skipDevcount bool) error {
	err := s.write(ctx, func(r *runner) error {
		if _, err := r.exec("{ignore} INTO file_on (fid, devid) VALUES (?, ?)", fid, devid); err != nil {
			return err
		}
		if skipDevcount {
			return nil
		}
		_, err := r.exec(devcountUpdate, fid, fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: add fid %d on device %d: %w", fid, devid, err)
	}
	return nil
}

// RemoveFileOn records that devid no longer holds fid.
func (s *Store) RemoveFileOn(ctx context.Context, fid int64, devid int, skipDevcount bool) error {
	err := s.write(ctx, func(r *runner) error {
		if _, err := r.exec("DELETE FROM file_on WHERE fid = ? AND devid = ?", fid, devid); err != nil {
			return err
		}
		if skipDevcount {
			return nil
		}
		_, err := r.exec(devcountUpdate, fid, fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: remove fid %d from device %d: %w", fid, devid, err)
	}
	return nil
}

// UpdateDevcount sets file.devcount from the file_on rows.
func (s *Store) UpdateDevcount(ctx context.Context, fid int64) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec(devcountUpdate, fid, fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: update devcount of fid %d: %w", fid, err)
	}
	return nil
}

// FIDsOnDevice lists fids on devid above after, ascending.
func (s *Store) FIDsOnDevice(ctx context.Context, devid int, after int64, limit int) ([]int64, error) {
	var out []int64
	err := s.read(ctx, func(r *runner) error {
		out = out[:0]
		rows, err := r.query("SELECT fid FROM file_on WHERE devid = ? AND fid > ? ORDER BY fid LIMIT ?", devid, after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var fid int64
			if err := rows.Scan(&fid); err != nil {
				return err
			}
			out = append(out, fid)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: fids on device %d: %w", devid, err)
	}
	return out, nil
}

// Checksum returns the stored checksum of fid.
func (s *Store) Checksum(ctx context.Context, fid int64) (store.Checksum, error) {
	var c store.Checksum
	err := s.read(ctx, func(r *runner) error {
		var h int
		err := r.queryRow("SELECT fid, hashtype, checksum FROM checksum WHERE fid = ?", fid).Scan(&c.FID, &h, &c.Sum)
		c.HashType = store.HashType(h)
		return notFound(err)
	})
	if err != nil {
		return store.Checksum{}, fmt.Errorf("sqlstore: checksum of fid %d: %w", fid, err)
	}
	return c, nil
}

// SetChecksum inserts or replaces the checksum row of c.FID.
func (s *Store) SetChecksum(ctx context.Context, c store.Checksum) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("REPLACE INTO checksum (fid, hashtype, checksum) VALUES (?, ?, ?)", c.FID, int(c.HashType), c.Sum)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set checksum of fid %d: %w", c.FID, err)
	}
	return nil
}

// DeleteChecksum removes the checksum row of fid.
func (s *Store) DeleteChecksum(ctx context.Context, fid int64) error {
	err := s.autocommit(ctx, func(r *runner) error {
		_, err := r.exec("DELETE FROM checksum WHERE fid = ?", fid)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete checksum of fid %d: %w", fid, err)
	}
	return nil
}

// FileDebug collects every row about fid.
func (s *Store) FileDebug(ctx context.Context, fid int64) (store.FileDebug, error) {
	var d store.FileDebug
	err := s.read(ctx, func(r *runner) error {
		d = store.FileDebug{}
		if f, err := scanFile(r.queryRow("SELECT "+fileCols+" FROM file WHERE fid = ?", fid)); err == nil {
			d.File = &f
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if t, err := scanTempfile(r.queryRow("SELECT "+tempfileCols+" FROM tempfile WHERE fid = ?", fid)); err == nil {
			d.Tempfile = &t
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, q := range []struct {
			q   store.Queue
			dst **store.QueueItem
		}{
			{store.QueueReplicate, &d.Replicate},
			{store.QueueDelete, &d.Delete},
			{store.QueueRebalance, &d.Rebalance},
			{store.QueueFsck, &d.Fsck},
		} {
			item, err := r.queueItem(q.q, fid)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			*q.dst = &item
		}
		devs, err := r.ints("SELECT devid FROM file_on WHERE fid = ? ORDER BY devid", fid)
		if err != nil {
			return err
		}
		d.DevIDs = devs
		var c store.Checksum
		var h int
		err = r.queryRow("SELECT fid, hashtype, checksum FROM checksum WHERE fid = ?", fid).Scan(&c.FID, &h, &c.Sum)
		if err == nil {
			c.HashType = store.HashType(h)
			d.Checksum = &c
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return nil
	})
	if err != nil {
		return store.FileDebug{}, fmt.Errorf("sqlstore: debug fid %d: %w", fid, err)
	}
	return d, nil
}
