package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
)

// smallKey is the key of object i.
func smallKey(o *options, i int) string { return fmt.Sprintf("%so%08d", o.prefix, i) }

// benchSmall writes o.n objects of o.size bytes, then reads each once in
// random order, checking every byte (or only one of the two phases).
func benchSmall(ctx context.Context, c *s3Client, o *options, rep *report) error {
	bufs := make([][]byte, o.c)  // a worker's content
	reads := make([][]byte, o.c) // a worker's read buffer
	for w := range bufs {
		bufs[w], reads[w] = make([]byte, o.size), make([]byte, o.size)
	}
	order := make([]int, o.n)
	for i := range order {
		order[i] = i
	}
	if o.phases != "get" {
		put := runPhase(ctx, "put", order, o.c, int64(o.size), func(ctx context.Context, w, i int) error {
			fill(bufs[w], uint64(i), 0)
			return c.put(ctx, o.bucket, smallKey(o, i), bufs[w])
		})
		rep.Phases = append(rep.Phases, put)
		if ctx.Err() != nil || o.phases == "put" {
			return ctx.Err()
		}
	}
	rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	get := runPhase(ctx, "get", order, o.c, int64(o.size), func(ctx context.Context, w, i int) error {
		if err := c.get(ctx, o.bucket, smallKey(o, i), "", reads[w]); err != nil {
			return err
		}
		fill(bufs[w], uint64(i), 0)
		if !bytes.Equal(bufs[w], reads[w]) {
			return fmt.Errorf("GET %s: %w", smallKey(o, i), errVerify)
		}
		return nil
	})
	rep.Phases = append(rep.Phases, get)
	return ctx.Err()
}
