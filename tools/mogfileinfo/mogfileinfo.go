package mogfileinfo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --domain=foo --key='/hello.jpg'"

// Main runs mogfileinfo and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogfileinfo", usage)
	var key string
	u.Flags.StringVar(&key, "key", "", "key to inspect")
	if code, done := u.Parse(args); done {
		return code
	}
	return cli.Report(env, run(ctx, u, key))
}

func run(ctx context.Context, u *cli.Utils, key string) error {
	if key == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify a key to inspect with --key")
	}
	c, err := u.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()
	fi, err := c.FileInfo(ctx, key)
	if err != nil {
		return cli.Die("Error fetching file info: ", err)
	}
	paths, err := c.Paths(ctx, key, client.PathsOptions{Count: 99})
	if err != nil {
		return cli.Die("Error fetching paths: ", err)
	}
	if len(paths) == 0 {
		return cli.Fail(cli.ExitDie, nil, "No paths found or key does not exist")
	}
	w := bufio.NewWriter(u.Env.Stdout)
	Format(w, key, fi.Raw, paths)
	if err := w.Flush(); err != nil {
		return cli.FileFail("Error writing output", err)
	}
	return nil
}

// Format prints the report. info is the file_info reply; its devids
// field is left out (the original does not ask for it).
func Format(w io.Writer, key string, info map[string]string, paths []string) {
	fmt.Fprintf(w, "- file: %s\n", key)
	keys := make([]string, 0, len(info))
	for k := range info {
		if k != "devids" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %8s: %20s\n", k, info[k])
	}
	for _, p := range paths {
		fmt.Fprintf(w, " - %s\n", p)
	}
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
