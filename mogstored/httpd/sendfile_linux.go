package httpd

import (
	"errors"
	"net"
	"syscall"
)

// sendFile sends up to n bytes of fd from off to the connection with
// sendfile(2), waiting for the socket to drain as needed (the write
// deadline applies). It returns the bytes sent; fewer than n without an
// error means the file ended.
func sendFile(c net.Conn, fd int, off, n int64) (int64, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return copyFile(c, fd, off, n)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var serr error
	err = rc.Write(func(s uintptr) bool {
		for sent < n {
			o := off + sent
			m, e := syscall.Sendfile(int(s), fd, &o, int(min(n-sent, 1<<30)))
			if m > 0 {
				sent += int64(m)
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false // wait until writable
			case errors.Is(e, syscall.EINVAL) || errors.Is(e, syscall.ENOSYS):
				serr = errNoSendfile
				return true
			case e != nil:
				serr = e
				return true
			case m == 0:
				return true // end of file
			}
		}
		return true
	})
	if serr == errNoSendfile {
		m, err := copyFile(c, fd, off+sent, n-sent)
		return sent + m, err
	}
	if serr != nil {
		return sent, serr
	}
	return sent, err
}

var errNoSendfile = errors.New("sendfile not supported")
