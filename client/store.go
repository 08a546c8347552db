package client

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Stages of an upload, for StoreError.Op.
const (
	OpOpen  = "create_open"  // asking the tracker for destinations
	OpRead  = "read"         // reading the caller's source
	OpPut   = "put"          // sending to the storage node
	OpClose = "create_close" // committing with the tracker
)

// StoreError is a failed upload. Nothing was committed: the key still
// names its previous content, if any.
type StoreError struct {
	Key string
	FID string // "" before create_open answered
	Op  string // OpOpen, OpRead, OpPut or OpClose
	Err error
}

func (e *StoreError) Error() string {
	if e.FID != "" {
		return fmt.Sprintf("store %q (fid %s): %s: %v", e.Key, e.FID, e.Op, e.Err)
	}
	return fmt.Sprintf("store %q: %s: %v", e.Key, e.Op, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// dest is one create_open destination.
type dest struct {
	devid string
	path  string
}

// Store uploads the content of r under key in class ("" = the default
// class) and returns the number of bytes stored. size is the content
// length, or -1 when unknown (the body is then sent chunked). The upload is
// committed only if every byte was accepted by the storage node and the
// tracker's create_close succeeded; otherwise an error is returned and the
// key is left as it was.
func (c *Client) Store(ctx context.Context, key, class string, r io.Reader, size int64) (int64, error) {
	st, err := c.StoreWith(ctx, key, class, r, size, Commit{})
	return st.Size, err
}

// Stored says where a committed upload went.
type Stored struct {
	Size  int64  // bytes stored
	FID   int64  // the key's new fid
	DevID int    // the device the content was sent to
	Path  string // the URL it was sent to (a path get_paths may name)
}

// Commit is the tracker command that commits an upload, for a tracker
// extension that records more with the file in the same transaction (such
// as mogfs_create_close with a file's mtime and mode). The zero Commit is
// create_close.
type Commit struct {
	Command string   // "" is create_close, or mogfs_create_close with Attrs
	Args    []string // name, value pairs sent besides create_close's own
	// Attrs are mogfs attributes (docs/mogfs.md §8.5: mtime, mtime_nsec,
	// atime, atime_nsec, ctime, ctime_nsec, mode, uid, gid, rdev) as
	// name, value pairs, committed with the file in its transaction. A
	// Commit with Attrs and nothing else is committed by a fast-path node
	// that takes attributes (docs/fastpath.md §10.3a), else with
	// mogfs_create_close; with a Command, they are sent to it besides
	// Args. Any other name is refused (ErrBadAttr) before anything is
	// sent.
	Attrs []string
	// Late, when not nil, is called once the content was sent, before
	// the commit: the name, value pairs it returns are sent as well
	// (what is known only after the body was read, such as its MD5).
	Late func() []string
}

// StoreWith is Store committing with commit, that also says where the
// content went, for callers that read it back without asking get_paths
// (the URL may stop naming a copy later: such a reader falls back to
// get_paths).
func (c *Client) StoreWith(ctx context.Context, key, class string, r io.Reader, size int64, commit Commit) (Stored, error) {
	if key == "" {
		return Stored{}, &StoreError{Key: key, Op: OpOpen, Err: ErrNoKey}
	}
	hashName, err := c.hashType(ctx, class)
	if err != nil {
		return Stored{}, &StoreError{Key: key, Op: OpOpen, Err: err}
	}
	var h hash.Hash
	switch hashName {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	}
	if err := checkAttrs(commit.Attrs); err != nil {
		return Stored{}, &StoreError{Key: key, Op: OpOpen, Err: err}
	}
	src := &uploadBody{r: r, h: h}
	fast := commit.Command == "" && len(commit.Args) == 0 && commit.Late == nil && c.fast.wants(size, hashName)
	// A small body of known size is read first and sent from memory: it
	// leaves in one write with the request headers, and it can be sent
	// again to the next destination whatever happened to the first.
	var mem []byte
	if size > 0 && size <= smallUpload || fast {
		if mem, err = readExactly(src, size); err != nil {
			return Stored{}, &StoreError{Key: key, Op: OpRead, Err: err}
		}
	}
	if fast {
		var sum []byte
		if hashName == "MD5" {
			sum = h.Sum(nil)
		}
		st, done, err := c.storeFast(ctx, key, class, mem, sum, commit.Attrs)
		if done {
			return st, err
		}
	}
	st, err := c.storeThreeStep(ctx, key, class, src, mem, size, hashName, commit)
	if err != nil {
		c.paths.drop(pathKey{c.domain, key})
		return Stored{}, err
	}
	c.counters.threeStepPuts.Add(1)
	c.paths.put(pathKey{c.domain, key}, st.FID, st.Size, []string{st.Path})
	return st, nil
}

// storeThreeStep uploads with create_open, a PUT to a storage node and
// create_close (or commit's command). mem holds the whole body when it
// was read into memory first.
func (c *Client) storeThreeStep(ctx context.Context, key, class string, src *uploadBody, mem []byte, size int64, hashName string, commit Commit) (Stored, error) {
	h := src.h
	kv := []string{"domain", c.domain, "key", key, "multi_dest", "1"}
	if class != "" {
		kv = append(kv, "class", class)
	}
	if size >= 0 {
		kv = append(kv, "size", strconv.FormatInt(size, 10))
	}
	open, err := c.call(ctx, "create_open", kv...)
	if err != nil {
		return Stored{}, &StoreError{Key: key, Op: OpOpen, Err: err}
	}
	fid := open["fid"]
	dests := parseDests(open)
	if fid == "" || len(dests) == 0 {
		return Stored{}, &StoreError{Key: key, Op: OpOpen, Err: fmt.Errorf("%w: no fid or path in create_open reply", ErrBadReply)}
	}

	var used dest
	var perr error
dests:
	for _, d := range dests {
		// A transport failure before the body was touched is retried
		// once on the same destination: it is usually a pooled
		// keep-alive connection the node had just closed.
		for attempt := 0; attempt < 2; attempt++ {
			var body io.Reader = src
			if mem != nil {
				body = bytes.NewReader(mem)
			}
			perr = c.put(ctx, d.path, body, size)
			if perr == nil {
				used = d
				break dests
			}
			if mem == nil && src.n > 0 || src.err != nil || ctx.Err() != nil {
				// Bytes went out (or the source failed): this
				// upload cannot be replayed anywhere.
				break dests
			}
			var pe *PathError
			if !errors.As(perr, &pe) || pe.Status != 0 {
				break
			}
		}
		c.log.Warn("storage node refused upload, trying next destination", "key", key, "fid", fid, "devid", d.devid, "err", perr)
	}
	if perr != nil {
		if src.err != nil {
			return Stored{}, &StoreError{Key: key, FID: fid, Op: OpRead, Err: src.err}
		}
		if ctx.Err() != nil {
			return Stored{}, &StoreError{Key: key, FID: fid, Op: OpPut, Err: ctx.Err()}
		}
		return Stored{}, &StoreError{Key: key, FID: fid, Op: OpPut, Err: perr}
	}
	if size >= 0 && src.n != size {
		// Cannot happen with net/http (it checks Content-Length), but
		// never commit a short file.
		return Stored{}, &StoreError{Key: key, FID: fid, Op: OpPut, Err: fmt.Errorf("sent %d bytes, expected %d", src.n, size)}
	}

	ckv := []string{"fid", fid, "devid", used.devid, "domain", c.domain, "key", key,
		"path", used.path, "size", strconv.FormatInt(src.n, 10)}
	timeout := c.timeout
	if h != nil {
		ckv = append(ckv, "checksum", hashName+":"+hex.EncodeToString(h.Sum(nil)), "checksumverify", "1")
		// The tracker reads the whole file back to verify it.
		timeout += time.Duration(src.n/(20<<20)) * time.Second
	}
	cmd := "create_close"
	if commit.Command != "" {
		cmd = commit.Command
		ckv = append(ckv, commit.Args...)
	} else if len(commit.Attrs) > 0 {
		cmd = "mogfs_create_close"
	}
	ckv = append(ckv, commit.Attrs...)
	if commit.Late != nil {
		ckv = append(ckv, commit.Late()...)
	}
	if _, err := c.callTimeout(ctx, timeout, cmd, ckv...); err != nil {
		return Stored{}, &StoreError{Key: key, FID: fid, Op: OpClose, Err: err}
	}
	return Stored{Size: src.n, FID: atoi64(fid), DevID: atoi(used.devid), Path: used.path}, nil
}

// StoreBytes uploads data under key.
func (c *Client) StoreBytes(ctx context.Context, key, class string, data []byte) (int64, error) {
	return c.Store(ctx, key, class, bytes.NewReader(data), int64(len(data)))
}

// StoreFile uploads the local file at path under key. Errors opening or
// reading the file are *os.PathError values (wrapped).
func (c *Client) StoreFile(ctx context.Context, key, class, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, &StoreError{Key: key, Op: OpRead, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, &StoreError{Key: key, Op: OpRead, Err: err}
	}
	if st.IsDir() {
		return 0, &StoreError{Key: key, Op: OpRead, Err: &os.PathError{Op: "read", Path: path, Err: syscall.EISDIR}}
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	return c.Store(ctx, key, class, f, size)
}

func parseDests(r map[string]string) []dest {
	if n := atoi(r["dev_count"]); n > 0 {
		out := make([]dest, 0, n)
		for i := 1; i <= n; i++ {
			s := strconv.Itoa(i)
			if p := r["path_"+s]; p != "" {
				out = append(out, dest{devid: r["devid_"+s], path: p})
			}
		}
		return out
	}
	if p := r["path"]; p != "" {
		return []dest{{devid: r["devid"], path: p}}
	}
	return nil
}

// smallUpload is the largest body sent from memory (see StoreWith).
const smallUpload = 16 << 10

// readExactly reads the size bytes of a small body, and makes sure the
// source has no more (as net/http does for a streamed body).
func readExactly(src *uploadBody, size int64) ([]byte, error) {
	buf := make([]byte, size)
	if _, err := io.ReadFull(src, buf); err != nil {
		if src.err != nil {
			return nil, src.err
		}
		return nil, fmt.Errorf("the content ended after %d bytes of %d", src.n, size)
	}
	var one [1]byte
	if n, _ := src.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("the content is longer than its size %d", size)
	}
	if src.err != nil {
		return nil, src.err
	}
	return buf, nil
}

// uploadBody feeds the PUT body: it counts the bytes read from the source,
// hashes them, and remembers a source read error (so that it is not
// mistaken for a storage node failure). It has no Close method, so the
// HTTP transport cannot close the caller's reader.
type uploadBody struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.n += int64(n)
		if b.h != nil {
			b.h.Write(p[:n])
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// sentBody is the request body handed to the HTTP transport. The
// transport may go on reading a body after Do returned (a node that
// answered before reading all of it) and closes it when it is done with
// it, possibly from another goroutine; put waits for that Close so that
// the caller can look at the body's counters, or send it to the next
// destination, without racing the transport.
type sentBody struct {
	io.Reader
	once sync.Once
	done chan struct{}
}

func (b *sentBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// put sends one PUT of body to url; size < 0 sends it chunked.
func (c *Client) put(ctx context.Context, url string, body io.Reader, size int64) error {
	var rd io.Reader = http.NoBody
	if br, ok := body.(*bytes.Reader); ok {
		// Our own copy in memory, never changed: the transport may read
		// it whenever it likes (and sends it with the headers).
		rd = br
	} else if size != 0 {
		sb := &sentBody{Reader: body, done: make(chan struct{})}
		defer func() {
			select {
			case <-sb.done:
			case <-ctx.Done():
			}
		}()
		rd = sb
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, rd)
	if err != nil {
		if c, ok := rd.(io.Closer); ok {
			c.Close() // never handed to the transport
		}
		return &PathError{Method: "PUT", URL: url, Err: err}
	}
	if size > 0 {
		req.ContentLength = size
	} else if size < 0 {
		req.ContentLength = -1
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &PathError{Method: "PUT", URL: url, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &PathError{Method: "PUT", URL: url, Status: resp.StatusCode, Msg: stripHTML(string(msg))}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// stripHTML turns "<h1>404 - Not Found</h1>" into "404 - Not Found".
func stripHTML(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
