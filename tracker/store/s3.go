package store

import "context"

// This file is the store side of the S3 tracker commands (docs/s3.md §3):
// the s3_meta table, one row per fid, holding what S3 keeps with an
// object besides its bytes. A store that has it implements S3Store; the
// tracker answers the s3_* commands only when its store does.

// MaxS3Fids bounds the fids of one S3Meta call.
const MaxS3Fids = 1000

// S3Meta is a row of s3_meta: the object's ETag (hex MD5, or the
// multipart form "<hex>-N") and its headers (URL-encoded name=value
// pairs: Content-Type, Cache-Control, x-amz-meta-*...).
type S3Meta struct {
	ETag    string
	Headers string
}

// S3Store is implemented by stores that keep S3 object metadata. Every
// method is safe for concurrent use.
type S3Store interface {
	// SetupS3 creates the s3_meta table when it is missing (CREATE TABLE
	// IF NOT EXISTS; no original table is touched).
	SetupS3(ctx context.Context) error
	// S3SetMeta upserts the row of fid, in one transaction with the
	// check that key of domain dmid names fid (ErrNotFound otherwise).
	S3SetMeta(ctx context.Context, dmid int, key string, fid int64, m S3Meta) error
	// S3Meta returns the rows of those fids that have one.
	S3Meta(ctx context.Context, fids []int64) (map[int64]S3Meta, error)
	// DeleteS3Meta drops the row of fid (a purged fid).
	DeleteS3Meta(ctx context.Context, fid int64) error
}

// DeleteS3MetaOf drops the s3_meta row of a purged fid when st is an
// S3Store (the delete worker calls it); other stores keep no rows.
func DeleteS3MetaOf(ctx context.Context, st any, fid int64) error {
	if m, ok := st.(S3Store); ok {
		return m.DeleteS3Meta(ctx, fid)
	}
	return nil
}
