// Package moglistkeys is the moglistkeys tool: it prints the keys of a
// domain that start with a prefix, one per line.
//
//	moglistkeys --trackers=host --domain=foo --key_prefix=/foo/bar/
package moglistkeys
