package mogbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// copyBuf is the buffer size for streaming reads.
const copyBuf = 256 << 10

// bench holds what the phases of a client run share.
type bench struct {
	c       *client.Client
	http    *http.Client // for tracker-create's empty PUTs
	domain  string
	class   string
	prefix  string
	content *Content
}

func (b *bench) key(i int) string { return b.prefix + strconv.Itoa(i) }

// writeOp stores file i through the client: create_open, PUT to a storage
// node, create_close.
func (b *bench) writeOp() opFunc {
	return func(ctx context.Context, i int) (opResult, error) {
		size := b.content.Size(i)
		n, err := b.c.Store(ctx, b.key(i), b.class, b.content.Reader(i), size)
		if err != nil {
			return opResult{}, err
		}
		return opResult{bytes: n}, nil
	}
}

// readOp reads file i back (get_paths, then GET with failover) and
// verifies every byte.
func (b *bench) readOp() opFunc {
	buf := make([]byte, min(copyBuf, b.content.MaxSize()+1))
	v := b.content.Verifier(0)
	return func(ctx context.Context, i int) (opResult, error) {
		r, err := b.c.Get(ctx, b.key(i))
		if err != nil {
			return opResult{}, err
		}
		v.Reset(i)
		_, err = io.CopyBuffer(v, r, buf)
		r.Close()
		if err != nil {
			return opResult{}, fmt.Errorf("read %q: %w", b.key(i), err)
		}
		if err := v.Err(); err != nil {
			return opResult{}, fmt.Errorf("read %q from %s: %w", b.key(i), r.URL(), err)
		}
		return opResult{bytes: v.n}, nil
	}
}

// createOp is tracker-create's operation: create_open, an empty PUT (the
// tracker checks the file's size on the storage node at create_close),
// create_close. The tracker part is timed on its own.
func (b *bench) createOp() opFunc {
	return func(ctx context.Context, i int) (opResult, error) {
		key := b.key(i)
		args := map[string]string{"domain": b.domain, "key": key}
		if b.class != "" {
			args["class"] = b.class
		}
		t0 := time.Now()
		open, err := b.c.Do(ctx, "create_open", args)
		if err != nil {
			return opResult{}, fmt.Errorf("create_open %q: %w", key, err)
		}
		tOpen := time.Since(t0)
		fid, devid, path := open["fid"], open["devid"], open["path"]
		if fid == "" || path == "" {
			return opResult{}, fmt.Errorf("create_open %q: reply without fid or path: %v", key, open)
		}
		if err := b.putEmpty(ctx, path); err != nil {
			return opResult{}, fmt.Errorf("put %q (fid %s): %w", key, fid, err)
		}
		t1 := time.Now()
		_, err = b.c.Do(ctx, "create_close", map[string]string{
			"fid": fid, "devid": devid, "domain": b.domain, "key": key, "path": path, "size": "0"})
		if err != nil {
			return opResult{}, fmt.Errorf("create_close %q (fid %s): %w", key, fid, err)
		}
		return opResult{tracker: tOpen + time.Since(t1)}, nil
	}
}

func (b *bench) putEmpty(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s", url, resp.Status)
	}
	return nil
}

// pathsOp is get_paths with noverify: tracker work only.
func (b *bench) pathsOp() opFunc {
	return func(ctx context.Context, i int) (opResult, error) {
		paths, err := b.c.Paths(ctx, b.key(i), client.PathsOptions{})
		if err != nil {
			return opResult{}, fmt.Errorf("get_paths %q: %w", b.key(i), err)
		}
		if len(paths) == 0 {
			return opResult{}, fmt.Errorf("get_paths %q: no paths", b.key(i))
		}
		return opResult{}, nil
	}
}

// deleteOp deletes file i.
func (b *bench) deleteOp() opFunc {
	return func(ctx context.Context, i int) (opResult, error) {
		if err := b.c.Delete(ctx, b.key(i)); err != nil {
			return opResult{}, fmt.Errorf("delete %q: %w", b.key(i), err)
		}
		return opResult{}, nil
	}
}

// newHTTPClient returns a keep-alive HTTP client with room for conc idle
// connections per storage node.
func newHTTPClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * conc,
		MaxIdleConnsPerHost: 2 * conc,
		IdleConnTimeout:     25 * time.Second,
		DisableCompression:  true,
	}}
}
