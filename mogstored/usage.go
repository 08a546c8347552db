package mogstored

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/mountinfo"
	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// usageWriter rewrites docroot/dev<N>/usage for every device directory,
// from statfs(2), as the original's diskusage child does with df.
type usageWriter struct {
	root  *docRoot
	devs  *deviceStates
	viaDU bool
	now   func() time.Time
	// observer, if set, gets every measurement (metrics).
	observer *nodeMetrics
	// kick asks loop for a refresh now (Rescan).
	kick chan struct{}
}

// loop refreshes the usage files every interval until ctx is done.
func (u *usageWriter) loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-u.kick:
		}
		u.refresh()
	}
}

// refresh writes every device's usage file once and updates the device
// states: missing, read-only, full (no space available) or ok.
func (u *usageWriter) refresh() {
	ids, err := u.root.devices()
	if err != nil {
		u.devs.log.Error("cannot list devices", "docroot", u.root.path, "err", err)
		return
	}
	present := map[int]bool{}
	for _, id := range ids {
		present[id] = true
		state, err := u.writeOne(id)
		switch {
		case errors.Is(err, syscall.ENOENT):
			present[id] = false
		case err != nil && state == devOK:
			u.devs.set(id, devIOError, err)
		default:
			u.devs.set(id, state, err)
		}
	}
	u.devs.forget(present)
	u.observer.present(present)
}

// measure returns the usage of device devid without writing it.
func (u *usageWriter) measure(dev *os.Root, devid int) (nodeproto.Usage, bool, error) {
	dir := filepath.Join(u.root.path, "dev"+strconv.Itoa(devid))
	d, err := dev.Open(".")
	if err != nil {
		return nodeproto.Usage{}, false, err
	}
	var sf syscall.Statfs_t
	err = fstatfs(int(d.Fd()), &sf)
	d.Close()
	if err != nil {
		return nodeproto.Usage{}, false, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := uint64(sf.Bsize)
	if sf.Frsize > 0 {
		bs = uint64(sf.Frsize)
	}
	used := (sf.Blocks - sf.Bfree) * bs / 1024
	avail := sf.Bavail * bs / 1024
	mnt := findMount(dir)
	disk := dir
	if strings.HasSuffix(strings.TrimSuffix(mnt.point, "/"), "/dev"+strconv.Itoa(devid)) {
		disk = mnt.point
	}
	us := nodeproto.Usage{
		Available: avail,
		Device:    mnt.source,
		Disk:      disk,
		Time:      u.now().Unix(),
		Total:     used + avail,
		Use:       nodeproto.UsePercent(used, avail),
		Used:      used,
	}
	if u.viaDU {
		if n, err := duKiB(dev); err == nil {
			us.Used = n
		}
	}
	return us, sf.Flags&stRdonly != 0, nil
}

const stRdonly = 0x1 // ST_RDONLY in statfs f_flags

// writeOne writes the usage file of one device and says what state the
// device is in.
func (u *usageWriter) writeOne(devid int) (string, error) {
	dev, err := u.root.device(devid)
	if err != nil {
		return devOK, err
	}
	defer dev.Close()
	us, ro, err := u.measure(dev, devid)
	if err != nil {
		return devOK, err
	}
	// Reported once the file is written (or failed to be), so that what
	// the metrics show is already in the usage file.
	defer u.observer.measured(devid, us)
	if ro {
		return devReadOnly, fmt.Errorf("dev%d: %w", devid, syscall.EROFS)
	}
	state := devOK
	if us.Available == 0 {
		state = devFull
	}
	// Write a temp file and rename it over the old one: a reader sees the
	// old or the new file, never a mix.
	data := us.Format()
	tmp := nodeproto.UsageFile + "." + strconv.Itoa(os.Getpid()) + ".tmp"
	err = writeFile(dev, tmp, data)
	if err == nil {
		err = dev.Rename(tmp, nodeproto.UsageFile)
	}
	if err != nil {
		dev.Remove(tmp)
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			// No room for a new file: rewrite the old one in place, as the
			// original always did; its blocks are already allocated.
			err = rewriteInPlace(dev, nodeproto.UsageFile, data)
		}
	}
	if err != nil {
		if errors.Is(err, syscall.EROFS) {
			state = devReadOnly
		}
		return state, fmt.Errorf("dev%d: write usage: %w", devid, err)
	}
	return state, nil
}

func writeFile(dev *os.Root, name string, data []byte) error {
	f, err := dev.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rewriteInPlace overwrites name from its start and cuts it to the new
// length (the original's way).
func rewriteInPlace(dev *os.Root, name string, data []byte) error {
	f, err := dev.OpenFile(name, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// duKiB is `du -k -s` of the device: allocated KiB of everything in it.
func duKiB(dev *os.Root) (uint64, error) {
	var total uint64
	err := fs.WalkDir(dev.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries count as nothing, like du's warning
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += uint64(st.Blocks) * 512
		}
		return nil
	})
	return total / 1024, err
}

type mount struct{ point, source string }

// findMount returns the mount holding dir: the longest mount point that is
// a prefix of dir's real path, from /proc/self/mountinfo. Without
// mountinfo it returns dir itself with an unknown source.
func findMount(dir string) mount {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir
	}
	best := mount{point: dir, source: "-"}
	ms, err := mountinfo.Read()
	if err != nil {
		return best
	}
	bestLen := -1
	for _, m := range ms {
		if !pathHasPrefix(real, m.Point) || len(m.Point) < bestLen {
			continue
		}
		bestLen = len(m.Point)
		best = mount{point: m.Point, source: m.Source}
	}
	return best
}

func pathHasPrefix(p, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

func fstatfs(fd int, st *syscall.Statfs_t) error {
	for {
		err := syscall.Fstatfs(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}
