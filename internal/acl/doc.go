// Package acl is an allow-list of client networks: the tracker's
// admin_allow (who may run admin commands) and mogstored's write_allow
// (who may PUT and DELETE). The original MogileFS has neither; both are
// off unless configured.
//
// A list is written as networks in CIDR notation or single addresses,
// separated by commas and/or white space:
//
//	127.0.0.1/32, 10.0.0.0/8 192.168.1.7 ::1
//
// A single address means just that host (/32 or /128). Host bits set in a
// network are cleared: "10.1.2.3/8" means 10.0.0.0/8. IPv4 clients reaching an IPv6 socket show up as
// IPv4-mapped addresses (::ffff:10.1.2.3); they are matched as the IPv4
// address they are. The nil *List allows everyone, so code can hold a
// *List that is nil when nothing was configured.
package acl
