// Package moglistfids is the moglistfids tool: it lists files by fid,
// whatever their domain.
//
//	moglistfids --trackers=host [--fromfid=123] [--count=5000]
//
// Each file is printed as "fid <n>" followed by "class", "devcount",
// "domain", "key" and "length" lines and a blank line.
package moglistfids
