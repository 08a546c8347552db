// Package policy holds the tracker's placement rules as pure functions: the
// replication policies of a class (class.replpolicy) and the rebalance
// policy that drives draining devices. Nothing here does I/O; callers hand
// in a snapshot of the devices and get a decision back.
//
// # Replication policies
//
// A class's replpolicy string is parsed exactly as MogileFS 2.73 does it
// (Parse). The empty string (NULL in the database) means MultipleHosts().
// Three policies exist:
//
//   - MultipleHosts(N): copies on N distinct hosts (the default).
//   - MultipleDevices(N): copies on N distinct devices.
//   - Union(P1, P2, ...): every member policy must hold.
//
// N, when present and non-zero, overrides the class mindevcount.
//
// Policy.ReplicateTo answers the replicator's question "where should the
// next copy go?" with one of: the policy holds (AllGood), it holds with
// copies to spare (TooGood), nothing can be done right now (TempNoAnswer),
// or an ordered list of ideal and desperate destination devices
// (NeedCopies). Destinations are ordered by a weighted random draw over the
// 20 emptiest candidates, weight 100·percent_free, as the original does.
//
// Deviation: the original's Union parses but dies when asked to place a
// file. Here Union works: it is satisfied when every member is; it is too
// happy only when every member is; otherwise it asks for the destinations
// any unsatisfied member wants (ideal before desperate).
//
// # Rebalance policies
//
// ParseRebalance reads the space-separated key=value policy of
// `rebalance_set_policy` (server setting rebal_policy); RebalanceState is
// the progress record kept in server setting rebal_state. SourceDevices and
// DestDevices apply the policy's from_*/to_* filters to a device snapshot.
package policy
