package mogfs

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// toErrno maps an error of the keyspace layer to the errno a system call
// returns. Errors without a more precise meaning are EIO and are logged
// (once, here) with op and the keys involved.
func toErrno(log *slog.Logger, op string, err error, kv ...any) syscall.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, keyspace.ErrNotFound):
		return syscall.ENOENT
	case errors.Is(err, keyspace.ErrExists):
		return syscall.EEXIST
	case errors.Is(err, keyspace.ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, keyspace.ErrTooLong):
		return syscall.ENAMETOOLONG
	case errors.Is(err, keyspace.ErrInvalid), errors.Is(err, keyspace.ErrBadName):
		return syscall.EINVAL
	case errors.Is(err, keyspace.ErrSpoolFull), errors.Is(err, keyspace.ErrNoSpace):
		log.Warn(op+" failed", append(kv, "err", err)...)
		return syscall.ENOSPC
	case errors.Is(err, keyspace.ErrUnsupported):
		// Only what cannot fall back gets here: a symbolic link or
		// special file on a tracker that keeps no attributes.
		log.Warn(op+" not supported by this tracker", append(kv, "err", err)...)
		return syscall.EPERM
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	}
	log.Error(op+" failed", append(kv, "err", err)...)
	return syscall.EIO
}
