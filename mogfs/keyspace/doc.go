// Package keyspace is the core of mogfs without FUSE: how MogileFS keys
// become a tree of directories and files, and how files are read and
// written through a MogileFS client.
//
// # Names
//
// A key is split at "/" into segments; every segment but the last names
// a directory, the last names a file ("a/b/c.jpg" is file c.jpg in
// directory a/b). A segment is its own file name unless it cannot be one
// (empty, ".", "..", containing NUL, or starting with the escape prefix
// "%%"): then EncodeName writes it as "%%" followed by the segment with
// "%" as %25, NUL as %00 and the dots of "." and ".." as %2E. When a
// segment is both a file and a directory (key "a" and keys "a/..."), the
// directory keeps the name and the file is shown as "%%a%". Every key is
// reachable, and no two keys share a name.
//
// A directory exists while some key lies under it. mkdir stores a marker
// key, the directory's prefix ending in "/" with zero bytes ("a/b/"), so
// that an empty directory persists; a zero-length key ending in "/" is
// never shown as a file.
//
// # Tracker commands
//
// Space uses the mogfs tracker commands (mogfs_list_dir, mogfs_lookup,
// mogfs_set_attr, mogfs_rename, mogfs_rename_prefix; see docs/mogfs.md)
// through the Backend interface, and falls back to the original commands
// on a tracker that answers unknown_command: list_keys paging for
// listings (correct, but slower and without sizes), file_info plus
// list_keys for lookups, attributes kept in memory for the life of the
// mount, key-by-key renames of directories.
//
// # Data
//
// Reader reads a file in ranged GETs of BlockSize with parallel
// read-ahead and failover to the next copy; its memory is bounded whatever
// the file's size. Buffer stages writes in a local spool file (the Spool
// bounds the bytes of all of them) and commits the whole new content with
// create_open, PUT and create_close, so that a failed commit leaves the
// key's previous content intact.
package keyspace
