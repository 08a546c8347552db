package mogupload

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --domain=foo --key='/hello.jpg' --file='./hello.jpg'"

// Main runs mogupload and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogupload", usage)
	var class, key, file string
	u.Flags.StringVar(&class, "class", "", "class (default class if not given)")
	u.Flags.StringVar(&key, "key", "", "key to store the file under")
	u.Flags.StringVar(&file, "file", "", "local file to upload, or - for standard input")
	if code, done := u.Parse(args); done {
		return code
	}
	return cli.Report(env, run(ctx, u, cli.ClassName(class), key, file))
}

func run(ctx context.Context, u *cli.Utils, class, key, file string) error {
	if file == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify a file to upload with --file")
	}
	if key == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify a key to store the file under with --key")
	}
	var r io.Reader
	size := int64(-1)
	if file == "-" {
		r = u.Env.Stdin
		// Standard input redirected from a file has a known size.
		if f, ok := r.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				if off, err := f.Seek(0, io.SeekCurrent); err == nil {
					size = st.Size() - off
				}
			}
		}
	} else {
		f, err := os.Open(file)
		if err != nil {
			return cli.FileFail("Could not open "+file, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return cli.FileFail("Could not stat "+file, err)
		}
		if st.IsDir() {
			return cli.FileFail("Could not read "+file, &os.PathError{Op: "read", Path: file, Err: syscall.EISDIR})
		}
		if st.Mode().IsRegular() {
			size = st.Size()
		}
		r = f
	}
	c, err := u.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()

	p := cli.NewProgress(u.Env, "mogupload", size)
	_, err = c.Store(ctx, key, class, p.Reader(r), size)
	p.Done()
	if err == nil {
		return nil
	}
	var se *client.StoreError
	if errors.As(err, &se) {
		switch se.Op {
		case client.OpOpen:
			return cli.Die("Error opening MogileFS file: ", se.Err)
		case client.OpRead:
			name := file
			if name == "-" {
				name = "standard input"
			}
			return cli.FileFail("Error reading "+name, se.Err)
		}
		if code := client.Code(se.Err); code != "" {
			// The original prints "<code>: <code> <text>".
			return cli.Die("Error writing file: "+code+": ", se.Err)
		}
		return cli.Die("Error writing file: ", se.Err)
	}
	return cli.Die("Error writing file: ", err)
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
