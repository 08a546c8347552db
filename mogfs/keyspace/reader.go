package keyspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Read-ahead parameters of Reader.
const (
	// BlockSize is the unit of ranged GETs.
	BlockSize = 1 << 20
	// ReadAhead is the number of blocks fetched ahead of a sequential
	// reader, in parallel.
	ReadAhead = 8
	// maxBlocks bounds the blocks a Reader keeps: its memory is at most
	// maxBlocks*BlockSize whatever the file's size.
	maxBlocks = ReadAhead + 4
	// FetchTimeout bounds one ranged GET of a block, so that a storage
	// node that stalls in the middle of a body cannot hang a read.
	FetchTimeout = time.Minute
)

// Reader reads a remote file in blocks of BlockSize with ranged GETs. Once
// reads look sequential it fetches the next ReadAhead blocks in parallel
// while the caller consumes the current one. A failed GET fails over to the
// next copy (Remote.ReadAt does), and when every copy fails the paths are
// asked for again once. It is safe for concurrent use; Close cancels the
// fetches still running.
type Reader struct {
	size   int64
	reopen func(ctx context.Context) (Remote, error)

	ctx    context.Context // fetches; cancelled by Close
	cancel context.CancelFunc

	mu       sync.Mutex
	remote   Remote
	reopened bool
	blocks   map[int64]*block
	tick     uint64
	next     int64 // the block a sequential reader reads next
	seq      int   // consecutive sequential reads seen
	closed   bool
}

type block struct {
	done chan struct{}
	buf  []byte // set before done is closed
	n    int
	err  error
	used uint64
}

// NewReader returns a Reader of a file of size bytes at remote; reopen,
// if not nil, asks for fresh paths after every copy failed.
func NewReader(remote Remote, size int64, reopen func(ctx context.Context) (Remote, error)) *Reader {
	ctx, cancel := context.WithCancel(context.Background())
	return &Reader{size: size, remote: remote, reopen: reopen, ctx: ctx, cancel: cancel, blocks: map[int64]*block{}}
}

// Size returns the file's size.
func (r *Reader) Size() int64 { return r.size }

// Remote returns the current paths.
func (r *Reader) Remote() Remote {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remote
}

// ReadAt fills p from off. It returns io.EOF only at or past the end of
// the file, like a short read of os.File.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	_, n, err := r.read(ctx, p, off, false)
	return n, err
}

// ReadAtSlice is ReadAt that returns the bytes read: when they lie
// within one block, a slice of that block, without copying them into p
// (a block's buffer is never reused, so the slice stays valid).
func (r *Reader) ReadAtSlice(ctx context.Context, p []byte, off int64) ([]byte, error) {
	b, n, err := r.read(ctx, p, off, true)
	if b == nil {
		b = p[:n]
	}
	return b, err
}

// read is ReadAt; with share, a range within one block is returned as a
// slice of it instead of being copied into p.
func (r *Reader) read(ctx context.Context, p []byte, off int64, share bool) ([]byte, int, error) {
	if off >= r.size {
		return nil, 0, io.EOF
	}
	if rem := r.size - off; int64(len(p)) > rem {
		p = p[:rem]
	}
	first, last := off/BlockSize, (off+int64(len(p))-1)/BlockSize
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, 0, errors.New("reader closed")
	}
	// The kernel sends read-ahead requests in parallel: they may arrive
	// a little out of order and still be a sequential read.
	if first >= r.next-2 && first <= r.next+2 {
		r.seq++
	} else {
		r.seq = 0
	}
	if last+1 > r.next || r.seq == 0 {
		r.next = last + 1
	}
	want := make([]*block, 0, last-first+1)
	for i := first; i <= last; i++ {
		want = append(want, r.getLocked(i))
	}
	if r.seq > 0 || first == 0 {
		// Ramp up: 2, 4, then ReadAhead blocks ahead.
		ahead := int64(ReadAhead)
		if r.seq < 3 {
			ahead = min(ahead, 2<<r.seq)
		}
		for i := last + 1; i <= last+ahead && i*BlockSize < r.size; i++ {
			r.getLocked(i)
		}
	}
	r.evictLocked()
	r.mu.Unlock()

	n := 0
	for i, b := range want {
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, n, ctx.Err()
		}
		if b.err != nil {
			r.drop(first+int64(i), b)
			return nil, n, b.err
		}
		bo := (first + int64(i)) * BlockSize
		from := int64(0)
		if i == 0 {
			from = off - bo
		}
		if from >= int64(b.n) {
			break
		}
		if share && len(want) == 1 {
			end := min(from+int64(len(p)), int64(b.n))
			if end-from < int64(len(p)) {
				return nil, 0, fmt.Errorf("short read at %d: %w", off+end-from, io.ErrUnexpectedEOF)
			}
			return b.buf[from:end:end], int(end - from), nil
		}
		n += copy(p[n:], b.buf[from:b.n])
	}
	if n < len(p) {
		return nil, n, fmt.Errorf("short read at %d: %w", off+int64(n), io.ErrUnexpectedEOF)
	}
	return nil, n, nil
}

// getLocked returns block i, starting its fetch if needed.
func (r *Reader) getLocked(i int64) *block {
	r.tick++
	if b, ok := r.blocks[i]; ok {
		b.used = r.tick
		return b
	}
	b := &block{done: make(chan struct{}), used: r.tick}
	r.blocks[i] = b
	go r.fetch(i, b)
	return b
}

// evictLocked drops the least recently used finished blocks beyond
// maxBlocks.
func (r *Reader) evictLocked() {
	for len(r.blocks) > maxBlocks {
		var victim int64 = -1
		var oldest uint64
		for i, b := range r.blocks {
			select {
			case <-b.done:
			default:
				continue
			}
			if victim < 0 || b.used < oldest {
				victim, oldest = i, b.used
			}
		}
		if victim < 0 {
			return
		}
		// A reader may still be copying from it: the buffer is left
		// to the garbage collector, never reused.
		delete(r.blocks, victim)
	}
}

// drop forgets a failed block so that the next read fetches it again.
func (r *Reader) drop(i int64, b *block) {
	r.mu.Lock()
	if r.blocks[i] == b {
		delete(r.blocks, i)
	}
	r.mu.Unlock()
}

func (r *Reader) fetch(i int64, b *block) {
	defer close(b.done)
	off := i * BlockSize
	n := int64(BlockSize)
	if r.size-off < n {
		n = r.size - off
	}
	buf := make([]byte, n)
	b.buf = buf
	r.mu.Lock()
	remote := r.remote
	r.mu.Unlock()
	attempt := func(rm Remote) (int, error) {
		ctx, cancel := context.WithTimeout(r.ctx, FetchTimeout)
		defer cancel()
		return rm.ReadAt(ctx, buf, off)
	}
	m, err := attempt(remote)
	if err != nil && err != io.EOF && r.reopen != nil && r.ctx.Err() == nil {
		if fresh := r.refresh(remote); fresh != nil {
			m, err = attempt(fresh)
		}
	}
	if err == io.EOF && int64(m) == n {
		err = nil
	}
	if err == io.EOF {
		err = fmt.Errorf("file ended at %d, expected %d bytes: %w", off+int64(m), r.size, io.ErrUnexpectedEOF)
	}
	b.n, b.err = m, err
}

// refresh asks for new paths once per Reader, after old failed.
func (r *Reader) refresh(old Remote) Remote {
	r.mu.Lock()
	if r.remote != old {
		cur := r.remote
		r.mu.Unlock()
		return cur
	}
	if r.reopened {
		r.mu.Unlock()
		return nil
	}
	r.reopened = true
	r.mu.Unlock()
	fresh, err := r.reopen(r.ctx)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	r.remote = fresh
	r.mu.Unlock()
	return fresh
}

// Close cancels the fetches still running and drops the blocks.
func (r *Reader) Close() error {
	r.cancel()
	r.mu.Lock()
	r.closed = true
	r.blocks = map[int64]*block{}
	r.mu.Unlock()
	return nil
}
