//go:build !linux

package httpd

import "net"

func sendFile(c net.Conn, fd int, off, n int64) (int64, error) { return copyFile(c, fd, off, n) }
