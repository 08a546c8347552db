package mogbench

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// whole returns file i's content read through its FileReader with reads
// of random sizes.
func whole(t *testing.T, c *Content, i int, r *rand.Rand) []byte {
	t.Helper()
	fr := c.Reader(i)
	var out []byte
	for {
		p := make([]byte, 1+r.IntN(9000))
		n, err := fr.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestContentDeterministicAndDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := NewContent(42, 4096, 64)
	again := NewContent(42, 4096, 64)
	other := NewContent(43, 4096, 64)
	seen := map[string]int{}
	for i := 0; i < 200; i++ {
		b := whole(t, c, i, r)
		if int64(len(b)) != c.Size(i) || c.Size(i) < 4096 || c.Size(i) > 4159 {
			t.Fatalf("file %d: %d bytes, Size %d", i, len(b), c.Size(i))
		}
		if !bytes.Equal(b, whole(t, again, i, r)) {
			t.Fatalf("file %d differs between two Contents of one seed", i)
		}
		if bytes.Equal(b[16:4096], whole(t, other, i, r)[16:4096]) {
			t.Fatalf("file %d is the same under another seed", i)
		}
		if j, dup := seen[string(b)]; dup {
			t.Fatalf("files %d and %d have the same content", j, i)
		}
		seen[string(b)] = i
		// Fill at any offset agrees with the stream.
		off := r.IntN(len(b))
		p := make([]byte, r.IntN(len(b)-off+1))
		c.Fill(i, int64(off), p)
		if !bytes.Equal(p, b[off:off+len(p)]) {
			t.Fatalf("file %d: Fill at %d differs from the stream", i, off)
		}
	}
	sizes := map[int64]bool{}
	for i := 0; i < 1000; i++ {
		sizes[c.Size(i)] = true
	}
	if len(sizes) < 60 {
		t.Fatalf("only %d distinct sizes over 1000 files with jitter 64", len(sizes))
	}
	if s := NewContent(1, 100, 0).Size(7); s != 100 {
		t.Fatalf("size without jitter = %d", s)
	}
}

func TestContentWrapsThePattern(t *testing.T) {
	// A file longer than the pattern repeats it and still verifies.
	c := NewContent(7, 3*patternLen+123, 0)
	v := c.Verifier(5)
	n, err := io.CopyBuffer(v, c.Reader(5), make([]byte, 100_000))
	if err != nil || n != c.Size(5) || v.Err() != nil {
		t.Fatalf("copy %d of %d bytes: %v, verify: %v", n, c.Size(5), err, v.Err())
	}
}

func TestVerifierCatchesEveryKindOfDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c := NewContent(99, 70_000, 64)
	good := whole(t, c, 11, r)
	verify := func(b []byte, i int) error {
		v := c.Verifier(i)
		// Write in uneven pieces, as a network read does.
		for len(b) > 0 {
			k := min(len(b), 1+r.IntN(5000))
			v.Write(b[:k])
			b = b[k:]
		}
		return v.Err()
	}
	if err := verify(good, 11); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	for _, at := range []int{0, 7, 15, 16, 17, len(good) / 2, len(good) - 1} {
		bad := slices.Clone(good)
		bad[at] ^= 0x01
		err := verify(bad, 11)
		if !errors.Is(err, ErrVerify) {
			t.Fatalf("flipped byte %d not caught: %v", at, err)
		}
	}
	for name, b := range map[string][]byte{
		"short":      good[:len(good)-1],
		"empty":      nil,
		"long":       append(slices.Clone(good), 0),
		"other file": whole(t, c, 12, r),
	} {
		if err := verify(b, 11); !errors.Is(err, ErrVerify) {
			t.Fatalf("%s content not caught: %v", name, err)
		}
	}
	// Reset reuses a verifier for another file.
	v := c.Verifier(11)
	v.Write(good[:100])
	v.Reset(12)
	v.Write(whole(t, c, 12, r))
	if err := v.Err(); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	var s []int64
	for i := int64(1); i <= 1000; i++ {
		s = append(s, i*1e6) // 1..1000 ms
	}
	rand.Shuffle(len(s), func(a, b int) { s[a], s[b] = s[b], s[a] })
	l := latencyOf(s)
	if l.P50 != 500 || l.P90 != 900 || l.P99 != 990 || l.Max != 1000 || l.Mean != 500.5 {
		t.Fatalf("latency of 1..1000 ms: %+v", l)
	}
	one := latencyOf([]int64{3e6})
	if one.P50 != 3 || one.P99 != 3 || one.Max != 3 {
		t.Fatalf("one sample: %+v", one)
	}
	if latencyOf(nil) != nil {
		t.Fatal("latency of no samples")
	}
	// Three samples: p50 is the 2nd, p90 and p99 the 3rd.
	three := latencyOf([]int64{30e6, 10e6, 20e6})
	if three.P50 != 20 || three.P90 != 30 || three.P99 != 30 {
		t.Fatalf("three samples: %+v", three)
	}
}
