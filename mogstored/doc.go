// Package mogstored is the MogileFS storage node: an HTTP server over a
// docroot of device directories (docroot/dev<N>, one per disk), the usage
// file the tracker's monitor reads from each device, and the management
// side channel (size, MD5/SHA-1 digests for fsck and replication, the
// watch utilization stream, shutdown). It is wire-compatible with the
// original Perl mogstored 2.73 (Perlbal front end).
//
// HTTP (package httpd underneath; see handler for status codes): GET and
// HEAD with single byte ranges, PUT into a temp file renamed into place
// once the whole body arrived (fsync'd unless Config.Fsync is off), DELETE,
// MKCOL answered 400 as the original does. Only /dev<N>/... paths of
// existing device directories are served or written; names are limited to
// [A-Za-z0-9_.-] segments without "..", and every access is resolved
// beneath the docroot by the kernel (openat2 RESOLVE_BENEATH, or os.Root),
// so no symlink can lead a read or write out of it.
//
// With Config.Trackers set (--trackers), the node also offers the fast
// path for small files (docs/fastpath.md §10.7): PUT /_put by domain and
// key under fids leased in bulk per device, committed in batches with one
// tracker command; GET /_key by domain and key through a batched, cached
// lookup; GET /_fastpath for clients to see it is ready. An upload of a
// class wanting more than one copy is also streamed, as it arrives, to
// the peer devices its lease names (plain PUTs to their fid paths), and
// committed with every copy that was taken (docs/fastpath.md §4.5).
// Without trackers
// those paths answer 404, as on an original node.
//
// POST /_concat (concat.go, docs/s3.md §6.1) writes a new fid's file from
// other fids' files, on this node (copy_file_range) or fetched from the
// cluster's other nodes (only the addresses get_hosts lists, so with
// trackers only), for the S3 gateway's multipart Complete. The original
// has no such request; a node without it answers 405.
//
// With Config.Server = "none" there is no HTTP server (an operator's
// nginx serves the docroot, see package nginxconf); with "nginx" mogstored
// runs nginx itself with a generated WebDAV configuration.
//
// Linux only: statfs, openat2, /proc/diskstats.
package mogstored
