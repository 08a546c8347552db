// Package mogbench is the mogbench tool: it loads a MogileFS cluster the
// way `weed benchmark` loads SeaweedFS, and measures it.
//
//	mogbench --trackers=127.0.0.1:7001 --domain=bench [--class=one] [-n 100000] [-c 16] [--size=4096] [--json]
//
// The default mode (files) writes -n files through the tracker protocol
// and the storage nodes (client.Store: create_open, PUT, create_close),
// then reads each of them back once in random order (get_paths, GET) and
// verifies every byte. A file's size is --size plus 0..--size-jitter-1
// bytes; its content is derived from the run's seed and the file's index
// (type Content), so reads verify without keeping anything in memory, and
// a later run given the same --seed and --prefix can read the files again
// (--mode=read).
//
// Other modes: write and read (one phase of files each); big (files with
// 1 MiB files, 4 workers and 1000 files by default); tracker-create
// (create_open, an empty PUT, create_close: the tracker's share is also
// timed alone) and tracker-paths (tracker-create, then get_paths with
// noverify on every file in random order); dir, dir-write and dir-read
// (plain file I/O under --dir, e.g. a mogfs mount point: small files
// created and read back, then one --big-size file) and dir-create (-n
// empty files created under --dir, open with O_CREAT|O_EXCL and close, as
// touch creates a name; --size does not apply). --replication-wait
// adds a phase after the writes that polls list_fids until every file has
// the class's mindevcount copies and reports how long that took; --delete
// adds a phase that deletes the files.
//
// --fastpath=auto|off|only chooses the client library's paths (auto: the
// storage nodes' one-round-trip /_put and /_key when the cluster offers
// them; off: create_open, PUT, create_close and get_paths; only: fail
// rather than fall back), and --path-cache-ttl the library's path cache
// (-1s turns it off, so that every read looks its key up). Each client
// phase reports which paths served it: uploads through the fast path or
// three-step, reads from the path cache, /_key or get_paths, and the
// tracker commands sent.
//
// Every phase reports the operations that succeeded, the errors (content
// that did not verify counted apart as well), files/s, MiB/s and the
// latency percentiles p50, p90, p99 and max over every operation (exact:
// each sample is kept, which bounds -n to 50 million). With --procs, the
// CPU time of the tracker, storage nodes and database (and always of
// mogbench itself) is reported per phase and per file. A progress line is
// drawn on stderr when it is a terminal; --json prints the report for
// machines. The exit status is 0 when nothing failed, 1 when any operation
// failed, 130 when interrupted and 255 for bad options.
package mogbench
