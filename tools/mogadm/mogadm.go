package mogadm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

// defaultTimeout is mogadm's tracker reply timeout: admin commands wait
// for a monitor round.
const defaultTimeout = 15 * time.Second

// localTracker is probed when no tracker is configured.
const localTracker = "127.0.0.1:7001"

// Run runs the tool as a process and returns the exit status.
func Run() int { return cli.Run(Main) }

// tool is one mogadm run.
type tool struct {
	env      *cli.Env
	trackers []string
	timeout  time.Duration
	verbose  bool
	cmd, vb  string
	adm      *admin.Admin
}

// globals are mogadm's own options, accepted anywhere on the line.
var globals = map[string]bool{"trackers": true, "config": true, "lib": true, "help": false, "verbose": false}

// splitGlobals takes mogadm's global options out of args; the value map
// holds the ones given (switches as "1").
func splitGlobals(args []string) (map[string]string, []string, error) {
	got := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		body := strings.TrimLeft(a, "-")
		if dashes := len(a) - len(body); dashes < 1 || dashes > 2 || body == "" {
			rest = append(rest, a)
			continue
		}
		name, val, hasVal := strings.Cut(body, "=")
		takesVal, ok := globals[name]
		if !ok {
			rest = append(rest, a)
			continue
		}
		switch {
		case !takesVal:
			got[name] = "1"
		case hasVal:
			got[name] = val
		case i+1 < len(args):
			i++
			got[name] = args[i]
		default:
			return nil, nil, fmt.Errorf("Option %s requires an argument", name)
		}
	}
	return got, rest, nil
}

// Main runs mogadm and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	opts, rest, err := splitGlobals(args)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		printUsage(env.Stdout)
		return cli.ExitFail
	}
	conf, err := cli.ReadConfigFiles(cli.ConfigFiles(env, opts["config"], false), opts["config"])
	if err != nil {
		fmt.Fprintln(env.Stderr, cli.Errstr(err))
		return cli.ExitFail
	}
	for _, k := range []string{"trackers", "verbose", "timeout"} {
		if _, ok := opts[k]; !ok {
			if v, ok := conf[k]; ok {
				opts[k] = v
			}
		}
	}
	if opts["help"] != "" || len(rest) == 0 {
		printUsage(env.Stdout)
		return cli.ExitFail
	}
	t := &tool{env: env, timeout: defaultTimeout, verbose: opts["verbose"] != "" && opts["verbose"] != "0"}
	if v := opts["timeout"]; isDigits(v) && v != "0" {
		n, _ := strconv.Atoi(v)
		t.timeout = time.Duration(n) * time.Second
	}
	t.cmd = rest[0]
	if _, ok := commands[t.cmd]; !ok {
		printUsage(env.Stdout)
		return cli.ExitFail
	}
	if s := opts["trackers"]; s != "" {
		t.trackers, err = cli.SplitTrackers(s)
		if err != nil {
			fmt.Fprintf(env.Stderr, "Bad --trackers: %v\n", err)
			return cli.ExitFail
		}
	}
	if len(t.trackers) == 0 {
		if !probe(ctx, localTracker) {
			fmt.Fprintln(env.Stderr, msgNoTrackers)
			return cli.ExitFail
		}
		t.trackers = []string{localTracker}
	}
	c, err := client.New(client.Config{Trackers: t.trackers, Timeout: t.timeout})
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return cli.ExitFail
	}
	defer c.Close()
	t.adm = admin.New(c)
	return t.finish(t.dispatch(ctx, rest[1:]))
}

// probe reports whether addr accepts a TCP connection within a second.
func probe(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// outcome of a command.
type (
	// okMsg is a success with the confirmation printed under --verbose.
	okMsg string
	// usageErr prints "ERROR: msg" and the verb's help, exit 1.
	usageErr string
)

func (usageErr) Error() string { return "usage" }

func (t *tool) finish(msg okMsg, err error) int {
	var ue usageErr
	switch {
	case errors.As(err, &ue):
		if ue != "" {
			fmt.Fprintf(t.env.Stderr, "ERROR: %s\n", string(ue))
		}
		printCommandHelp(t.env.Stdout, t.cmd, t.vb)
		return cli.ExitFail
	case err != nil:
		fmt.Fprintln(t.env.Stderr, cli.Errstr(err))
		return cli.ExitFail
	}
	if t.verbose && msg != "" {
		fmt.Fprintln(t.env.Stdout, string(msg))
	}
	return cli.ExitOK
}

// fail is a failure with the original's "<prefix><errstr>" message.
func fail(prefix string, err error) error {
	return cli.Fail(cli.ExitFail, err, "%s%s", prefix, cli.Errstr(err))
}

// failText is a failure with a fixed message.
func failText(msg string) error {
	return cli.Fail(cli.ExitFail, nil, "%s", strings.TrimRight(msg, "\n"))
}

// args are the positional arguments and the options given to a verb,
// by name; only given options are present.
type args map[string]string

func (t *tool) dispatch(ctx context.Context, rest []string) (okMsg, error) {
	switch t.cmd {
	case "check":
		if len(rest) > 0 {
			return "", failText("Unknown options/arguments to 'check' command.")
		}
		return t.check(ctx)
	case "stats":
		if len(rest) > 0 {
			return "", failText("Unknown options/arguments to 'stats' command.")
		}
		return "", failText("mogadm stats is deprecated by new 'mogstats' utility")
	}
	if len(rest) == 0 {
		return "", usageErr("")
	}
	t.vb = rest[0]
	vb, ok := commands[t.cmd].verbs[t.vb]
	if !ok {
		t.vb = ""
		return "", usageErr("")
	}
	a, err := parseVerbArgs(vb, rest[1:])
	if err != nil {
		return "", err
	}
	run := handlers[t.cmd+" "+t.vb]
	return run(t, ctx, a)
}

// parseVerbArgs reads a verb's options and positional arguments.
func parseVerbArgs(vb verb, rest []string) (args, error) {
	fs := cli.NewFlagSet("mogadm")
	vals := map[string]*string{}
	for k := range vb.opts {
		if strings.HasPrefix(k, "<") {
			continue
		}
		name, typ, _ := strings.Cut(strings.TrimPrefix(k, "--"), "=")
		s := new(string)
		vals[name] = s
		switch typ {
		case "i":
			fs.Var(&intString{s}, name, "")
		case "s":
			fs.StringVar(s, name, "", "")
		default:
			fs.Var(&boolString{s}, name, "")
			fs.Lookup(name).NoOptDefVal = "1"
		}
	}
	if err := fs.Parse(cli.NormalizeArgs(fs, rest)); err != nil {
		return nil, usageErr(strings.TrimSuffix(err.Error(), "."))
	}
	a := args{}
	fs.Visit(func(f *pflag.Flag) { a[f.Name] = *vals[f.Name] })
	pos := fs.Args()
	for _, spec := range strings.Fields(vb.args) {
		if spec == "[opts]" {
			continue
		}
		name := strings.Trim(spec, "<>")
		if len(pos) == 0 {
			return nil, usageErr(fmt.Sprintf("Missing argument '%s'", name))
		}
		v := pos[0]
		pos = pos[1:]
		if name == "devid" {
			if d, ok := strings.CutPrefix(v, "dev"); ok && isDigits(d) {
				v = d
			}
		}
		a[name] = v
	}
	if len(pos) > 0 {
		if vb.args == "" {
			return nil, usageErr("Unexpected arguments when expecting none.")
		}
		return nil, usageErr("Unexpected extra argument.")
	}
	return a, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// intString is an integer option kept as text.
type intString struct{ p *string }

func (v *intString) String() string { return *v.p }
func (v *intString) Type() string   { return "int" }
func (v *intString) Set(s string) error {
	if _, err := strconv.Atoi(s); err != nil {
		return fmt.Errorf("Value %q invalid for number option", s)
	}
	*v.p = s
	return nil
}

// boolString is a switch kept as "1".
type boolString struct{ p *string }

func (v *boolString) String() string { return *v.p }
func (v *boolString) Type() string   { return "bool" }
func (v *boolString) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if b {
		*v.p = "1"
	} else {
		*v.p = "0"
	}
	return nil
}

type handler func(t *tool, ctx context.Context, a args) (okMsg, error)

// handlers maps "<command> <verb>" to its implementation.
var handlers = map[string]handler{
	"host list": (*tool).hostList, "host add": (*tool).hostAdd, "host modify": (*tool).hostModify,
	"host mark": (*tool).hostMark, "host delete": (*tool).hostDelete,
	"device list": (*tool).deviceList, "device summary": (*tool).deviceSummary,
	"device add": (*tool).deviceAdd, "device mark": (*tool).deviceMark,
	"device modify": (*tool).deviceModify, "device next": (*tool).deviceNext,
	"domain list": (*tool).domainList, "domain add": (*tool).domainAdd, "domain delete": (*tool).domainDelete,
	"class list": (*tool).domainList, "class add": (*tool).classAdd, "class modify": (*tool).classModify,
	"class delete": (*tool).classDelete,
	"slave list":   (*tool).slaveList, "slave add": (*tool).slaveAdd, "slave modify": (*tool).slaveModify,
	"slave delete": (*tool).slaveDelete,
	"fsck start":   (*tool).fsckStart, "fsck stop": (*tool).fsckStop, "fsck status": (*tool).fsckStatus,
	"fsck reset": (*tool).fsckReset, "fsck clearlog": (*tool).fsckClearlog,
	"fsck printlog": (*tool).fsckPrintlog, "fsck taillog": (*tool).fsckTaillog,
	"rebalance start": (*tool).rebalanceStart, "rebalance stop": (*tool).rebalanceStop,
	"rebalance status": (*tool).rebalanceStatus, "rebalance settings": (*tool).rebalanceSettings,
	"rebalance test": (*tool).rebalanceTest, "rebalance reset": (*tool).rebalanceReset,
	"rebalance policy": (*tool).rebalancePolicy,
	"settings list":    (*tool).settingsList, "settings set": (*tool).settingsSet,
}
