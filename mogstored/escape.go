package mogstored

import (
	"strings"
	"syscall"
)

// escapesAny is escapes, also telling a path that leaves its device
// directory while staying inside the docroot ("dev2/l" -> ".."): writes
// resolve paths from the device directory (docRoot.device), where os.Root
// refuses such a link with its unexported escape error, which would
// otherwise be answered as an unexplained failure (500) instead of a
// refusal (403).
func (d *docRoot) escapesAny(rel string) bool {
	return d.escapes(rel) || d.escapesDevice(rel)
}

// escapesDevice reports whether resolving rel ("dev<N>/...") from its
// device directory would leave that directory through a symlink. Without
// openat2, escapes already counts any symlink on the way.
func (d *docRoot) escapesDevice(rel string) bool {
	dev, sub, ok := strings.Cut(rel, "/")
	sub = strings.TrimSuffix(sub, "/")
	if !ok || sub == "" || !d.openat2 {
		return false
	}
	dfd, err := openBeneath(d.fd, dev, oPath|syscall.O_DIRECTORY)
	if err != nil {
		return false
	}
	defer syscall.Close(dfd)
	fd, err := openBeneath(dfd, sub, oPath)
	if err == nil {
		syscall.Close(fd)
	}
	return isEscape(err)
}
