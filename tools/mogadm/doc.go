// Package mogadm is the mogadm tool: the administration command of a
// MogileFS cluster.
//
//	mogadm [--trackers=host:port,...] [--config=FILE] [--verbose] <command> <verb> <args> [--opts]
//
// Commands: check, stats, host, device, domain, class, slave, fsck,
// rebalance, settings (run mogadm without arguments for the list). Output
// formats follow the original. Success is silent unless --verbose; a
// failure prints one line on stderr and exits 1; bad or missing arguments
// print "ERROR: ..." on stderr and the verb's help, and exit 1.
//
// Trackers come from --trackers, the "trackers" key of --config,
// ~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf, or, when none is
// configured, 127.0.0.1:7001 if something answers there. The "timeout"
// key sets the tracker reply timeout in seconds (default 15).
package mogadm
