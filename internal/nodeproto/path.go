package nodeproto

import (
	"strconv"
	"strings"
)

// FIDPath returns the path of fid on device devid, as the original lays it
// out: the decimal fid zero-padded to 10 digits (longer fids keep all their
// digits) gives the file name, and its first 1, 3 and 3 digits the three
// directory levels. FIDPath(2, 148056) = "/dev2/0/000/148/0000148056.fid".
func FIDPath(devid int, fid int64) string {
	n := strconv.FormatInt(fid, 10)
	if len(n) < 10 {
		n = strings.Repeat("0", 10-len(n)) + n
	}
	return "/dev" + strconv.Itoa(devid) + "/" + n[0:1] + "/" + n[1:4] + "/" + n[4:7] + "/" + n + ".fid"
}

// FIDDirs returns the three directory levels of FIDPath, each with a
// trailing slash, in the order they must be created.
func FIDDirs(devid int, fid int64) [3]string {
	p := FIDPath(devid, fid)
	i := strings.LastIndexByte(p, '/')
	c := p[:i+1]
	b := c[:strings.LastIndexByte(c[:len(c)-1], '/')+1]
	a := b[:strings.LastIndexByte(b[:len(b)-1], '/')+1]
	return [3]string{a, b, c}
}
