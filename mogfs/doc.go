// Package mogfs is the FUSE filesystem of MogileFS, on go-fuse v2: domains
// are directories (or the root is one domain), keys are files, and "/" in
// a key makes directories. It is a thin layer over package keyspace, which
// holds everything that does not depend on FUSE (names, listings, the
// write spool, the read-ahead reader): here, go-fuse nodes turn system
// calls into keyspace calls and keyspace errors into errno values (one
// table, errno.go).
//
// Nodes find their key from their place in the go-fuse tree at each call,
// so a rename of a directory moves everything under it without touching
// the nodes. A file open for writing has one Buffer shared by its
// descriptors; close and fsync commit it. Reads go through a per-descriptor
// keyspace.Reader whose paths are asked once. A file unlinked or
// replaced while open keeps its content in its Buffer for its open
// descriptors (orphan.go). Locks are left to the kernel; fallocate and
// O_TMPFILE are in posixops.go. Nodes live until the kernel forgets them;
// past Config.MaxNodes nodes, it is asked to forget the least recently
// used (nodecache.go).
//
// ClientBackend implements keyspace.Backend with the project's client
// library, including the mogfs tracker commands of docs/mogfs.md. The
// mount command itself (flags, mount(8) forms, going to the background) is
// package mogfs/mountcmd.
package mogfs
