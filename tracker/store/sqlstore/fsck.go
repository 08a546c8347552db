package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// inChunk is how many fids one IN list of the batch methods holds.
const inChunk = 500

// fidList renders fids as the body of an IN list (integers only, so the
// statement is built rather than bound: one statement, whatever the count).
func fidList(fids []int64) string {
	var b strings.Builder
	for i, fid := range fids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(fid, 10))
	}
	return b.String()
}

// FsckFiles reads the file rows of fids with their copies, checksum and
// tempfile presence, one joined query per inChunk fids.
func (s *Store) FsckFiles(ctx context.Context, fids []int64) (map[int64]store.FsckFile, error) {
	out := make(map[int64]store.FsckFile, len(fids))
	for len(fids) > 0 {
		chunk := fids[:min(len(fids), inChunk)]
		fids = fids[len(chunk):]
		err := s.read(ctx, func(r *runner) error {
			for _, fid := range chunk {
				delete(out, fid)
			}
			return r.fsckFiles(chunk, out)
		})
		if err != nil {
			return nil, fmt.Errorf("sqlstore: fsck files %d..%d: %w", chunk[0], chunk[len(chunk)-1], err)
		}
	}
	return out, nil
}

func (r *runner) fsckFiles(fids []int64, out map[int64]store.FsckFile) error {
	rows, err := r.queryDynamic("SELECT f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount, fo.devid, c.fid, t.fid " +
		"FROM file f LEFT JOIN file_on fo ON fo.fid = f.fid LEFT JOIN checksum c ON c.fid = f.fid " +
		"LEFT JOIN tempfile t ON t.fid = f.fid WHERE f.fid IN (" + fidList(fids) + ") ORDER BY f.fid, fo.devid")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f store.File
		var key sql.NullString
		var length, devid, sum, temp sql.NullInt64
		if err := rows.Scan(&f.FID, &f.DomainID, &key, &length, &f.ClassID, &f.DevCount, &devid, &sum, &temp); err != nil {
			return err
		}
		f.Key, f.Length = key.String, length.Int64
		ff, ok := out[f.FID]
		if !ok {
			ff = store.FsckFile{File: f, HasChecksum: sum.Valid, OpenUpload: temp.Valid}
		}
		if devid.Valid {
			ff.DevIDs = append(ff.DevIDs, int(devid.Int64))
		}
		out[f.FID] = ff
	}
	return rows.Err()
}

// DequeueMany removes fids from the queue, one statement per inChunk fids.
func (s *Store) DequeueMany(ctx context.Context, q store.Queue, fids []int64) error {
	qs, err := queueOf(q)
	if err != nil {
		return fmt.Errorf("sqlstore: dequeue: %w", err)
	}
	for len(fids) > 0 {
		chunk := fids[:min(len(fids), inChunk)]
		fids = fids[len(chunk):]
		err := s.autocommit(ctx, func(r *runner) error {
			_, err := r.execDynamic("DELETE FROM " + qs.table + " WHERE fid IN (" + fidList(chunk) + ")" + qs.where)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: dequeue fids %d..%d from %s: %w", chunk[0], chunk[len(chunk)-1], qs, err)
		}
	}
	return nil
}
