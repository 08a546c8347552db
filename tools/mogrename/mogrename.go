package mogrename

import (
	"context"
	"fmt"

	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = "--trackers=host --domain=foo --class=bar --old_key='/hello.jpg' --new_key='/bye.jpg'"

// Main runs mogrename and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogrename", usage)
	var oldKey, newKey, class string
	u.Flags.StringVar(&oldKey, "old_key", "", "key to rename")
	u.Flags.StringVar(&newKey, "new_key", "", "new name")
	u.Flags.StringVar(&class, "class", "", "accepted and ignored")
	if code, done := u.Parse(args); done {
		return code
	}
	return cli.Report(env, run(ctx, u, oldKey, newKey))
}

func run(ctx context.Context, u *cli.Utils, oldKey, newKey string) error {
	if oldKey == "" || newKey == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify both --old_key and --new_key")
	}
	c, err := u.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Rename(ctx, oldKey, newKey); err != nil {
		return cli.Die(fmt.Sprintf("Error renaming file (key) from %q to %q: ", oldKey, newKey), err)
	}
	return nil
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
