package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The fast path's store work (docs/fastpath.md §10): fids leased in bulk
// as tempfile rows, uploads committed in batches, keys looked up in
// batches. Every statement is one of the generic code's, with IN lists
// and multi-row VALUES, so a batch costs a few statements however many
// items it has.

// leaseSeq tells this process's concurrent leases apart (see leaseOnce).
var leaseSeq atomic.Uint64

// errLeaseClash: a leased fid is already a file's (the auto-increment
// counter is behind the file table); the lease is rolled back.
var errLeaseClash = errors.New("sqlstore: leased fid is in use")

// LeaseTempfiles inserts count tempfile rows for devid (and its peers)
// in one transaction.
func (s *Store) LeaseTempfiles(ctx context.Context, devid, count int, peers ...int) ([]int64, int64, error) {
	if count <= 0 || devid <= 0 {
		return nil, 0, fmt.Errorf("sqlstore: lease %d fids on device %d: bad arguments", count, devid)
	}
	for try := 0; try < maxIDTries; try++ {
		lease := s.leaseOnce
		if db := s.multiDB(); db != nil {
			lease = func(ctx context.Context, devids string, count int) ([]int64, int64, error) {
				return s.leaseOnceMySQL(ctx, db, devids, count)
			}
		}
		fids, created, err := lease(ctx, leaseDevids(devid, peers), count)
		if err == nil {
			return fids, created, nil
		}
		if !errors.Is(err, errLeaseClash) {
			return nil, 0, fmt.Errorf("sqlstore: lease %d fids on device %d: %w", count, devid, err)
		}
		// Let create_open's allocation move the counter past the file
		// table, then lease again.
		fid, err := s.RegisterTempfile(ctx, store.Tempfile{DevIDs: []int{devid}})
		if err != nil {
			return nil, 0, fmt.Errorf("sqlstore: lease %d fids on device %d: %w", count, devid, err)
		}
		if err := s.DeleteTempfile(ctx, fid); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: lease %d fids on device %d: %w", count, devid, err)
		}
	}
	return nil, 0, fmt.Errorf("sqlstore: lease %d fids on device %d: %w", count, devid, errIDRace)
}

// leaseOnce inserts the rows with a marker in dkey that names this
// lease alone, reads their fids back by it (an auto-increment need not
// hand one statement consecutive values: Galera steps by the cluster
// size, innodb_autoinc_lock_mode=2 interleaves statements), and clears
// the marker before the commit, so no one else ever sees it.
func (s *Store) leaseOnce(ctx context.Context, devids string, count int) ([]int64, int64, error) {
	marker := "_fastpath_lease " + s.nonce + " " + strconv.FormatUint(leaseSeq.Add(1), 10)
	var fids []int64
	var created int64
	// In READ COMMITTED the marker's UPDATE passes over the rows of a
	// concurrent lease (not committed, so not matching) instead of
	// waiting for them.
	err := s.writeReadCommitted(ctx, func(r *runner) error {
		fids, created = fids[:0], 0
		var q strings.Builder
		q.WriteString("INSERT INTO tempfile (dmid, dkey, classid, devids, createtime) VALUES ")
		args := make([]any, 0, 2*count)
		for i := 0; i < count; i++ {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(0, ?, 0, ?, {now})")
			args = append(args, marker, devids)
		}
		res, err := r.execDynamic(q.String(), args...)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		// MySQL reports the first row's fid, SQLite the last's: every
		// fid of the lease is at least id-count+1 either way.
		lo := id - int64(count) + 1
		rows, err := r.queryDynamic("SELECT t.fid, t.createtime, f.fid IS NOT NULL FROM tempfile t LEFT JOIN file f ON f.fid = t.fid "+
			"WHERE t.fid >= ? AND t.dkey = ? ORDER BY t.fid", lo, marker)
		if err != nil {
			return err
		}
		defer rows.Close()
		if fids, created, err = readLease(rows, count, s.minFID); err != nil {
			return err
		}
		if err := rows.Close(); err != nil {
			return err
		}
		_, err = r.execDynamic("UPDATE tempfile SET dkey = NULL WHERE fid >= ? AND dkey = ?", lo, marker)
		return err
	})
	return fids, created, err
}

// readLease reads the rows of a lease read back by its marker (fid,
// createtime, whether a file has the fid; the current result set only:
// rows stays open) and checks them: count rows, no fid a file's or at or
// below minFID (errLeaseClash). created is the oldest createtime.
func readLease(rows *sql.Rows, count int, minFID int64) (fids []int64, created int64, err error) {
	clash := false
	for rows.Next() {
		var fid, ct int64
		var inFile bool
		if err := rows.Scan(&fid, &ct, &inFile); err != nil {
			return nil, 0, err
		}
		if inFile || fid <= minFID {
			clash = true
		}
		if created == 0 || ct < created {
			created = ct
		}
		fids = append(fids, fid)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(fids) != count {
		return nil, 0, fmt.Errorf("inserted %d rows, read back %d", count, len(fids))
	}
	if clash {
		return nil, 0, errLeaseClash
	}
	return fids, created, nil
}

// leaseDevids is a lease's tempfile devids: the device, then its peers.
func leaseDevids(devid int, peers []int) string {
	b := strconv.AppendInt(nil, int64(devid), 10)
	for _, p := range peers {
		b = strconv.AppendInt(append(b, ','), int64(p), 10)
	}
	return string(b)
}

// CommitFiles commits a batch of fast-path uploads in one transaction;
// when the database refuses the batch as a whole for a key (a duplicate
// key error: two items of one key, or a key inserted by another tracker
// after it was read), the items are committed one by one.
func (s *Store) CommitFiles(ctx context.Context, items []store.FastCommit) ([]store.CommitResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if len(items) > store.MaxKeyBatch {
		return nil, fmt.Errorf("sqlstore: commit %d files: more than %d", len(items), store.MaxKeyBatch)
	}
	seen := make(map[int64]bool, len(items))
	for _, it := range items {
		if seen[it.FID] || it.FID <= 0 {
			return nil, fmt.Errorf("sqlstore: commit %d files: fid %d repeated or invalid", len(items), it.FID)
		}
		seen[it.FID] = true
	}
	out, err := s.commitBatch(ctx, items)
	if err == nil {
		return out, nil
	}
	if !s.dup(err) || len(items) == 1 {
		return nil, fmt.Errorf("sqlstore: commit %d files: %w", len(items), err)
	}
	out = make([]store.CommitResult, 0, len(items))
	for i := range items {
		res, err := s.commitBatch(ctx, items[i:i+1])
		if err != nil {
			return nil, fmt.Errorf("sqlstore: commit fid %d key %q: %w", items[i].FID, items[i].Key, err)
		}
		out = append(out, res[0])
	}
	return out, nil
}

// commitBatch runs commitTx, again when a key was inserted by another
// transaction after this one read it (the locking read of the next
// attempt finds it and replaces it like any older file).
func (s *Store) commitBatch(ctx context.Context, items []store.FastCommit) ([]store.CommitResult, error) {
	var out []store.CommitResult
	db := s.multiDB()
	for try := 0; ; try++ {
		var err error
		if db != nil {
			out, err = s.commitTxMySQL(ctx, db, items)
		} else {
			err = s.writeReadCommitted(ctx, func(r *runner) (err error) {
				out, err = commitTx(r, items)
				return err
			})
		}
		if err == nil || !s.dup(err) || len(items) > 1 || try >= maxIDTries {
			return out, err
		}
	}
}

// fileRow is what commitTx reads of a file row.
type fileRow struct {
	fid  int64
	dmid int
	key  string
}

// commitTx is one attempt at a batch, inside the transaction of r.
func commitTx(r *runner, items []store.FastCommit) ([]store.CommitResult, error) {
	fids := itemFIDs(items)
	// The tempfile rows, locked: a concurrent commit of the same fid
	// waits here and then finds the row gone.
	temps, err := r.tempDevids(fids)
	if err != nil {
		return nil, err
	}
	byFID, err := r.fileRows(fileByFIDQuery(len(fids)), fids...)
	if err != nil {
		return nil, err
	}
	out, commit, err := commitStatuses(r, items, temps, byFID)
	if err != nil {
		return nil, err
	}
	if len(commit) == 0 {
		return out, nil
	}
	old, err := r.keyFIDs(items, commit)
	if err != nil {
		return nil, err
	}
	w := commitWrites(items, commit, byFID, old, out)
	if err := w.run(r); err != nil {
		return nil, err
	}
	return out, nil
}

// itemFIDs is the fids of items, as query arguments.
func itemFIDs(items []store.FastCommit) []any {
	fids := make([]any, len(items))
	for i, it := range items {
		fids[i] = it.FID
	}
	return fids
}

// fileByFIDQuery reads the file rows of n fids.
func fileByFIDQuery(n int) string {
	return "SELECT fid, dmid, dkey FROM file WHERE fid IN (" + marks(n) + ")"
}

// commitStatuses sets the status of each item whose tempfile row is gone
// or names other devices, or whose key is a hard-linked file's name (read
// through r, in the transaction), and returns the indexes of the items to
// write.
func commitStatuses(r *runner, items []store.FastCommit, temps map[int64][]int, byFID map[int64]fileRow) ([]store.CommitResult, []int, error) {
	out := make([]store.CommitResult, len(items))
	var commit []int // indexes of the items to write
	for i, it := range items {
		devids, owned := temps[it.FID]
		switch {
		case !owned:
			// Idempotent by fid: committed before under this key, or
			// the lease was reaped.
			f, ok := byFID[it.FID]
			if ok && f.dmid == it.DomainID && f.key == it.Key {
				out[i].Status = store.CommitOK
			} else {
				out[i].Status = store.CommitLeaseExpired
			}
		case !slices.Contains(devids, it.DevID) || !allIn(it.PeerDevIDs, devids):
			out[i].Status = store.CommitInvalidDestDev
		case it.Attr != nil:
			linked, err := r.linkedName(it)
			if err != nil {
				return nil, nil, err
			}
			if linked {
				out[i].Status = store.CommitLinked
				continue
			}
			commit = append(commit, i)
		default:
			commit = append(commit, i)
		}
	}
	return out, commit, nil
}

// commitWrites collects the rows the items commit writes, given the fid
// each key names now (old, by item index), and sets out[i].Replaced.
func commitWrites(items []store.FastCommit, commit []int, byFID map[int64]fileRow, old map[int]int64, out []store.CommitResult) *batchWriter {
	var w batchWriter
	for _, i := range commit {
		it := items[i]
		w.add("tempfile", it.FID)
		if f, ok := byFID[it.FID]; ok && old[i] != it.FID {
			// The fid itself already has a file row (an explicit fid
			// reused): overwrite it, as CommitFile's REPLACE does.
			w.add("refid", f.fid)
		}
		if o := old[i]; o != 0 && o != it.FID {
			out[i].Replaced = o
			w.add("replaced", o)
		}
		if old[i] != it.FID {
			w.add("file", it.FID, it.DomainID, it.Key, it.Length, it.ClassID, 1+len(it.PeerDevIDs))
		}
		w.add("file_on", it.FID, it.DevID)
		for _, p := range it.PeerDevIDs {
			w.add("file_on", it.FID, p)
		}
		if it.Checksum != nil {
			w.add("checksum", it.FID, int(it.Checksum.HashType), it.Checksum.Sum)
		}
		if it.Attr != nil {
			w.add("attr", mogfsAttrValues(it.FID, *it.Attr)...)
		}
		if !it.Replicated {
			w.add("replicate", it.FID)
		}
	}
	return &w
}

// allIn reports whether every id of ids is in set.
func allIn(ids, set []int) bool {
	for _, id := range ids {
		if !slices.Contains(set, id) {
			return false
		}
	}
	return true
}

// linkedName reports whether the key of an item with attributes is a
// name of a hard-linked file, which CommitFile would resolve
// (CloseFile.ResolveNames) and a batch does not.
func (r *runner) linkedName(it store.FastCommit) (bool, error) {
	_, ok, err := r.nameRow(it.DomainID, it.Key, true)
	return ok, err
}

// tempDevids reads (and on MySQL locks) the tempfile rows of fids.
func (r *runner) tempDevids(fids []any) (map[int64][]int, error) {
	rows, err := r.queryN(len(fids), tempDevidsQuery(len(fids)), fids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanTempDevids(rows)
}

// tempDevidsQuery reads (and on MySQL locks) the tempfile rows of n fids.
func tempDevidsQuery(n int) string {
	return "SELECT fid, devids FROM tempfile WHERE fid IN (" + marks(n) + "){forupdate}"
}

// scanTempDevids reads the rows of tempDevidsQuery (the current result
// set only: rows stays open).
func scanTempDevids(rows *sql.Rows) (map[int64][]int, error) {
	out := map[int64][]int{}
	for rows.Next() {
		var fid int64
		var devids []byte
		if err := rows.Scan(&fid, &devids); err != nil {
			return nil, err
		}
		out[fid] = splitInts(string(devids))
	}
	return out, rows.Err()
}

func (r *runner) fileRows(q string, args ...any) (map[int64]fileRow, error) {
	rows, err := r.queryN(len(args), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanFileRows(rows)
}

// scanFileRows reads fid, dmid, dkey rows by fid (the current result set
// only: rows stays open).
func scanFileRows(rows *sql.Rows) (map[int64]fileRow, error) {
	out := map[int64]fileRow{}
	for rows.Next() {
		var f fileRow
		var key []byte
		if err := rows.Scan(&f.fid, &f.dmid, &key); err != nil {
			return nil, err
		}
		f.key = string(key)
		out[f.fid] = f
	}
	return out, rows.Err()
}

// keyValues renders the keys of items idx as a derived table v(i, dmid,
// dkey) to join with file: the database compares the keys as its unique
// key does (a case-insensitive collation included), which a comparison
// in Go could not.
func keyValues(n int) string { return valuesTable(n, "i", "dmid", "dkey") }

// valuesTable renders n rows of placeholders for cols as a derived table
// v(cols...): "(SELECT ? AS c1, ? AS c2 UNION ALL SELECT ?, ? …) v".
func valuesTable(n int, cols ...string) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("? AS " + c)
	}
	row := " UNION ALL SELECT ?" + strings.Repeat(", ?", len(cols)-1)
	for j := 1; j < n; j++ {
		b.WriteString(row)
	}
	b.WriteString(") v")
	return b.String()
}

// keyFIDs returns, by item index, the fid of the file each key of items
// idx names now (locked on MySQL), 0 for none.
func (r *runner) keyFIDs(items []store.FastCommit, idx []int) (map[int]int64, error) {
	args := keyArgs(items, idx)
	rows, err := r.queryN(len(idx), keyFIDsQuery(len(idx)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanKeyFIDs(rows)
}

// keyArgs is the arguments of keyValues for the items idx.
func keyArgs(items []store.FastCommit, idx []int) []any {
	args := make([]any, 0, 3*len(idx))
	for _, i := range idx {
		args = append(args, i, items[i].DomainID, items[i].Key)
	}
	return args
}

// keyFIDsQuery reads (and on MySQL locks) the file rows of n keys.
func keyFIDsQuery(n int) string {
	return "SELECT v.i, f.fid FROM " + keyValues(n) +
		" CROSS JOIN file f WHERE f.dmid = v.dmid AND f.dkey = v.dkey{forupdate}"
}

// scanKeyFIDs reads the rows of keyFIDsQuery (the current result set
// only: rows stays open).
func scanKeyFIDs(rows *sql.Rows) (map[int]int64, error) {
	out := map[int]int64{}
	for rows.Next() {
		var i int
		var fid int64
		if err := rows.Scan(&i, &fid); err != nil {
			return nil, err
		}
		out[i] = fid
	}
	return out, rows.Err()
}

// batchWriter collects the rows of a batch's multi-row statements.
type batchWriter struct {
	rows map[string][][]any
}

func (w *batchWriter) add(table string, vals ...any) {
	if w.rows == nil {
		w.rows = map[string][][]any{}
	}
	w.rows[table] = append(w.rows[table], vals)
}

// batchStmts are the statements of a batch, in create_close's order;
// each is prefix + one tuple per row (of tuple's placeholders), or, for
// an IN list, prefix + the ids + ")".
var batchStmts = []struct {
	table, prefix, tuple string
	in                   bool
}{
	{"tempfile", "DELETE FROM tempfile WHERE fid IN (", "", true},
	{"refid", "DELETE FROM file WHERE fid IN (", "", true},
	{"replaced", "DELETE FROM file WHERE fid IN (", "", true},
	{"replaced", "{ignore} INTO file_to_delete2 (fid, nexttry) VALUES ", "(?, {now})", false},
	{"file", "INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES ", "(?, ?, ?, ?, ?, ?)", false},
	{"file_on", "{ignore} INTO file_on (fid, devid) VALUES ", "(?, ?)", false},
	{"checksum", "REPLACE INTO checksum (fid, hashtype, checksum) VALUES ", "(?, ?, ?)", false},
	{"attr", "REPLACE INTO mogfs_attr (fid, mtime, mtime_nsec, mode, uid, gid, atime, atime_nsec, ctime, ctime_nsec, rdev) VALUES ",
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", false},
	{"replicate", "{ignore} INTO file_to_replicate (fid, nexttry) VALUES ", "(?, 0)", false},
}

// batchStmt is one statement of a batch: a template of the dialect, its
// arguments and the number of rows it writes.
type batchStmt struct {
	prefix, tmpl string
	args         []any
	n            int
}

// statements renders the batch's statements, in batchStmts' order.
func (w *batchWriter) statements() []batchStmt {
	var out []batchStmt
	for _, st := range batchStmts {
		rows := w.rows[st.table]
		if len(rows) == 0 {
			continue
		}
		var q strings.Builder
		q.WriteString(st.prefix)
		var args []any
		for j, row := range rows {
			if j > 0 {
				q.WriteString(", ")
			}
			if st.in {
				q.WriteString("?")
			} else {
				q.WriteString(st.tuple)
			}
			args = append(args, row...)
		}
		if st.in {
			q.WriteString(")")
		}
		out = append(out, batchStmt{prefix: st.prefix, tmpl: q.String(), args: args, n: len(rows)})
	}
	return out
}

func (w *batchWriter) run(r *runner) error {
	for _, st := range w.statements() {
		if _, err := r.execN(st.n, st.tmpl, st.args...); err != nil {
			return fmt.Errorf("%s: %w", st.prefix, err)
		}
	}
	return nil
}

// marks is n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// FilesByKeys reads the file rows and copies of many keys in one
// statement.
func (s *Store) FilesByKeys(ctx context.Context, keys []store.KeyRef) ([]store.KeyFile, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	if len(keys) > store.MaxKeyBatch {
		return nil, fmt.Errorf("sqlstore: look up %d keys: more than %d", len(keys), store.MaxKeyBatch)
	}
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		args = append(args, i, k.DomainID, k.Key)
	}
	q := "SELECT v.i, f.fid, f.dmid, f.dkey, f.length, f.classid, f.devcount, fo.devid FROM " + keyValues(len(keys)) +
		" CROSS JOIN file f LEFT JOIN file_on fo ON fo.fid = f.fid WHERE f.dmid = v.dmid AND f.dkey = v.dkey ORDER BY v.i, fo.devid"
	var out []store.KeyFile
	err := s.read(ctx, func(r *runner) error {
		out = make([]store.KeyFile, len(keys))
		rows, err := r.queryN(len(keys), q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int
			var f store.File
			var key []byte
			var length, devid sql.NullInt64
			if err := rows.Scan(&i, &f.FID, &f.DomainID, &key, &length, &f.ClassID, &f.DevCount, &devid); err != nil {
				return err
			}
			if i < 0 || i >= len(out) {
				return fmt.Errorf("key index %d out of range", i)
			}
			kf := &out[i]
			if !kf.Found {
				f.Key, f.Length = string(key), length.Int64
				kf.Found, kf.File = true, f
			}
			if devid.Valid {
				kf.DevIDs = append(kf.DevIDs, int(devid.Int64))
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: look up %d keys: %w", len(keys), err)
	}
	return out, nil
}

// smallBatch is the largest batch whose statements are prepared and kept
// (one statement per template and size: a few hundred at most; SQLite
// only, MySQL statements are not prepared). Batches of up to a few dozen
// items are what a node sends under load, and preparing their statements
// afresh each time was a quarter of the tracker's CPU on SQLite; larger
// batches share that cost among more items.
const smallBatch = 32

// execN runs a statement made for n items: prepared and cached when n is
// small, else as a one-off.
func (r *runner) execN(n int, tmpl string, args ...any) (sql.Result, error) {
	if n <= smallBatch {
		return r.exec(tmpl, args...)
	}
	return r.execDynamic(tmpl, args...)
}

// queryN is execN for queries.
func (r *runner) queryN(n int, tmpl string, args ...any) (*sql.Rows, error) {
	if n <= smallBatch {
		return r.query(tmpl, args...)
	}
	return r.queryDynamic(tmpl, args...)
}
