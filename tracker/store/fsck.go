package store

// FsckFile is what an fsck check reads of one fid (Store.FsckFiles): the
// file row, the devids of its copies (ascending), and whether a checksum
// row and an open upload (a tempfile row of the same fid) exist.
type FsckFile struct {
	File        File
	DevIDs      []int
	HasChecksum bool
	OpenUpload  bool
}
