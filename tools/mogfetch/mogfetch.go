package mogfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --domain=foo --key='/hello.jpg' --file='./output'"

// Main runs mogfetch and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogfetch", usage)
	var key, file string
	u.Flags.StringVar(&key, "key", "", "key to fetch")
	u.Flags.StringVar(&file, "file", "", "local destination file, or - for standard output")
	if code, done := u.Parse(args); done {
		return code
	}
	return cli.Report(env, run(ctx, u, key, file))
}

func run(ctx context.Context, u *cli.Utils, key, file string) error {
	if key == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify a key to fetch with --key")
	}
	if file == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify a destination with --file (- for standard output)")
	}
	c, err := u.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()

	paths, err := c.Paths(ctx, key, client.PathsOptions{})
	if err != nil {
		return cli.Die("Error fetching paths: ", err)
	}
	if len(paths) == 0 {
		return cli.Fail(cli.ExitDie, nil, "No paths found or key does not exist")
	}
	f := c.FileFromPaths(key, paths, -1)
	r, err := f.OpenRange(ctx, 0, -1)
	if err != nil {
		return fetchFailure(err)
	}
	defer r.Close()

	if file == "-" {
		if rerr, werr := copyOut(u.Env, r, u.Env.Stdout); rerr != nil {
			err = fetchFailure(rerr)
		} else if werr != nil {
			err = cli.FileFail("Error writing to standard output", werr)
		}
	} else {
		err = writeAtomically(u.Env, file, r)
	}
	if err != nil {
		return err
	}
	for _, pe := range r.Failed() {
		fmt.Fprintf(u.Env.Stderr, "Warning: could not fetch from %s (%s); used another copy\n", pe.URL, pe.StatusLine())
	}
	return nil
}

// readError marks a failure of the fetch (as opposed to the local write).
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// copyOut copies r to w with a progress bar and tells read failures from
// write failures.
func copyOut(env *cli.Env, r *client.Reader, w io.Writer) (rerr, werr error) {
	p := cli.NewProgress(env, "mogfetch", r.Size())
	defer p.Done()
	_, err := io.Copy(p.Writer(w), readerOnly{r})
	var re *readError
	if errors.As(err, &re) {
		return re.err, nil
	}
	return nil, err
}

// readerOnly hides WriterTo/ReaderFrom and tags read errors.
type readerOnly struct{ r io.Reader }

func (o readerOnly) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

// fetchFailure reports that no copy could be read: every failed path on
// one line, exit status 1 (as the original).
func fetchFailure(err error) error {
	var fe *client.FetchError
	if errors.As(err, &fe) && len(fe.Errs) > 0 {
		parts := make([]string, len(fe.Errs))
		for i, pe := range fe.Errs {
			parts[i] = pe.URL + ": " + pe.StatusLine()
		}
		return cli.Fail(cli.ExitFail, err, "Got errors while trying to fetch: %s", strings.Join(parts, "; "))
	}
	if errors.Is(err, context.Canceled) {
		return cli.Fail(130, err, "Interrupted")
	}
	return cli.Fail(cli.ExitFail, err, "Got errors while trying to fetch: %s", cli.Errstr(err))
}

// writeAtomically writes r to a temporary file beside path, syncs it and
// renames it over path. On any failure the temporary file is removed and
// path is untouched.
func writeAtomically(env *cli.Env, path string, r *client.Reader) (err error) {
	// Write through a symbolic link, as opening the path would.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var keepMode os.FileMode
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return cli.FileFail("Could not open "+path, &os.PathError{Op: "open", Path: path, Err: syscall.EISDIR})
		}
		keepMode = st.Mode().Perm()
	}
	var tmp *os.File
	for i := 0; ; i++ {
		name := filepath.Join(dir, "."+base+".mogfetch-"+strconv.FormatUint(rand.Uint64(), 36))
		// 0666 before the umask, like a file the shell would create.
		tmp, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i > 10 {
			return cli.FileFail("Could not open "+path, err)
		}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if rerr, werr := copyOut(env, r, tmp); rerr != nil {
		return fetchFailure(rerr)
	} else if werr != nil {
		return cli.FileFail("Error writing "+path, werr)
	}
	if keepMode != 0 {
		// Replacing an existing file keeps its permissions.
		if err := tmp.Chmod(keepMode); err != nil {
			return cli.FileFail("Error writing "+path, err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return cli.FileFail("Error writing "+path, err)
	}
	if err := tmp.Close(); err != nil {
		return cli.FileFail("Error writing "+path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return cli.FileFail("Could not rename into "+path, err)
	}
	return nil
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
