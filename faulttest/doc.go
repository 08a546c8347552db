// Package faulttest holds the reliability and security suite: integration
// tests that run the real binaries (mogilefsd, mogstored, mogfs, MariaDB)
// on loopback addresses, inject faults into them, and check what the
// system promises afterwards.
//
//   - fault tests: a storage node killed (SIGKILL) during 1 000 uploads,
//     the tracker killed and restarted under load, two trackers on one
//     MariaDB, devices that turn read-only, vanish or fill up, copies
//     corrupted on disk and repaired by fsck, MariaDB restarted under
//     load, storage nodes and the tracker vanishing under a busy mogfs
//     mount;
//   - hostile input: path traversal, symlinks, oversized, malformed and
//     slow requests against mogstored; over-long lines, binary garbage,
//     thousands of idle connections and a client that never reads against
//     the tracker; the admin_allow and write_allow lists end to end.
//
// Every test checks that acknowledged data is never lost (each file whose
// upload succeeded reads back byte for byte), that an upload that failed
// left nothing half there, and that the processes stay up and answer.
// Tests log their measurements on lines starting with "FIGURE", which
// docs/reliability.md collects.
//
// By default the suite is sized for CI (a few minutes on 2 cores). With
// MOGTEST_SOAK=1 it runs longer: more uploads, more connections, repeated
// faults. Tests needing root (tmpfs mounts), /dev/fuse or MariaDB skip
// loudly when those are missing, and fail instead under CI=true.
//
// The package has no non-test code; it is only built by go test.
package faulttest
