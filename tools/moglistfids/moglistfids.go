package moglistfids

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --fromfid=123 --count=5000"

// Main runs moglistfids and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "moglistfids", usage)
	var from int64
	var count int
	u.Flags.Int64Var(&from, "fromfid", 0, "list fids greater than this one")
	u.Flags.IntVar(&count, "count", 0, "number of fids to list (default 100)")
	if code, done := u.Parse(args); done {
		return code
	}
	if count <= 0 {
		count = 100
	}
	return cli.Report(env, run(ctx, u, from, count))
}

func run(ctx context.Context, u *cli.Utils, from int64, count int) error {
	c, err := u.Client(false)
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriter(u.Env.Stdout)
	defer w.Flush()
	for count > 0 {
		fids, err := c.ListFids(ctx, from, count)
		if err != nil {
			w.Flush()
			return cli.Die("Error listing fids: ", err)
		}
		if len(fids) == 0 {
			break
		}
		from = fids[len(fids)-1].FID
		count -= len(fids)
		for _, f := range fids {
			Format(w, f)
		}
	}
	if err := w.Flush(); err != nil {
		return cli.FileFail("Error writing output", err)
	}
	return nil
}

// Format prints one file the way the original does.
func Format(w io.Writer, f client.FidInfo) {
	fmt.Fprintf(w, "fid %d\nclass %s\ndevcount %d\ndomain %s\nkey %s\nlength %d\n\n",
		f.FID, f.Class, f.DevCount, f.Domain, f.Key, f.Length)
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
