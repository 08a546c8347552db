// Package admin is the administrative side of the MogileFS client, as
// MogileFS::Admin: hosts, devices, domains, classes, server settings,
// fsck, rebalance, the read-slave list and tracker statistics. It sends
// its commands through a client.Client (so it shares its tracker failover
// and timeouts); tracker ERR replies come back as *wire.Error values.
package admin
