// Command listbench measures list_keys and get_paths on a large domain
// (docs/scale.md). It is a benchmark, not a test: it prints figures.
//
// Fill (-fill N) writes N files into a domain by bulk SQL inserts, straight
// into the database a tracker uses: valid file rows (fid, dmid, dkey,
// length, classid, devcount 1) and one file_on row each, on the first
// device, in key order: R keys (-range, at most N/2) "z/%08d", the range
// list_keys is timed on, between (N-R)/2 keys "f/%010d" before it and the
// rest, "zz/%010d", after it. The fid allocator (tempfile's auto-increment) is moved past the new
// fids so that later uploads do not collide.
//
// Measure (-measure) talks to the tracker only:
//   - list_keys with prefix "z/", limit 1000: the first page, a page in the
//     middle and the last (empty) page, each -reps times (median and max);
//   - get_paths with noverify=1 of -cold distinct random keys outside z/,
//     each twice in a row: cold (the tracker's first lookup of the key reads
//     the database) and warm (the second is answered from the tracker's fid
//     cache); the client's own path cache is off (p50, p99, max of each);
//   - get_paths of random keys outside z/ by one client for -dur, alone and then
//     beside -loops listing loops, each paging through "z/" and then "f/"
//     with limit 1000 (p50, p99, max, and the listing pages done). It asks
//     with noverify=0, so that every call reads the database (the tracker
//     caches only for noverify=1); the tracker then checks the first copy
//     with a HEAD, which answers 404, as no data was written.
//
// For example:
//
//	listbench -db sqlite -dsn var/bench/mogilefs.sqlite -fill 1000000
//	listbench -tracker 127.0.0.1:7101 -measure
//
// tools/listbench/run.sh starts a cluster (tools/mogbench/cluster.sh) and
// runs both, then (with MOGBENCH set) mogbench on the same cluster, and
// prints the tracker's RSS.
//
// For fsck (tools/listbench/fsck.sh): -files DOCROOT makes -fill also write
// every file, fid%101 bytes long (the length its row says), straight into
// the first device's folder under the storage node's docroot, by plain
// file writes; -fsck-wait polls the database until the fsck run has ended
// (no fsck_host) and its queue is empty, then prints the time, files/s
// and fsck_log's rows by event code.
package main
