// Package cluster is a tracker's in-memory view of the MogileFS cluster:
// domains, classes, hosts, devices and server settings as last read from the
// database, combined with what this tracker's monitor observed (host
// reachable or not; device writeable, readable or unreachable; its disk
// usage, I/O utilization and whether it rejects bad Content-MD5 uploads).
//
// Readers take an immutable *Snapshot with Cluster.Snapshot; it is cheap and
// safe to share between goroutines. The database part is reloaded every few
// seconds by the monitor and right after an admin change (Cluster.Reload);
// the observed part is written by the monitor (Cluster.Observe) once per
// monitor round. Each change builds a new Snapshot and swaps it in
// atomically, so a reader never sees half an update.
//
// The device predicates are those of the original tracker (its
// MogileFS::Device and DeviceState):
//
//		status    read write new_files drain dead
//		alive      y    y      y        -     -
//		readonly   y    -      -        -     -
//		drain      y    y      -        y     -
//		down       -    -      -        -     -
//		dead       -    -      -        -     y
//
//	  - CanReadFrom: host alive or readonly, device read flag.
//	  - ShouldReadFrom: CanReadFrom and the monitor saw the device readable or
//	    writeable on a reachable host.
//	  - CanDeleteFrom: host alive and device write flag.
//	  - ShouldGetNewFiles (and ShouldGetReplicatedFiles): new_files flag,
//	    observed writeable on a reachable host, host alive, and, when the
//	    usage is known, at least min_free_space MB free.
//
// An unknown device status counts as down.
//
// Monitor rounds: the monitor calls BeginRound and EndRound around each
// pass over the devices. WaitFirstRound blocks until one round has
// completed (create_open needs it: before that no device is known to be
// writeable); WaitForMonitorRound kicks the monitor and blocks until a
// round that started after the call has completed (clear_cache and the
// admin commands use it so the change is visible when they answer).
package cluster
