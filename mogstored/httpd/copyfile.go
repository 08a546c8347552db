package httpd

import (
	"net"
	"syscall"
)

// copyFile sends n bytes of fd from off with pread and write, for
// connections or files sendfile cannot handle.
func copyFile(c net.Conn, fd int, off, n int64) (int64, error) {
	buf := make([]byte, min(n, 256<<10))
	var sent int64
	for sent < n {
		m, err := syscall.Pread(fd, buf[:min(int64(len(buf)), n-sent)], off+sent)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return sent, err
		}
		if m == 0 {
			return sent, nil
		}
		w, err := c.Write(buf[:m])
		sent += int64(w)
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}
