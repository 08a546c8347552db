// Package cli is what the MogileFS command-line tools share: the process
// environment they run in (Env, so that tests can run a tool in-process),
// the original's configuration files (trackers, domain, class and any
// option name as "key = value"), flag parsing with the original's
// conventions, the one table that turns errors into messages and exit
// codes, and the transfer progress bar.
package cli
