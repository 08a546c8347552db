package mogbench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// patternLen is the length of the random pattern every file's body is cut
// from. It is odd, so that offsets never line up with power-of-two sizes.
const patternLen = 1<<20 + 7919

// headerLen is the length of the per-file header: the file's index and
// the run's seed, little-endian.
const headerLen = 16

// Content derives the bytes of file i of a run from the run's seed, so
// that reads can be verified without keeping the written data: the first
// 16 bytes are the index and the seed, the rest is the seed's random
// pattern read cyclically from an offset that depends on the index. A
// flipped byte, a short or long copy, or another file's content all fail
// verification.
type Content struct {
	seed    uint64
	base    int64
	jitter  int64
	pattern []byte
}

// NewContent returns the content of a run: files of base bytes plus
// 0..jitter-1 bytes chosen per file.
func NewContent(seed uint64, base, jitter int64) *Content {
	var key [32]byte
	s := seed
	for i := 0; i < 4; i++ {
		s = splitmix(s)
		binary.LittleEndian.PutUint64(key[8*i:], s)
	}
	p := make([]byte, patternLen)
	rand.NewChaCha8(key).Read(p)
	return &Content{seed: seed, base: base, jitter: jitter, pattern: p}
}

// splitmix is SplitMix64's output function over x + the golden gamma.
func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func (c *Content) mix(i int, salt uint64) uint64 {
	return splitmix(c.seed ^ splitmix(uint64(i)*4+salt))
}

// Size returns the length of file i.
func (c *Content) Size(i int) int64 {
	if c.jitter <= 1 {
		return c.base
	}
	return c.base + int64(c.mix(i, 1)%uint64(c.jitter))
}

// MaxSize is the largest file size of the run.
func (c *Content) MaxSize() int64 { return c.base + max(c.jitter-1, 0) }

// TotalSize is the sum of the sizes of the files in idx.
func (c *Content) TotalSize(idx []int) int64 {
	var n int64
	for _, i := range idx {
		n += c.Size(i)
	}
	return n
}

func (c *Content) header(i int) [headerLen]byte {
	var h [headerLen]byte
	binary.LittleEndian.PutUint64(h[:8], uint64(i))
	binary.LittleEndian.PutUint64(h[8:], c.seed)
	return h
}

// walk calls fn for consecutive pieces of the expected bytes of file i
// from offset off, n bytes in all; dst is the offset of the piece within
// those n bytes. It stops early when fn returns false.
func (c *Content) walk(i int, off int64, n int, fn func(dst int, want []byte) bool) {
	done := 0
	if off < headerLen && n > 0 {
		h := c.header(i)
		k := min(n, headerLen-int(off))
		if !fn(0, h[off:int(off)+k]) {
			return
		}
		done, off = k, off+int64(k)
	}
	start := int64(c.mix(i, 2) % patternLen)
	for done < n {
		p := int((start + off - headerLen) % patternLen)
		k := min(n-done, patternLen-p)
		if !fn(done, c.pattern[p:p+k]) {
			return
		}
		done += k
		off += int64(k)
	}
}

// Fill writes the bytes [off, off+len(p)) of file i into p.
func (c *Content) Fill(i int, off int64, p []byte) {
	c.walk(i, off, len(p), func(dst int, want []byte) bool {
		copy(p[dst:], want)
		return true
	})
}

// mismatch returns the index in p of the first byte that differs from
// file i's content at off, or -1.
func (c *Content) mismatch(i int, off int64, p []byte) int {
	at := -1
	c.walk(i, off, len(p), func(dst int, want []byte) bool {
		got := p[dst : dst+len(want)]
		if bytes.Equal(got, want) {
			return true
		}
		for k := range want {
			if got[k] != want[k] {
				at = dst + k
				break
			}
		}
		return false
	})
	return at
}

// Reader returns a reader of file i's content.
func (c *Content) Reader(i int) *FileReader {
	return &FileReader{c: c, i: i, size: c.Size(i)}
}

// FileReader reads the content of one file.
type FileReader struct {
	c    *Content
	i    int
	off  int64
	size int64
}

// Read implements io.Reader.
func (r *FileReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.size-r.off))
	r.c.Fill(r.i, r.off, p[:n])
	r.off += int64(n)
	return n, nil
}

// ErrVerify marks content that differs from what was written.
var ErrVerify = errors.New("content differs")

// Verifier is an io.Writer that compares what is written to it with the
// content of one file. It accepts everything, so that a response body is
// always read to its end, and reports the first difference in Err.
type Verifier struct {
	c        *Content
	i        int
	size     int64
	n        int64
	badAt    int64
	mismatch bool
}

// Verifier returns a verifier of file i.
func (c *Content) Verifier(i int) *Verifier {
	return &Verifier{c: c, i: i, size: c.Size(i), badAt: -1}
}

// Reset makes v verify file i from the start.
func (v *Verifier) Reset(i int) {
	*v = Verifier{c: v.c, i: i, size: v.c.Size(i), badAt: -1}
}

// Write implements io.Writer.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.badAt < 0 && v.n < v.size {
		in := p[:min(int64(len(p)), v.size-v.n)]
		if k := v.c.mismatch(v.i, v.n, in); k >= 0 {
			v.badAt = v.n + int64(k)
			v.mismatch = true
		}
	}
	v.n += int64(len(p))
	return len(p), nil
}

// Err returns nil when exactly the file's content was written, else an
// error wrapping ErrVerify that says where it differs.
func (v *Verifier) Err() error {
	switch {
	case v.mismatch:
		return fmt.Errorf("%w: file %d differs at byte %d of %d", ErrVerify, v.i, v.badAt, v.size)
	case v.n != v.size:
		return fmt.Errorf("%w: file %d has %d bytes, want %d", ErrVerify, v.i, v.n, v.size)
	}
	return nil
}
