package client_test

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestConcurrentRangedReads reads one File of unknown size from many
// goroutines at once, as mogfs does; each ranged read records the length
// the node reports while others read it. Run with -race.
func TestConcurrentRangedReads(t *testing.T) {
	node := mogtest.StartMogstored(t, mogtest.MogstoredOptions{})
	data := randBytes(64 << 10)
	url := node.URL("/dev1/0/000/000/0000000001.fid")
	mogtest.Put(t, url, data)
	c, err := client.New(client.Config{Domain: "d", Trackers: []string{"127.0.0.1:1"}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for round := range 5 {
		f := c.FileFromPaths("k"+strconv.Itoa(round), []string{url}, -1)
		var wg sync.WaitGroup
		errs := make(chan error, 17)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				off := int64(i) * 4096
				p := make([]byte, 4096)
				n, err := f.ReadAtContext(ctx, p, off)
				if err != nil || n != len(p) || !bytes.Equal(p, data[off:off+4096]) {
					errs <- &readErr{off: off, n: n, err: err}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := f.Size(ctx); err != nil || n != int64(len(data)) {
				errs <- &readErr{off: -1, n: int(n), err: err}
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n, err := f.Size(ctx); err != nil || n != int64(len(data)) {
			t.Fatalf("round %d: Size = %d, %v; want %d", round, n, err, len(data))
		}
	}
}

type readErr struct {
	off int64
	n   int
	err error
}

func (e *readErr) Error() string {
	return "read at " + strconv.FormatInt(e.off, 10) + ": " + strconv.Itoa(e.n) + " bytes, err " + errString(e.err)
}

func errString(err error) string {
	if err == nil {
		return "nil (wrong bytes or short read)"
	}
	return err.Error()
}
