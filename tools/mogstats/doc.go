// Package mogstats is the mogstats tool: statistics read straight from
// the tracker database (not through a tracker), read-only.
//
//	mogstats --db_dsn="DBI:mysql:mogilefs:host=db" --db_user=mogile --db_pass=... [--stats=devices,files] [--verbose]
//	mogstats --stats=all       (options may come from ~/.mogilefs.conf)
//
// Statistics: devices, fids, files, domains, replication,
// replication-queue, delete-queue, general-queues, all (the default).
// Each prints a "Statistics for ..." table, as the original.
package mogstats
