package mogstored

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mogilefs-go/mogilefs/internal/nodeproto"
)

// ioWatcher measures how busy the disk under each device directory is, as
// the original's `iostat -dx 1` child did, but from /proc/diskstats: once
// a second it reads each disk's io_ticks (milliseconds spent doing I/O)
// and reports the share of the interval as a percentage with two decimals,
// iostat's %util. A device on a partition is reported for its whole disk;
// one on something that is not a block device (tmpfs, NFS) as "-".
// Subscribers get each sample as a formatted watch block; a subscriber
// that has not taken the previous block misses the next one.
type ioWatcher struct {
	root      *docRoot
	stats     string // path of diskstats
	sysBlock  string // path of /sys/dev/block
	interval  time.Duration
	mu        sync.Mutex
	subs      map[chan string]struct{}
	lastTicks map[string]uint64
	lastTime  time.Time
}

func newIOWatcher(root *docRoot) *ioWatcher {
	return &ioWatcher{
		root: root, stats: "/proc/diskstats", sysBlock: "/sys/dev/block", interval: time.Second,
		subs: map[chan string]struct{}{},
	}
}

// available reports whether utilization can be measured here.
func (w *ioWatcher) available() bool {
	_, err := os.Stat(w.stats)
	return err == nil
}

func (w *ioWatcher) subscribe() chan string {
	ch := make(chan string, 1)
	w.mu.Lock()
	w.subs[ch] = struct{}{}
	w.mu.Unlock()
	return ch
}

func (w *ioWatcher) unsubscribe(ch chan string) {
	w.mu.Lock()
	delete(w.subs, ch)
	w.mu.Unlock()
}

func (w *ioWatcher) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		block, err := w.sample()
		if err != nil || block == "" {
			continue
		}
		w.mu.Lock()
		for ch := range w.subs {
			select {
			case ch <- block:
			default: // the subscriber is behind: drop, as the original does
			}
		}
		w.mu.Unlock()
	}
}

// sample reads diskstats and returns the watch block for the interval
// since the previous call ("" on the first call).
func (w *ioWatcher) sample() (string, error) {
	ticks, err := readIOTicks(w.stats)
	if err != nil {
		return "", err
	}
	now := time.Now()
	prev, prevTime := w.lastTicks, w.lastTime
	w.lastTicks, w.lastTime = ticks, now
	if prev == nil {
		return "", nil
	}
	elapsed := float64(now.Sub(prevTime).Milliseconds())
	ids, err := w.root.devices()
	if err != nil {
		return "", err
	}
	block := nodeproto.WatchBlock{}
	for _, id := range ids {
		block[id] = "-"
		disk := w.diskOf(id)
		if disk == "" || elapsed <= 0 {
			continue
		}
		cur, ok1 := ticks[disk]
		old, ok2 := prev[disk]
		if !ok1 || !ok2 || cur < old {
			continue
		}
		util := min(float64(cur-old)/elapsed*100, 100)
		block[id] = strconv.FormatFloat(util, 'f', 2, 64)
	}
	return block.Format(), nil
}

// diskOf returns the kernel name of the whole disk holding dev<id>, or "".
func (w *ioWatcher) diskOf(id int) string {
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(w.root.path, "dev"+strconv.Itoa(id)), &st); err != nil {
		return ""
	}
	major := (st.Dev>>8)&0xfff | (st.Dev>>32)&^0xfff
	minor := st.Dev&0xff | (st.Dev>>12)&^0xff
	if major == 0 {
		return "" // not a block device
	}
	link := filepath.Join(w.sysBlock, fmt.Sprintf("%d:%d", major, minor))
	real, err := filepath.EvalSymlinks(link)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		real = filepath.Dir(real)
	}
	return strings.ReplaceAll(filepath.Base(real), "!", "/")
}

// readIOTicks returns io_ticks (the 10th statistic) per disk name.
func readIOTicks(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 {
			continue
		}
		n, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			continue
		}
		out[f[2]] = n
	}
	return out, nil
}
