-- mogfs_attr: the inode attributes of files written through mogfs
-- (docs/mogfs.md §8.1). Not part of the original schema: the tracker
-- creates it at start (Store.SetupMogfs) when it is missing; it is never
-- counted in schema_version and no original table refers to it.
CREATE TABLE IF NOT EXISTS mogfs_attr (
  fid INTEGER NOT NULL PRIMARY KEY,
  mtime INTEGER NOT NULL,
  mtime_nsec INTEGER NOT NULL DEFAULT 0,
  mode INTEGER NOT NULL,
  uid INTEGER,
  gid INTEGER,
  atime INTEGER,
  atime_nsec INTEGER NOT NULL DEFAULT 0,
  ctime INTEGER,
  ctime_nsec INTEGER NOT NULL DEFAULT 0,
  rdev INTEGER NOT NULL DEFAULT 0
)
