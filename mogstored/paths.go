package mogstored

import (
	"errors"
	"strings"
)

// nodePath is a request path checked against the storage node's rules:
// "/dev<N>" followed by segments of [A-Za-z0-9_.-], no "." or ".."
// segment and no ".." anywhere (the original refuses any ".."), no empty
// segment. A trailing "/" names a directory.
type nodePath struct {
	devid int
	rel   string // docroot-relative: "dev1/0/000/000/0000000001.fid"
	sub   string // device-relative: "0/000/000/0000000001.fid"; "" for the device itself
	dir   bool   // ended in "/"
}

var (
	errBadPath   = errors.New("invalid filename")
	errNotDevice = errors.New("not a device path")
)

// parseNodePath checks the decoded request path p.
func parseNodePath(p string) (nodePath, error) {
	if p == "/" {
		return nodePath{}, errNotDevice
	}
	if len(p) < 2 || p[0] != '/' || strings.Contains(p, "..") {
		return nodePath{}, errBadPath
	}
	rel := p[1:]
	np := nodePath{rel: rel}
	if strings.HasSuffix(rel, "/") {
		np.dir = true
		rel = rel[:len(rel)-1]
	}
	first, sub, _ := strings.Cut(rel, "/")
	np.sub = sub
	for seg := range strings.SplitSeq(rel, "/") {
		if !validSegment(seg) {
			return nodePath{}, errBadPath
		}
	}
	id, ok := parseDevName(first)
	if !ok {
		return nodePath{}, errNotDevice
	}
	np.devid = id
	return np, nil
}

func validSegment(s string) bool {
	if s == "" || s == "." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}
