package nodeproto

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// UsageFile is the name of the usage file in every device directory; the
// tracker reads it as GET /dev<N>/usage.
const UsageFile = "usage"

// Usage is the content of a device's usage file. Sizes are in KiB, as df -k
// reports them; Total is Used+Available (blocks reserved for root are not
// counted, as in the original).
type Usage struct {
	Available uint64 // KiB free for unprivileged users
	Device    string // the filesystem source, e.g. /dev/sdb1
	Disk      string // the mount point if it is the device directory, else the directory
	Time      int64  // Unix seconds when the figures were taken
	Total     uint64 // KiB, Used+Available
	Use       string // percentage as df prints it, e.g. "45%"
	Used      uint64 // KiB
}

// Format returns the file content: one "key: value\n" line per key, in
// sorted key order, as the original writes it.
func (u Usage) Format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "available: %d\n", u.Available)
	fmt.Fprintf(&b, "device: %s\n", u.Device)
	fmt.Fprintf(&b, "disk: %s\n", u.Disk)
	fmt.Fprintf(&b, "time: %d\n", u.Time)
	fmt.Fprintf(&b, "total: %d\n", u.Total)
	fmt.Fprintf(&b, "use: %s\n", u.Use)
	fmt.Fprintf(&b, "used: %d\n", u.Used)
	return b.Bytes()
}

// UsePercent returns df's "use" column for used and available KiB: the
// used share of used+available, rounded up, with a "%" sign.
func UsePercent(used, avail uint64) string {
	t := used + avail
	if t == 0 {
		return "-"
	}
	p := (used*100 + t - 1) / t
	return strconv.FormatUint(p, 10) + "%"
}

var usageLine = regexp.MustCompile(`^(\w+)\s*:\s*(.+)$`)

// ParseUsage reads a usage file the way the tracker's monitor does: every
// line matching `^(\w+)\s*:\s*(.+)$` sets a key, other lines are ignored.
// It fails if used or total is missing, not a number, or zero, which is
// what makes the monitor discard a reading. Fields the file lacks stay zero.
func ParseUsage(b []byte) (Usage, error) {
	var u Usage
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		m := usageLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		k, v := m[1], strings.TrimRight(m[2], " \t\r")
		seen[k] = true
		var err error
		switch k {
		case "available":
			u.Available, err = strconv.ParseUint(v, 10, 64)
		case "device":
			u.Device = v
		case "disk":
			u.Disk = v
		case "time":
			u.Time, err = strconv.ParseInt(v, 10, 64)
		case "total":
			u.Total, err = strconv.ParseUint(v, 10, 64)
		case "use":
			u.Use = v
		case "used":
			u.Used, err = strconv.ParseUint(v, 10, 64)
		}
		if err != nil {
			return Usage{}, fmt.Errorf("usage file: %s: %w", k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Usage{}, fmt.Errorf("usage file: %w", err)
	}
	if !seen["used"] || !seen["total"] || u.Used == 0 || u.Total == 0 {
		return Usage{}, fmt.Errorf("usage file: used and total must be present and non-zero")
	}
	return u, nil
}
