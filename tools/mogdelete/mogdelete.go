package mogdelete

import (
	"context"

	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --domain=foo --key='/hello.jpg'"

// Main runs mogdelete and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogdelete", usage)
	var key string
	u.Flags.StringVar(&key, "key", "", "key to delete")
	if code, done := u.Parse(args); done {
		return code
	}
	return cli.Report(env, run(ctx, u, key))
}

func run(ctx context.Context, u *cli.Utils, key string) error {
	if key == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify a key to delete with --key")
	}
	c, err := u.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Delete(ctx, key); err != nil {
		return cli.Die("Error deleting file: ", err)
	}
	return nil
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
