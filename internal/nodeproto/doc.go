// Package nodeproto holds the storage-node conventions that the tracker,
// mogstored and tools share: where a fid lives under a device (FIDPath) and
// the format of a device's usage file.
package nodeproto
