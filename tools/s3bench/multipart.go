package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
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
	if up.Errors > 0 || ctx.Err() != nil || o.phases == "put" {
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
	if down.Errors > 0 || ctx.Err() != nil || o.plainURL == "" {
		return ctx.Err()
	}
	return benchPlain(ctx, c, o, rep)
}

// getWhole reads the object with one GET, checking it part by part.
func getWhole(ctx context.Context, c *s3Client, bucket, key string, l mpLayout) error {
	r, err := c.do(ctx, http.MethodGet, c.objectURL(bucket, key, ""), nil, []int{200})
	if err != nil {
		return err
	}
	defer drain(r)
	return checkBody(r.Body, key, l)
}

// checkBody reads body to its end, checking it part by part against the
// generator's content.
func checkBody(body io.Reader, key string, l mpLayout) error {
	got, want := make([]byte, l.part), make([]byte, l.part)
	for i := range l.count() {
		_, n := l.span(i)
		if _, err := io.ReadFull(body, got[:n]); err != nil {
			return fmt.Errorf("GET %s part %d: %w", key, i+1, err)
		}
		fill(want[:n], 0, uint64(i))
		if !bytes.Equal(got[:n], want[:n]) {
			return fmt.Errorf("GET %s part %d: %w", key, i+1, errVerify)
		}
	}
	var one [1]byte
	if n, _ := body.Read(one[:]); n > 0 {
		return fmt.Errorf("GET %s: longer than %d bytes", key, l.size)
	}
	return nil
}

// genReader streams the generator's content of an object laid out as l,
// part by part, holding one part in memory.
type genReader struct {
	l    mpLayout
	next int    // the next part to generate
	buf  []byte // what is left of the current part
	part []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	if len(g.buf) == 0 {
		if g.next >= g.l.count() {
			return 0, io.EOF
		}
		_, n := g.l.span(g.next)
		if g.part == nil {
			g.part = make([]byte, g.l.part)
		}
		g.buf = g.part[:n]
		fill(g.buf, 0, uint64(g.next))
		g.next++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// benchPlain writes the same content as the multipart upload with one
// plain PUT to o.plainURL+key (no signature) and reads it back with one
// GET, checking every byte: the same client work, without S3.
func benchPlain(ctx context.Context, c *s3Client, o *options, rep *report) error {
	l := mpLayout{o.multipartSize, o.partSize}
	key := o.prefix + "plain"
	target := strings.TrimRight(o.plainURL, "/") + "/" + key
	one := []int{0}
	put := runPhase(ctx, "plain-put", one, 1, 0, func(ctx context.Context, _, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, &genReader{l: l})
		if err != nil {
			return err
		}
		req.ContentLength = l.size
		return plainDo(c, req, func(io.Reader) error { return nil })
	})
	put.MiBPerSec, put.ReqPerSec = float64(l.size)/put.Seconds/(1<<20), 0
	rep.Phases = append(rep.Phases, put)
	if put.Errors > 0 || ctx.Err() != nil {
		return ctx.Err()
	}
	get := runPhase(ctx, "plain-get", one, 1, 0, func(ctx context.Context, _, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		return plainDo(c, req, func(body io.Reader) error { return checkBody(body, key, l) })
	})
	get.MiBPerSec, get.ReqPerSec = float64(l.size)/get.Seconds/(1<<20), 0
	rep.Phases = append(rep.Phases, get)
	return ctx.Err()
}

// plainDo sends an unsigned request, wants a 2xx answer and hands its
// body to check.
func plainDo(c *s3Client, req *http.Request, check func(io.Reader) error) error {
	r, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer drain(r)
	if r.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		return fmt.Errorf("%s %s: %w", req.Method, req.URL, &statusError{r.StatusCode, string(b)})
	}
	return check(r.Body)
}
