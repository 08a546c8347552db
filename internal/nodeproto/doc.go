// Package nodeproto holds the storage-node conventions that the tracker,
// mogstored and tools share: where a fid lives under a device (FIDPath),
// the format of a device's usage file (Usage), and the codec of the
// management side channel (sidechannel.go: size, MD5/SHA-1 digests and the
// watch utilization stream).
package nodeproto
