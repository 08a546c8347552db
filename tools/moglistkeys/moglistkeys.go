package moglistkeys

import (
	"bufio"
	"context"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --domain=foo --key_prefix='bar/'"

// pageSize is the tracker's maximum list_keys page.
const pageSize = 1000

// Main runs moglistkeys and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "moglistkeys", usage)
	var prefix string
	u.Flags.StringVar(&prefix, "key_prefix", "", "list keys starting with this prefix")
	if code, done := u.Parse(args); done {
		return code
	}
	return cli.Report(env, run(ctx, u, prefix))
}

func run(ctx context.Context, u *cli.Utils, prefix string) error {
	c, err := u.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriter(u.Env.Stdout)
	defer w.Flush()
	after := ""
	total := 0
	for {
		keys, next, err := c.ListKeys(ctx, prefix, after, pageSize)
		if client.IsNoneMatch(err) && total > 0 {
			// The previous page was exactly full. The original reports
			// an error here although every key was listed; it is not
			// one.
			return nil
		}
		if err != nil {
			w.Flush()
			return cli.Die("Error listing files: ", err)
		}
		for _, k := range keys {
			w.WriteString(k)
			w.WriteByte('\n')
		}
		total += len(keys)
		if len(keys) < pageSize {
			break
		}
		after = next
	}
	if err := w.Flush(); err != nil {
		return cli.FileFail("Error writing output", err)
	}
	return nil
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
