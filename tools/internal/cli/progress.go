package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
)

// ProgressThreshold is the transfer size above which a progress bar is
// drawn.
const ProgressThreshold = 1 << 20

// Progress draws a one-line transfer progress bar on a terminal. A nil
// *Progress is valid and does nothing, so callers need no checks.
type Progress struct {
	w     io.Writer
	label string
	total int64 // -1 unknown

	mu    sync.Mutex
	n     int64
	start time.Time
	last  time.Time
	drawn bool
	now   func() time.Time
}

// NewProgress returns a progress bar for a transfer of total bytes (-1 if
// unknown), or nil when stderr is not a terminal or the transfer is known
// to be at most ProgressThreshold bytes.
func NewProgress(env *Env, label string, total int64) *Progress {
	if !env.StderrTerminal || (total >= 0 && total <= ProgressThreshold) {
		return nil
	}
	return &Progress{w: env.Stderr, label: label, total: total, start: time.Now(), now: time.Now}
}

// Add records n more bytes and redraws at most ten times a second.
func (p *Progress) Add(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	t := p.now()
	if p.n <= ProgressThreshold || t.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = t
	p.drawn = true
	fmt.Fprint(p.w, "\r"+RenderProgress(p.label, p.n, p.total, t.Sub(p.start)))
}

// Done draws the final state and ends the line (only if a bar was drawn).
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.drawn {
		return
	}
	fmt.Fprint(p.w, "\r"+RenderProgress(p.label, p.n, p.total, p.now().Sub(p.start))+"\n")
	p.drawn = false
}

// Reader counts what is read through r.
func (p *Progress) Reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &progressReader{r: r, p: p}
}

// Writer counts what is written through w.
func (p *Progress) Writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return &progressWriter{w: w, p: p}
}

type progressReader struct {
	r io.Reader
	p *Progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.Add(n)
	return n, err
}

type progressWriter struct {
	w io.Writer
	p *Progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.Add(n)
	return n, err
}

const barWidth = 30

// RenderProgress formats one progress line: label, bar, sizes in
// human-readable IEC units, percentage and rate, e.g.
// "upload [=========>          ]  33% 10 MiB / 30 MiB 5.0 MiB/s".
// With an unknown total the bar and percentage are left out.
func RenderProgress(label string, n, total int64, elapsed time.Duration) string {
	rate := ""
	if s := elapsed.Seconds(); s > 0 {
		rate = humanize.IBytes(uint64(float64(n)/s)) + "/s"
	}
	if total < 0 {
		return fmt.Sprintf("%s %s %s", label, humanize.IBytes(uint64(n)), rate)
	}
	pct := 100
	if total > 0 {
		pct = int(n * 100 / total)
		if pct > 100 {
			pct = 100
		}
	}
	fill := pct * barWidth / 100
	bar := strings.Repeat("=", fill)
	if fill < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	return fmt.Sprintf("%s [%s] %3d%% %s / %s %s", label, bar, pct,
		humanize.IBytes(uint64(n)), humanize.IBytes(uint64(total)), rate)
}
