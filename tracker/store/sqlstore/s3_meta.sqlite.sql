-- s3_meta: what the S3 API keeps with an object besides its bytes
-- (docs/s3.md §3). Not part of the original schema: the tracker creates
-- it at start (Store.SetupS3) when it is missing; it is never counted in
-- schema_version and no original table refers to it.
CREATE TABLE IF NOT EXISTS s3_meta (
  fid INTEGER NOT NULL PRIMARY KEY,
  etag TEXT NOT NULL,
  headers BLOB NOT NULL
)
