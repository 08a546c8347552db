package mogstored

import (
	"errors"
	"log/slog"
	"sync"
	"syscall"
)

// Device states as reported in the log.
const (
	devOK       = "ok"
	devMissing  = "missing"
	devReadOnly = "read-only"
	devFull     = "full"
	devIOError  = "i/o error"
)

// deviceStates remembers what each device directory was last seen as and
// logs every change, one line per device and event. The tracker learns
// the same from HTTP: a missing device answers 404 on its usage file, a
// read-only or full one fails the monitor's test write.
type deviceStates struct {
	log   *slog.Logger
	mu    sync.Mutex
	state map[int]string
}

func newDeviceStates(log *slog.Logger) *deviceStates {
	return &deviceStates{log: log, state: map[int]string{}}
}

func (d *deviceStates) set(devid int, state string, err error) {
	d.mu.Lock()
	old, known := d.state[devid]
	d.state[devid] = state
	d.mu.Unlock()
	if old == state {
		return
	}
	switch {
	case state == devOK && !known:
		d.log.Info("device found", "device", devid)
	case state == devOK:
		d.log.Info("device back in service", "device", devid, "was", old)
	case err != nil:
		d.log.Warn("device "+state, "device", devid, "err", err)
	default:
		d.log.Warn("device "+state, "device", devid)
	}
}

// get returns the last state seen for devid ("" if never seen).
func (d *deviceStates) get(devid int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state[devid]
}

// forget drops devices not in present, reporting them missing once.
func (d *deviceStates) forget(present map[int]bool) {
	d.mu.Lock()
	var gone []int
	for id, st := range d.state {
		if !present[id] && st != devMissing {
			gone = append(gone, id)
		}
	}
	d.mu.Unlock()
	for _, id := range gone {
		d.set(id, devMissing, nil)
	}
}

// noteError records what a failed write says about the device.
func (d *deviceStates) noteError(devid int, err error) {
	switch {
	case errors.Is(err, syscall.EROFS):
		d.set(devid, devReadOnly, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		d.set(devid, devFull, err)
	case errors.Is(err, syscall.EIO):
		d.set(devid, devIOError, err)
	}
}

// noteWrite records a successful write: the device takes writes again.
func (d *deviceStates) noteWrite(devid int) {
	d.mu.Lock()
	st, known := d.state[devid]
	d.mu.Unlock()
	if known && st != devOK {
		d.set(devid, devOK, nil)
	}
}
