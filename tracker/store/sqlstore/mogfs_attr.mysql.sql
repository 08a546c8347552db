-- mogfs_attr: the inode attributes of files written through mogfs
-- (docs/mogfs.md §8.1). Not part of the original schema: the tracker
-- creates it at start (Store.SetupMogfs) when it is missing; it is never
-- counted in schema_version and no original table refers to it.
CREATE TABLE IF NOT EXISTS mogfs_attr (
  fid BIGINT UNSIGNED NOT NULL,
  mtime BIGINT NOT NULL,
  mtime_nsec INT UNSIGNED NOT NULL DEFAULT 0,
  mode SMALLINT UNSIGNED NOT NULL,
  uid INT UNSIGNED NULL,
  gid INT UNSIGNED NULL,
  atime BIGINT NULL,
  atime_nsec INT UNSIGNED NOT NULL DEFAULT 0,
  ctime BIGINT NULL,
  ctime_nsec INT UNSIGNED NOT NULL DEFAULT 0,
  rdev BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (fid)
) ENGINE=InnoDB
