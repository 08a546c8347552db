// Package worker runs the tracker's background jobs, as the original
// mogilefsd's child processes do, but as goroutines:
//
//   - job_master: leases due rows of the database queues (file_to_replicate,
//     file_to_delete2, file_to_queue types 1 and 2) through Store.Grab and
//     hands them to the workers below, on every tracker. It also campaigns
//     for the cluster's job-master role, a lease ("mgfs:job_master",
//     Store.TakeLease) one tracker holds at a time (master.go); the holder
//     injects fsck and rebalance work while a run is on (fsck_host,
//     rebal_host set).
//   - replicate: copies a file (HTTP GET from a good copy, PUT to the
//     device the class's replication policy picks, size and checksum
//     checked) until the policy holds; also moves files for rebalance and
//     drain, and sheds copies of over-replicated files.
//   - delete: removes the copies of deleted files with HTTP DELETE; on
//     the job master it also turns uploads never closed (tempfiles older
//     than an hour) into deletions and moves rows an older tracker left
//     in the legacy queues file_to_delete and file_to_delete_later into
//     file_to_delete2, where they are deleted the same way.
//   - reaper: on the job master, for every device marked dead, queues its
//     files for re-replication and forgets its file_on rows, a bounded
//     number at a time.
//   - fsck: checks each queued file (copies present with the right size,
//     policy met, checksum right when the class has a hash type, devcount
//     right), repairs what it can and logs the original event codes to
//     fsck_log. It takes the leased fids in batches: one read of their
//     rows (Store.FsckFiles) and one dequeue for the batch, several fids
//     checked at a time; fixes still take the fid's lock and re-read it.
//
// Several trackers may share one database: leases (Store.Grab) keep two
// trackers from taking the same queue row, the named lock
// "mgfs:fid:<fid>:replicate" keeps two workers off the same fid (the work
// under a named lock runs under Store.LockContext, so on Galera it stops
// before the lock's lease could pass to another tracker: holdLock), and the
// work done once per cluster runs only on the job master, which stops
// acting before its lease could pass to another tracker. Workers.IsJobMaster
// and the "!stats" counter is_job_master (1 or 0) say whether a tracker
// is job master now.
//
// The workers tell the tracker what it needs to know through Deps:
// OnFileChanged after each file_on row they add or remove (the tracker's
// get_paths cache forgets the fid), CountStat for the original's !stats
// counters work_queue_for_<queue> and work_sent_to_<queue>.
//
// Start runs the jobs with the counts of the configuration (the original's
// replicate_jobs, delete_jobs, fsck_jobs, reaper_jobs and job_master);
// Workers.Want changes a count at run time (the tracker's "!want"), and
// Workers.Jobs reports them ("!jobs"). As in the original, replicate,
// delete and fsck workers run only while a job_master is wanted, and no
// worker starts before the monitor's first round.
//
// The messages the original's workers send to the tracker's "!watch"
// connections are logged in its words and marked with package watchlog
// (at error level, like the original's error()): a worker started or
// ended ("Job replicate has only 0, wants 2, making 2.", "Child <pid>
// (replicate) died: 0 (expected)"), fsck's "Connectivity problem reaching
// device", "Fsck stalled for fid", "removing file_on mapping" and checksum
// complaints, replication's "Failed copying fid" and "<errcode>:
// <message>" when a file could not be replicated ("no_source: Source is
// no longer available replicating 42"), rebalance's "Rebalance for
// DevFID[...] failed", the deleter's "Error: unlink failure" and the
// reaper's "No device row".
package worker
