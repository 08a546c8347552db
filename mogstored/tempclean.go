package mogstored

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Temp files a crash left behind: a PUT writes "<name>.<pid>.<rand>.tmp"
// next to its target and the usage writer "usage.<pid>.tmp"; both are
// renamed or removed when the process lives on, so one that stays
// unmodified for long belongs to a process that died mid-way.
const (
	tempMaxAge     = time.Hour // younger temp files are left alone
	tempSweepEvery = time.Hour // a sweep at start, then this often
)

var staleTempRe = regexp.MustCompile(`^(?:.+\.[0-9]+\.[0-9]+|usage\.[0-9]+)\.tmp$`)

// tempCleaner removes stale temp files from every device directory.
type tempCleaner struct {
	root   *docRoot
	log    *slog.Logger
	maxAge time.Duration
	now    func() time.Time
}

// startTempCleaner sweeps now and then every tempSweepEvery until ctx
// ends. A live upload keeps its temp file's mtime fresh (a PUT body may
// stall at most BodyTimeout), so the age limit is at least twice that.
func (s *Server) startTempCleaner(ctx context.Context, wg *sync.WaitGroup) {
	c := &tempCleaner{root: s.root, log: s.log, maxAge: max(tempMaxAge, 2*s.cfg.BodyTimeout), now: time.Now}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.loop(ctx, tempSweepEvery)
	}()
}

func (c *tempCleaner) loop(ctx context.Context, every time.Duration) {
	for {
		c.sweep(ctx)
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// sweep removes the stale temp files of every device and returns how
// many it removed.
func (c *tempCleaner) sweep(ctx context.Context) int {
	ids, err := c.root.devices()
	if err != nil {
		c.log.Error("temp file sweep: cannot list devices", "docroot", c.root.path, "err", err)
		return 0
	}
	removed := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return removed
		}
		n, err := c.sweepDevice(ctx, id)
		removed += n
		if err != nil && ctx.Err() == nil {
			c.log.Warn("temp file sweep: device skipped", "device", id, "err", err)
		}
	}
	level := slog.LevelDebug
	if removed > 0 {
		level = slog.LevelInfo
	}
	c.log.Log(ctx, level, "temp file sweep done", "removed", removed, "devices", len(ids))
	return removed
}

// sweepDevice walks one device directory without following symlinks
// (nor leaving the device: everything goes through its os.Root) and
// removes the regular files named like temp files and not modified for
// maxAge.
func (c *tempCleaner) sweepDevice(ctx context.Context, devid int) (int, error) {
	dev, err := c.root.device(devid)
	if err != nil {
		return 0, err
	}
	defer dev.Close()
	cutoff := c.now().Add(-c.maxAge)
	removed := 0
	err = fs.WalkDir(dev.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return nil // an unreadable directory: nothing to do there
		}
		if !d.Type().IsRegular() || !staleTempRe.MatchString(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		rel := "/dev" + strconv.Itoa(devid) + "/" + p
		if err := dev.Remove(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				c.log.Warn("cannot remove stale temp file", "device", devid, "path", rel, "err", err)
			}
			return nil
		}
		removed++
		c.log.Info("removed stale temp file", "device", devid, "path", rel,
			"modified", info.ModTime().UTC().Format(time.RFC3339), "size", info.Size())
		return nil
	})
	return removed, err
}
