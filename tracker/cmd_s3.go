package tracker

import (
	"context"
	"errors"
	"strconv"

	"github.com/mogilefs-go/mogilefs/internal/wire"
	"github.com/mogilefs-go/mogilefs/tracker/fidcache"
	"github.com/mogilefs-go/mogilefs/tracker/store"
)

// The S3 commands (docs/s3.md §3): s3_create_close, s3_set_meta, s3_head
// and s3_get_meta,
// over the s3_meta table. The original has none of them and no original
// command changes. They are offered only when the store implements both
// store.S3Store and store.MogfsStore (s3_head answers with mogfs_lookup's
// file fields) and s3_meta is there (created at start when missing);
// otherwise they answer unknown_command.

// startS3 creates s3_meta when missing and registers the S3 commands;
// Run calls it before serving, after startMogfs.
func (s *Server) startS3(ctx context.Context) {
	ss, ok := s.st.(store.S3Store)
	ms, ok2 := s.st.(store.MogfsStore)
	if !ok || !ok2 {
		return
	}
	if _, on := s.handlers["mogfs_lookup"]; !on {
		return
	}
	if err := ss.SetupS3(ctx); err != nil {
		s.log.Warn("s3 commands disabled: table s3_meta cannot be set up", "err", err)
		return
	}
	s.handlers["s3_create_close"] = s.cmdS3CreateClose
	ls := newLeases(s.st, s.log)
	s.handlers["s3_lock"] = ls.cmdLock
	s.handlers["s3_unlock"] = ls.cmdUnlock
	s.handlers["s3_set_meta"] = func(ctx context.Context, r *request) reply { return s.cmdS3SetMeta(ctx, r, ss) }
	s.handlers["s3_get_meta"] = func(ctx context.Context, r *request) reply { return s.cmdS3GetMeta(ctx, r, ss) }
	s.handlers["s3_head"] = func(ctx context.Context, r *request) reply { return s.cmdS3Head(ctx, r, ss, ms) }
}

// s3MetaArgs reads the etag and headers arguments; an error is the
// reply to give.
func s3MetaArgs(r *request) (store.S3Meta, *reply) {
	m := store.S3Meta{ETag: r.arg("etag"), Headers: r.arg("headers")}
	var bad string
	switch {
	case m.ETag == "" || len(m.ETag) > 80:
		bad = "etag must be 1 to 80 characters"
	case len(m.Headers) > 64<<10:
		bad = "headers must be at most 64 KiB"
	default:
		return m, nil
	}
	rep := errReply("bad_params", bad)
	return m, &rep
}

// cmdS3CreateClose is mogfs_create_close (without name=) that also
// writes the new fid's s3_meta row in the same transaction: an object
// acknowledged to an S3 client always has its metadata, and a gateway
// cut off between the commit and the metadata cannot leave it without.
func (s *Server) cmdS3CreateClose(ctx context.Context, r *request) reply {
	key, _ := r.key("key")
	if r.arg("name") != "" {
		return errReply("bad_params", "s3_create_close takes no name")
	}
	m, bad := s3MetaArgs(r)
	if bad != nil {
		return *bad
	}
	u, bad := mogfsAttrArgs(r, key)
	if bad != nil {
		return *bad
	}
	attr := u.Row()
	return s.createClose(ctx, r, true, &attr, &m)
}

// cmdS3SetMeta records the metadata of the fid key names.
func (s *Server) cmdS3SetMeta(ctx context.Context, r *request, ss store.S3Store) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	fid, err := strconv.ParseInt(r.arg("fid"), 10, 64)
	if err != nil || fid <= 0 {
		return errReply("no_fid", "")
	}
	m, bad := s3MetaArgs(r)
	if bad != nil {
		return *bad
	}
	err = ss.S3SetMeta(ctx, dom.ID, key, fid, m)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errReply("unknown_key", "")
	case err != nil:
		return s.failure(r, err)
	}
	return okReply(nil)
}

// cmdS3GetMeta returns the rows of fid_1..fid_<count>.
func (s *Server) cmdS3GetMeta(ctx context.Context, r *request, ss store.S3Store) reply {
	n, err := strconv.Atoi(r.arg("count"))
	if err != nil || n < 0 || n > store.MaxS3Fids {
		return errReply("bad_params", "count must be a number from 0 to "+strconv.Itoa(store.MaxS3Fids))
	}
	fids := make([]int64, 0, n)
	for i := 1; i <= n; i++ {
		f, err := strconv.ParseInt(r.arg("fid_"+strconv.Itoa(i)), 10, 64)
		if err != nil || f <= 0 {
			return errReply("bad_params", "fid_"+strconv.Itoa(i)+" must be a fid")
		}
		fids = append(fids, f)
	}
	rows, err := ss.S3Meta(ctx, fids)
	if err != nil {
		return s.failure(r, err)
	}
	a := make(wire.Args, 2*len(rows))
	for i, f := range fids {
		if m, ok := rows[f]; ok {
			p := "fid_" + strconv.Itoa(i+1) + "_"
			a[p+"etag"] = m.ETag
			a[p+"headers"] = m.Headers
		}
	}
	return okReply(a)
}

// cmdS3Head answers mogfs_lookup's file fields of key and its s3_meta
// row: what a HEAD or GET of an object needs, in one round trip.
func (s *Server) cmdS3Head(ctx context.Context, r *request, ss store.S3Store, ms store.MogfsStore) reply {
	dom, rep, ok := s.checkDomain(r)
	if !ok {
		return rep
	}
	key, ok := r.key("key")
	if !ok {
		return errReply("no_key", "")
	}
	l, err := ms.MogfsLookup(ctx, dom.ID, key)
	if err != nil {
		return s.failure(r, err)
	}
	if l.File == nil {
		return errReply("unknown_key", "")
	}
	a := wire.Args{}
	mogfsFileFields(a, "", s.cl.Snapshot().ClassName(dom.ID, l.File.ClassID), *l.File)
	rows, err := ss.S3Meta(ctx, []int64{l.File.FID})
	if err != nil {
		return s.failure(r, err)
	}
	if m, ok := rows[l.File.FID]; ok {
		a["etag"] = m.ETag
		a["headers"] = m.Headers
	}
	// pathcount=N also answers the copies as get_paths noverify would
	// (paths, path1…), so that a reader needs one request, not two.
	if err := s.pathFields(ctx, r, a, l.File.FID, l.File.Length); err != nil {
		return s.failure(r, err)
	}
	return okReply(a)
}

// pathFields adds to a, when r asks pathcount=N (N > 0), the copies of
// fid as get_paths noverify names them: paths, path1…pathN.
func (s *Server) pathFields(ctx context.Context, r *request, a wire.Args, fid, length int64) error {
	n := numPrefix(r.arg("pathcount"))
	if n <= 0 {
		return nil
	}
	devids, err := s.st.FileDevIDs(ctx, fid)
	if err != nil {
		return err
	}
	e := fidcache.Entry{FID: fid, Length: length, DevIDs: devids}
	paths := s.readPaths(ctx, e, r.zone, int(min(n, 1<<20)), true)
	a["paths"] = strconv.Itoa(len(paths))
	for i, p := range paths {
		a["path"+strconv.Itoa(i+1)] = p
	}
	return nil
}
