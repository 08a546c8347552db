package mogbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// bigIndex is the content index of the directory mode's big file, apart
// from the small files' indices.
const bigIndex = 1<<31 - 1

// bigName is the big file's name in the run's directory.
const bigName = "big"

// dirBench runs the directory phases: plain POSIX file I/O in dir, e.g. a
// mogfs mount point.
type dirBench struct {
	dir     string // the run's own directory
	content *Content
	big     *Content // content of the big file
}

func (d *dirBench) path(i int) string { return filepath.Join(d.dir, "f"+strconv.Itoa(i)) }

// writeFile creates name with the content of file i of c. Close errors
// count: a FUSE file system uploads at close.
func writeFile(name string, c *Content, i int, buf []byte) (int64, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(onlyWriter{f}, c.Reader(i), buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", name, err)
	}
	return n, nil
}

// readFile reads name and verifies it against file i of c.
func readFile(name string, c *Content, i int, v *Verifier, buf []byte) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v.Reset(i)
	if _, err := io.CopyBuffer(v, onlyReader{f}, buf); err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	if err := v.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", name, err)
	}
	return v.n, nil
}

// onlyWriter and onlyReader hide *os.File's ReadFrom and WriteTo, so
// that the copies go through the given buffer (and its size) as an
// application's plain read and write calls would.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func (d *dirBench) writeOp() opFunc {
	buf := make([]byte, min(copyBuf, d.content.MaxSize()+1))
	return func(ctx context.Context, i int) (opResult, error) {
		n, err := writeFile(d.path(i), d.content, i, buf)
		return opResult{bytes: n}, err
	}
}

func (d *dirBench) readOp() opFunc {
	buf := make([]byte, min(copyBuf, d.content.MaxSize()+1))
	v := d.content.Verifier(0)
	return func(ctx context.Context, i int) (opResult, error) {
		n, err := readFile(d.path(i), d.content, i, v, buf)
		return opResult{bytes: n}, err
	}
}

// createOp creates file i empty, as touch does a new name: open with
// O_CREAT (and O_EXCL: a name that exists is an error, not a creation),
// then close; close errors count.
func (d *dirBench) createOp() opFunc {
	return func(ctx context.Context, i int) (opResult, error) {
		name := d.path(i)
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return opResult{}, err
		}
		if err := f.Close(); err != nil {
			return opResult{}, fmt.Errorf("close %s: %w", name, err)
		}
		return opResult{}, nil
	}
}

// bigBuf is the size of the big file's reads and writes.
const bigBuf = 1 << 20

func (d *dirBench) bigWriteOp() opFunc {
	return func(ctx context.Context, _ int) (opResult, error) {
		n, err := writeFile(filepath.Join(d.dir, bigName), d.big, bigIndex, make([]byte, bigBuf))
		return opResult{bytes: n}, err
	}
}

func (d *dirBench) bigReadOp() opFunc {
	return func(ctx context.Context, _ int) (opResult, error) {
		n, err := readFile(filepath.Join(d.dir, bigName), d.big, bigIndex, d.big.Verifier(bigIndex), make([]byte, bigBuf))
		return opResult{bytes: n}, err
	}
}

func (d *dirBench) deleteOp() opFunc {
	return func(ctx context.Context, i int) (opResult, error) {
		name := d.path(i)
		if i == bigIndex {
			name = filepath.Join(d.dir, bigName)
		}
		if err := os.Remove(name); err != nil {
			return opResult{}, err
		}
		return opResult{}, nil
	}
}

// removeDir removes the run's directory once it is empty; a directory
// that is already gone is fine.
func (d *dirBench) removeDir() error {
	if err := os.Remove(d.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
