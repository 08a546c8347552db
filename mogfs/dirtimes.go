package mogfs

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/mogilefs-go/mogilefs/mogfs/keyspace"
)

// Directory times. Adding or removing an entry sets the directory's mtime
// and ctime, as on a local filesystem. The mount shows the new times at
// once; its directory marker gets them soon after, off the system call's
// path: at most one mogfs_set_attr per directory is under way, and the
// changes made meanwhile go with the next one, dirTouchDelay later. A
// directory without a marker (made by keys of original clients alone)
// keeps no times; a failure to record them is logged.

// dirTouchDelay gathers the entry changes of a busy directory into one
// mogfs_set_attr: at most five a second, so that filling a directory
// costs the tracker next to nothing more. It is kept within half the
// attribute TTL, after which the mount asks the tracker again.
const dirTouchDelay = 200 * time.Millisecond

// touchDelay is dirTouchDelay within half the TTL.
func (f *FS) touchDelay() time.Duration {
	return min(dirTouchDelay, f.cfg.TTL/2)
}

// touchDir records that an entry of the directory in was added or removed
// now; a node that is not a directory of a domain is left alone.
func (f *FS) touchDir(in *fs.Inode) {
	d, ok := in.Operations().(*dirNode)
	if !ok {
		return
	}
	now := time.Now()
	d.mu.Lock()
	d.attr.Mtime, d.attr.Ctime = now, now
	d.at = now
	queued := d.touchQueued
	d.touchQueued = true
	d.mu.Unlock()
	if !queued {
		time.AfterFunc(f.touchDelay(), func() { f.flushDirTimes(d) })
	}
}

// flushDirTimes records the directory's times on its marker: those the
// mount shows when it runs, under the lock that a SETATTR of the
// directory holds too, so that a utimes made meanwhile (cp -a sets a
// directory's times after filling it) is neither lost nor overwritten.
func (f *FS) flushDirTimes(d *dirNode) {
	d.setMu.Lock()
	defer d.setMu.Unlock()
	d.mu.Lock()
	d.touchQueued = false
	mtime, ctime := d.attr.Mtime, d.attr.Ctime
	d.mu.Unlock()
	l, errno := f.locate(&d.Inode)
	if errno != 0 || l.top {
		return // gone, or a domain's top (which has no marker)
	}
	err := f.space.SetAttr(context.Background(), l.domain, l.prefix(), keyspace.AttrUpdate{Mtime: &mtime, Ctime: &ctime})
	if err != nil && !errors.Is(err, keyspace.ErrNotFound) {
		f.log.Warn("directory times not recorded", "domain", l.domain, "key", l.prefix(), "err", err)
	}
}

// maxFileSize is the largest file mogfs can stage: the spool's bound. A
// longer truncate or write is EFBIG at once (not ENOSPC after waiting for
// room that can never be).
func (f *FS) tooBig(size int64) syscall.Errno {
	if lim := f.cfg.Spool.Limit(); lim > 0 && size > lim {
		return syscall.EFBIG
	}
	return 0
}
