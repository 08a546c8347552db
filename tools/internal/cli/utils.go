package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/client"
)

// Utils is the option handling shared by the single-purpose tools
// (mogupload, mogfetch, mogdelete, mogrename, moglistkeys, mogfileinfo,
// mogfiledebug, moglistfids), as MogileFS::Utils: --trackers, --domain,
// --conf (alias --config) and --help, plus each tool's own options, with
// defaults from the configuration files.
type Utils struct {
	Prog  string
	Usage string
	Env   *Env
	Flags *pflag.FlagSet

	Trackers string
	Domain   string
	Conf     string
	help     bool
}

// NewUtils prepares the common options; the tool adds its own to Flags
// before calling Parse.
func NewUtils(env *Env, prog, usage string) *Utils {
	u := &Utils{Prog: prog, Usage: usage, Env: env, Flags: NewFlagSet(prog)}
	u.Flags.StringVar(&u.Trackers, "trackers", "", "comma-separated tracker host:port list")
	u.Flags.StringVar(&u.Domain, "domain", "", "domain")
	u.Flags.StringVar(&u.Conf, "conf", "", "configuration file")
	u.Flags.StringVar(&u.Conf, "config", "", "configuration file (same as --conf)")
	u.Flags.BoolVar(&u.help, "help", false, "print usage")
	return u
}

// PrintUsage prints the original's one-line usage on stdout.
func (u *Utils) PrintUsage() {
	fmt.Fprintf(u.Env.Stdout, "Usage: %s %s\n", u.Prog, u.Usage)
}

// Parse parses args and applies the configuration files. When it returns
// done, the tool must exit with code: no arguments at all, --help, or an
// unknown option print the usage and exit 0 (as the original); an
// unreadable configuration file is an error.
func (u *Utils) Parse(args []string) (code int, done bool) {
	if len(args) == 0 {
		u.PrintUsage()
		return ExitOK, true
	}
	if err := u.Flags.Parse(NormalizeArgs(u.Flags, args)); err != nil {
		fmt.Fprintln(u.Env.Stderr, getoptMessage(err))
		u.PrintUsage()
		return ExitOK, true
	}
	if u.help {
		u.PrintUsage()
		return ExitOK, true
	}
	if u.Flags.NArg() > 0 {
		fmt.Fprintf(u.Env.Stderr, "Unexpected argument: %s\n", u.Flags.Arg(0))
		u.PrintUsage()
		return ExitOK, true
	}
	conf, err := ReadConfigFiles(ConfigFiles(u.Env, u.Conf, true), u.Conf)
	if err == nil {
		err = ApplyConfig(u.Flags, conf, "conf", "config", "help")
	}
	if err != nil {
		return Report(u.Env, err), true
	}
	return 0, false
}

// Client returns a client for the configured trackers and domain. The
// domain is required unless needDomain is false.
func (u *Utils) Client(needDomain bool) (*client.Client, error) {
	trackers, err := SplitTrackers(u.Trackers)
	if err != nil {
		return nil, Fail(ExitDie, err, "Bad --trackers: %v", err)
	}
	if len(trackers) == 0 {
		return nil, Fail(ExitDie, nil, "No trackers given: use --trackers=host:port or 'trackers = host:port' in ~/.mogilefs.conf")
	}
	if needDomain && strings.TrimSpace(u.Domain) == "" {
		return nil, Fail(ExitDie, nil, "No domain given: use --domain=NAME or 'domain = NAME' in ~/.mogilefs.conf")
	}
	return client.New(client.Config{
		Domain:   u.Domain,
		Trackers: trackers,
		Timeout:  client.DefaultTimeout,
	})
}

// Require returns a usage failure when a required option is empty.
func Require(opt, val string) error {
	if strings.TrimSpace(val) == "" {
		return Fail(ExitDie, errors.New("missing option"), "Must specify --%s", opt)
	}
	return nil
}

// getoptMessage words a flag parsing error as Getopt::Long does
// ("Unknown option: bogus").
func getoptMessage(err error) string {
	msg := oneLine(err.Error())
	if name, ok := strings.CutPrefix(msg, "unknown flag: "); ok {
		return "Unknown option: " + strings.TrimLeft(name, "-")
	}
	if name, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
		return "Unknown option: " + strings.TrimLeft(strings.SplitN(name, " ", 2)[0], "'-")
	}
	return msg
}
