// Package tracker is mogilefsd, the MogileFS tracker: it serves the
// original line protocol (see package wire) over a metadata store
// (package store; the SQL implementation is injected by cmd/mogilefsd) and
// keeps a view of the storage nodes (packages cluster and monitor).
//
// # Connections
//
// One goroutine per connection reads request lines ("\r\n" or "\n";
// empty lines skipped) and answers them one at a time, in order, so
// pipelining works. Replies are buffered while more requests are already
// waiting and flushed otherwise. A line starting with "!" and matching the
// original's "^!(\S+)(?:\s+(.+))?$" is an admin command (!stats, !jobs,
// !want, !to, !queue, !watch, !recent, !version, !shutdown, else the help
// text), answered at once with lines ending in "." — everything else is a
// query: the command is the leading run of word characters, lower-cased;
// the rest, after whitespace, is the URL-encoded argument string.
//
// At most query_jobs queries run at once ("!want N queryworker" changes
// it); the others wait and show in !queue and !stats. Like the original,
// no query runs before the monitor finished its first round.
//
// # Admin commands
//
// The "!" commands are answered by the connection's own goroutine and
// never wait for a query slot, as the original's parent process answers
// them without a query worker, so no "!want" can lock the operator out.
//
// !jobs lists, sorted, "<job> count|desired|pids" for every job class that
// ever ran, also at count 0 once "!want 0 <job>" stopped it (the
// original's tests wait for "fsck count 0"). The workers are goroutines of
// this process, so "pids" is the tracker's own pid (empty at count 0): a
// signal sent to it reaches the whole tracker, not one worker.
//
// "!want 0 queryworker" means no query runs: clients are still accepted,
// their queries wait (in !queue, counted as pending_queries) until the
// count is raised again; queries already running finish, and count in
// "queryworker count" until they do. At shutdown the queries still held
// back get "ERR failure Tracker is shutting down". "!want 0 monitor"
// pauses the monitor's rounds and reloads until "!want 1 monitor"; in
// the meantime clear_cache and the admin changes answer after reloading
// the database instead of waiting for a round (the original's would wait
// forever).
//
// !watch shows the original's lines: the tracker's own ("Job fsck has
// only 0, wants 1, making 1.", "Child <pid> (fsck) died: 0 (expected)",
// "Reducing queryworker headcount by 1.") and those of the workers,
// prefixed "[<job>(<pid>)] " with the tracker's pid ("[fsck(<pid>)]
// Connectivity problem reaching device 3 on host 10.0.0.1"; see package
// watchlog), plus the tracker's other warnings and errors as "message
// key=value ...". A worker stopped by "!to <job> :shutdown" is replaced
// once it has ended, so its watchers see it die before the replacement
// starts, as in the original. "!to monitor :refresh_monitor" starts a
// monitor round; "!to queryworker" only counts the query slots, which
// have nothing to stop.
//
// Bad input gets one ERR line and the connection stays usable: an
// unparseable or unknown command gives unknown_command, an argument string
// with a malformed %-escape gives bad_params (the original would decode it
// literally), and a line longer than 64 KiB is skipped up to its end and
// answered with bad_params (the original has no limit). A handler that
// panics answers "ERR failure Operation failed". A client that does not
// read its replies for 120 s is dropped; idle connections are kept.
//
// SIGTERM (or !shutdown) closes the listeners, wakes idle connections,
// lets every command in flight finish and answer (a sleep command is cut
// short), stops the background jobs and the monitor, and Run returns.
//
// # Commands
//
// Every query command of the original 2.73 is implemented with its
// arguments, defaults, reply keys and ERR codes and texts (see the
// cmd_*.go files). Admin changes reload the cluster view and wait for a
// fresh monitor round before answering, as the original's implicit
// clear_cache does. Deliberate differences from the original, each
// commented where it is made: create_open picks destinations on distinct
// hosts; rename answers only its ERR line; edit_file works without
// memcache; values that do not fit the schema's columns are refused with
// an ERR instead of being truncated by a database.
//
// get_paths with noverify=1 may be answered from an in-process cache of
// key lookups (package fidcache, entries live 3 s); every change this
// tracker makes to a key or fid invalidates it at once.
package tracker
