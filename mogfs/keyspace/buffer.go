package keyspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// StreamThreshold is the size a file written sequentially from empty must
// reach before its upload starts while it is still being written.
const StreamThreshold = 8 << 20

// MemoryLimit is the size up to which a Buffer keeps its content in
// memory; a larger content moves to a spool file. Small files so cost no
// file system operation on the spool.
const MemoryLimit = 512 << 10

// KeepLimit is the size up to which Commit hands back a copy of the
// content it committed from memory (Stored.Content), for the mount to
// answer reads of that version without a GET.
const KeepLimit = 64 << 10

// errStreamAborted ends an upload whose data was overwritten after it was
// sent (or whose key changed): the upload is then never committed.
var errStreamAborted = errors.New("streamed upload abandoned")

// Target names where a Buffer is committed, and the attributes committed
// with it where the tracker can (a streamed upload, begun before they are
// known, leaves them out).
type Target struct {
	Domain, Key, Class string
	// DKey is the surrogate of a long Key (docs/mogfs-names.md), "" to
	// have one made at the commit.
	DKey string
	Attr AttrUpdate
}

// Storer uploads and commits a file (Space and Backend are Storers).
type Storer interface {
	Store(ctx context.Context, t Target, r io.Reader, size int64) (Stored, error)
}

// Buffer is the staged content of one file being written: the whole new
// content, in memory up to MemoryLimit and in a spool file beyond,
// committed as a new version of the key by Commit (create_open, PUT,
// create_close), so that a failed commit leaves the key's previous content
// as it was. Both count against the Spool's bound.
//
// A file written sequentially from empty (cp, tar, dd) starts uploading
// once it reaches StreamThreshold, from the spool, while the writer goes
// on: Commit then only waits for the end of that upload. A write to bytes
// already sent abandons that upload (it is never committed) and Commit
// uploads the whole spool file instead.
//
// Buffer is safe for concurrent use.
type Buffer struct {
	sp  *Spool
	st  Storer
	log *slog.Logger

	busy sync.Mutex // held by mutations and commits, which are serialised

	mu       sync.Mutex // guards what follows
	cond     *sync.Cond
	mem      []byte   // the content while f is nil
	f        *os.File // the spool file, once the content outgrew memory
	size     int64
	reserved int64
	dirty    bool
	loaded   bool // content is known: fresh, truncated or downloaded
	fresh    bool // written only by appends since empty
	target   Target
	stream   *stream
	closed   bool
}

type stream struct {
	target   Target
	cancel   context.CancelFunc
	pos      int64 // next byte to send
	readEnd  int64 // end of the bytes being read from the spool now
	finished bool  // Commit: send EOF at size
	aborted  bool
	done     chan struct{}
	st       Stored
	err      error
}

// NewBuffer returns an empty buffer for target. It is not dirty: an
// untouched buffer commits nothing; call Truncate(0) for a file created or
// opened with O_TRUNC, which must be committed even if left empty.
func NewBuffer(sp *Spool, st Storer, target Target, log *slog.Logger) (*Buffer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Buffer{sp: sp, st: st, log: log, target: target}
	b.cond = sync.NewCond(&b.mu)
	return b, nil
}

// spill moves the content to a spool file if it will grow past
// MemoryLimit. Called with busy held (so mem does not change under it).
func (b *Buffer) spill(end int64) error {
	b.mu.Lock()
	need := b.f == nil && end > MemoryLimit
	mem := b.mem
	b.mu.Unlock()
	if !need {
		return nil
	}
	f, err := b.sp.create()
	if err != nil {
		return err
	}
	if len(mem) > 0 {
		if _, err := f.WriteAt(mem, 0); err != nil {
			f.Close()
			return fmt.Errorf("spool: %w", err)
		}
	}
	b.mu.Lock()
	b.f, b.mem = f, nil
	b.mu.Unlock()
	return nil
}

// writeAt writes p at off into memory or the spool file. Called with busy.
func (b *Buffer) writeAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	f := b.f
	if f == nil {
		if end := off + int64(len(p)); end > int64(len(b.mem)) {
			if end > int64(cap(b.mem)) {
				grown := make([]byte, end, max(end, 2*int64(cap(b.mem))))
				copy(grown, b.mem)
				b.mem = grown
			} else {
				b.mem = b.mem[:end]
			}
		}
		n := copy(b.mem[off:], p)
		b.mu.Unlock()
		return n, nil
	}
	b.mu.Unlock()
	return f.WriteAt(p, off)
}

// Loaded reports whether the buffer holds the file's content (it was
// created empty, truncated, or loaded). Until then reads go to the
// cluster.
func (b *Buffer) Loaded() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.loaded
}

// Dirty reports whether the buffer holds changes not committed yet.
func (b *Buffer) Dirty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dirty
}

// Size returns the size of the staged content.
func (b *Buffer) Size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// SetTarget changes where the buffer will be committed (after a rename).
// An upload already running to the old key is abandoned.
func (b *Buffer) SetTarget(t Target) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stream != nil && b.stream.target != t {
		b.abortLocked()
	}
	b.target = t
}

// Target returns where the buffer will be committed.
func (b *Buffer) Target() Target {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.target
}

// Load copies the current content of the key (size bytes, read from src)
// into the buffer, so that it can be changed in place.
func (b *Buffer) Load(ctx context.Context, src Remote, size int64) error {
	b.busy.Lock()
	defer b.busy.Unlock()
	if b.Loaded() {
		return nil
	}
	if err := b.grow(ctx, size); err != nil {
		return err
	}
	if err := b.spill(size); err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		m, err := src.ReadAt(ctx, buf[:n], off)
		if m > 0 {
			if _, werr := b.writeAt(buf[:m], off); werr != nil {
				return fmt.Errorf("spool: %w", werr)
			}
			off += int64(m)
		}
		if err == io.EOF && off < size {
			return fmt.Errorf("load %q: %w after %d of %d bytes", b.Target().Key, io.ErrUnexpectedEOF, off, size)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("load %q: %w", b.Target().Key, err)
		}
	}
	b.mu.Lock()
	b.size, b.loaded, b.fresh = size, true, false
	b.mu.Unlock()
	return nil
}

// grow reserves spool room for a content of end bytes. Called with busy.
func (b *Buffer) grow(ctx context.Context, end int64) error {
	b.mu.Lock()
	need := end - b.reserved
	b.mu.Unlock()
	if need <= 0 {
		return nil
	}
	if err := b.sp.reserve(ctx, need); err != nil {
		return err
	}
	b.mu.Lock()
	b.reserved += need
	b.mu.Unlock()
	return nil
}

// Truncate sets the staged content's size; the buffer is then loaded and
// dirty.
func (b *Buffer) Truncate(ctx context.Context, size int64) error {
	b.busy.Lock()
	defer b.busy.Unlock()
	if err := b.grow(ctx, size); err != nil {
		return err
	}
	if err := b.spill(size); err != nil {
		return err
	}
	b.mu.Lock()
	if b.stream != nil && size < b.stream.readEnd {
		b.abortLocked()
	}
	f := b.f
	if f == nil {
		if size <= int64(cap(b.mem)) {
			old := len(b.mem)
			b.mem = b.mem[:size]
			if int(size) > old {
				clear(b.mem[old:])
			}
		} else {
			grown := make([]byte, size)
			copy(grown, b.mem)
			b.mem = grown
		}
	}
	b.mu.Unlock()
	if f != nil {
		if err := f.Truncate(size); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	b.mu.Lock()
	if size == 0 && b.stream == nil {
		b.fresh = true
	} else if size < b.size {
		b.fresh = false
	}
	b.size, b.dirty, b.loaded = size, true, true
	excess := b.reserved - size
	if excess > 0 {
		b.reserved = size
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	b.sp.release(excess)
	return nil
}

// WriteAt writes p at off. The buffer must be loaded (see Load).
func (b *Buffer) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	b.busy.Lock()
	defer b.busy.Unlock()
	end := off + int64(len(p))
	if err := b.grow(ctx, end); err != nil {
		return 0, err
	}
	if err := b.spill(end); err != nil {
		return 0, err
	}
	b.mu.Lock()
	if !b.loaded {
		b.mu.Unlock()
		return 0, errors.New("write to a buffer that was not loaded")
	}
	if b.stream != nil && off < b.stream.readEnd {
		b.abortLocked()
	}
	appending := off == b.size
	b.mu.Unlock()
	n, err := b.writeAt(p, off)
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := off + int64(n); e > b.size {
		b.size = e
	}
	if n > 0 {
		b.dirty = true
	}
	if !appending {
		b.fresh = false
	}
	if err != nil {
		return n, fmt.Errorf("spool: %w", err)
	}
	if b.stream == nil && b.fresh && b.size >= StreamThreshold {
		b.startLocked()
	}
	b.cond.Broadcast()
	return n, nil
}

// ReadAt reads the staged content.
func (b *Buffer) ReadAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	size, f := b.size, b.f
	if off >= size {
		b.mu.Unlock()
		return 0, io.EOF
	}
	if rem := size - off; int64(len(p)) > rem {
		p = p[:rem]
	}
	if f == nil {
		n := copy(p, b.mem[off:])
		b.mu.Unlock()
		return n, nil
	}
	b.mu.Unlock()
	n, err := f.ReadAt(p, off)
	if err == io.EOF && n == len(p) {
		err = nil // a hole at the end of the spool file
	}
	if err == io.EOF {
		// Bytes past the spool file's end that Truncate added.
		clear(p[n:])
		n, err = len(p), nil
	}
	return n, err
}

// startLocked starts streaming the content to the target. Called with mu.
func (b *Buffer) startLocked() {
	ctx, cancel := context.WithCancel(context.Background())
	t := b.target
	t.Attr = AttrUpdate{} // not known before Commit
	s := &stream{target: t, cancel: cancel, done: make(chan struct{})}
	b.stream = s
	b.log.Debug("streaming upload started", "key", s.target.Key, "domain", s.target.Domain)
	go func() {
		defer close(s.done)
		s.st, s.err = b.st.Store(ctx, s.target, &streamReader{b: b, s: s}, -1)
		cancel()
	}()
}

// abortLocked abandons the running upload. Called with mu.
func (b *Buffer) abortLocked() {
	s := b.stream
	if s == nil {
		return
	}
	s.aborted = true
	s.cancel()
	b.cond.Broadcast()
	b.stream = nil
	b.fresh = false
	b.log.Debug("streaming upload abandoned", "key", s.target.Key, "domain", s.target.Domain)
}

// streamReader feeds an upload from the spool as the content grows.
type streamReader struct {
	b *Buffer
	s *stream
}

func (r *streamReader) Read(p []byte) (int, error) {
	b, s := r.b, r.s
	b.mu.Lock()
	for {
		if s.aborted || b.closed {
			b.mu.Unlock()
			return 0, errStreamAborted
		}
		if s.pos < b.size {
			break
		}
		if s.finished {
			b.mu.Unlock()
			return 0, io.EOF
		}
		b.cond.Wait()
	}
	off := s.pos
	if rem := b.size - off; int64(len(p)) > rem {
		p = p[:rem]
	}
	s.readEnd = off + int64(len(p))
	f := b.f
	b.mu.Unlock()
	if f == nil {
		return 0, errStreamAborted // cannot happen: streams start past MemoryLimit
	}
	n, err := f.ReadAt(p, off)
	if err == io.EOF && n < len(p) {
		clear(p[n:]) // bytes Truncate added past the file's end
		n, err = len(p), nil
	}
	b.mu.Lock()
	s.pos += int64(n)
	s.readEnd = s.pos
	aborted := s.aborted
	b.mu.Unlock()
	if aborted {
		return 0, errStreamAborted
	}
	return n, err
}

// Commit uploads the staged content if it changed and returns whether it
// did, and what it became. After an error the buffer is still dirty and
// the key unchanged.
func (b *Buffer) Commit(ctx context.Context) (Stored, bool, error) {
	b.busy.Lock()
	defer b.busy.Unlock()
	b.mu.Lock()
	if !b.dirty {
		b.mu.Unlock()
		return Stored{}, false, nil
	}
	t, size, s := b.target, b.size, b.stream
	if s != nil {
		s.finished = true
		b.cond.Broadcast()
	}
	b.mu.Unlock()
	if s != nil {
		<-s.done
		b.mu.Lock()
		if b.stream == s {
			b.stream = nil
		}
		ok := s.err == nil && !s.aborted && s.st.Size == size
		if ok {
			b.dirty, b.fresh = false, false
		}
		b.mu.Unlock()
		if ok {
			return s.st, true, nil
		}
		if s.err != nil && !s.aborted {
			b.log.Warn("streamed upload failed; uploading the spool file again", "key", t.Key, "domain", t.Domain, "err", s.err)
		}
	}
	b.mu.Lock()
	var src io.Reader
	var kept []byte
	if b.f != nil {
		src = io.NewSectionReader(b.f, 0, size)
	} else {
		src = bytes.NewReader(b.mem[:size])
		if size <= KeepLimit {
			kept = bytes.Clone(b.mem[:size])
		}
	}
	b.mu.Unlock()
	st, err := b.st.Store(ctx, t, src, size)
	if err != nil {
		return Stored{}, false, err
	}
	if kept != nil && st.Size == size {
		st.Content = kept
	}
	b.mu.Lock()
	b.dirty, b.fresh = false, false
	b.mu.Unlock()
	return st, true, nil
}

// Close abandons any upload still running, drops the staged content and
// gives its room back to the spool.
func (b *Buffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	s := b.stream
	b.abortLocked()
	b.cond.Broadcast()
	b.mu.Unlock()
	if s != nil {
		<-s.done
	}
	b.busy.Lock()
	defer b.busy.Unlock()
	var err error
	if b.f != nil {
		err = b.f.Close()
	}
	b.mu.Lock()
	r := b.reserved
	b.reserved, b.mem = 0, nil
	b.mu.Unlock()
	b.sp.release(r)
	return err
}
