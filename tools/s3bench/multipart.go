package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// mpLayout is how an object of size bytes splits into parts.
type mpLayout struct{ size, part int64 }

func (l mpLayout) count() int { return int((l.size + l.part - 1) / l.part) }

// span is the first byte and length of part i (from 0).
func (l mpLayout) span(i int) (off, n int64) {
	off = int64(i) * l.part
	return off, min(l.part, l.size-off)
}

// benchMultipart uploads one object of o.multipartSize bytes in parts and
// reads it back, checking every byte.
func benchMultipart(ctx context.Context, c *s3Client, o *options, rep *report) error {
	l := mpLayout{o.multipartSize, o.partSize}
	key := o.prefix + "multipart"
	bufs := make([][]byte, min(o.c, l.count()))
	for w := range bufs {
		bufs[w] = make([]byte, l.part)
	}
	order := make([]int, l.count())
	for i := range order {
		order[i] = i
	}

	start := time.Now()
	id, err := c.createUpload(ctx, o.bucket, key)
	if err != nil {
		return err
	}
	etags := make([]string, l.count())
	up := runPhase(ctx, "upload", order, o.c, 0, func(ctx context.Context, w, i int) error {
		_, n := l.span(i)
		b := bufs[w][:n]
		fill(b, 0, uint64(i))
		var err error
		etags[i], err = c.uploadPart(ctx, o.bucket, key, id, i+1, b)
		return err
	})
	if up.Errors == 0 {
		t := time.Now()
		if err := c.completeUpload(ctx, o.bucket, key, id, etags); err != nil {
			up.Errors++
			up.FirstError = err.Error()
		}
		up.CompleteSeconds = time.Since(t).Seconds()
	}
	up.Seconds = time.Since(start).Seconds()
	up.MiBPerSec = float64(l.size) / up.Seconds / (1 << 20)
	up.ReqPerSec = 0
	rep.Phases = append(rep.Phases, up)
	if up.Errors > 0 || ctx.Err() != nil {
		return ctx.Err()
	}

	var down phase
	if o.ranged {
		reads := make([][]byte, len(bufs))
		for w := range reads {
			reads[w] = make([]byte, l.part)
		}
		start = time.Now()
		down = runPhase(ctx, "download", order, o.c, 0, func(ctx context.Context, w, i int) error {
			off, n := l.span(i)
			if err := c.get(ctx, o.bucket, key, fmt.Sprintf("bytes=%d-%d", off, off+n-1), reads[w][:n]); err != nil {
				return err
			}
			fill(bufs[w][:n], 0, uint64(i))
			if !bytes.Equal(bufs[w][:n], reads[w][:n]) {
				return fmt.Errorf("GET %s part %d: %w", key, i+1, errVerify)
			}
			return nil
		})
	} else {
		start = time.Now()
		down = runPhase(ctx, "download", []int{0}, 1, 0, func(ctx context.Context, _, _ int) error {
			return getWhole(ctx, c, o.bucket, key, l)
		})
	}
	down.Seconds = time.Since(start).Seconds()
	down.MiBPerSec = float64(l.size) / down.Seconds / (1 << 20)
	down.ReqPerSec = 0
	rep.Phases = append(rep.Phases, down)
	return ctx.Err()
}

// getWhole reads the object with one GET, checking it part by part.
func getWhole(ctx context.Context, c *s3Client, bucket, key string, l mpLayout) error {
	r, err := c.do(ctx, http.MethodGet, c.objectURL(bucket, key, ""), nil, []int{200})
	if err != nil {
		return err
	}
	defer drain(r)
	got, want := make([]byte, l.part), make([]byte, l.part)
	for i := range l.count() {
		_, n := l.span(i)
		if _, err := io.ReadFull(r.Body, got[:n]); err != nil {
			return fmt.Errorf("GET %s part %d: %w", key, i+1, err)
		}
		fill(want[:n], 0, uint64(i))
		if !bytes.Equal(got[:n], want[:n]) {
			return fmt.Errorf("GET %s part %d: %w", key, i+1, errVerify)
		}
	}
	var one [1]byte
	if n, _ := r.Body.Read(one[:]); n > 0 {
		return fmt.Errorf("GET %s: longer than %d bytes", key, l.size)
	}
	return nil
}
