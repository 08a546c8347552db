package mogadm

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// verb describes one "mogadm <command> <verb>": its positional
// arguments ("<hostname> <devid> [opts]") and options. Option keys follow
// Getopt::Long: "--name=s" takes a string, "--name=i" an integer,
// "--name" is a switch; "<name>" keys describe positional arguments.
type verb struct {
	args string
	des  string
	opts map[string]string
}

type command struct {
	des   string
	verbs map[string]verb
}

// topCommands is the order commands appear in the usage text.
var topCommands = []string{"check", "stats", "host", "device", "domain", "class", "slave", "fsck", "rebalance", "settings"}

var hostOpts = map[string]string{
	"--status=s":  "Host status: alive, down or readonly.",
	"--ip=s":      "IP address the host serves on.",
	"--port=i":    "HTTP port of mogstored on the host.",
	"--getport=i": "Separate HTTP port for reads (optional).",
	"--altip=s":   "Alternate IP, used for clients inside --altmask.",
	"--altmask=s": "Network (CIDR) whose clients get the alternate IP.",
}

func withArg(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

var classOpts = map[string]string{
	"<domain>":        "Domain the class belongs to.",
	"<class>":         "Class name.",
	"--mindevcount=i": "Number of copies to keep (default 2).",
	"--replpolicy=s":  "Replication policy, e.g. MultipleHosts().",
	"--hashtype=s":    "Checksum kept for files: MD5 or NONE.",
}

var slaveOpts = map[string]string{
	"--dsn=s":      "DBI DSN of the slave database.",
	"--username=s": "Database user name.",
	"--password=s": "Database password.",
}

var commands = map[string]command{
	"check": {des: "Check that trackers, hosts and devices answer."},
	"stats": {des: "Show cluster statistics (deprecated: use mogstats)."},
	"settings": {des: "List or change server settings.", verbs: map[string]verb{
		"list": {des: "List the server settings."},
		"set":  {args: "<key> <value>", des: "Set server setting <key> to <value>."},
	}},
	"host": {des: "Add, change and list hosts.", verbs: map[string]verb{
		"list": {des: "List the hosts."},
		"add": {args: "<hostname> [opts]", des: "Add a host.", opts: withArg(
			withArg(hostOpts, "--status=s", "Host status: alive, down or readonly (default down)."),
			"<hostname>", "Name of the host.")},
		"modify": {args: "<hostname> [opts]", des: "Change a host's properties.", opts: withArg(hostOpts, "<hostname>", "Name of the host.")},
		"mark": {args: "<hostname> <status>", des: "Set a host's status (same as modify --status).", opts: map[string]string{
			"<hostname>": "Name of the host.",
			"<status>":   "alive, down or readonly.",
		}},
		"delete": {args: "<hostname>", des: "Delete a host without devices.", opts: map[string]string{
			"<hostname>": "Name of the host.",
		}},
	}},
	"device": {des: "Add, change and list devices.", verbs: map[string]verb{
		"list": {args: "[opts]", des: "List the devices of every host.", opts: map[string]string{
			"--all":        "Show dead devices too.",
			"--hostname=s": "Only this host.",
		}},
		"summary": {args: "[opts]", des: "Show space used per host.", opts: map[string]string{
			"--status=s":   "Count devices in these states (default alive,readonly,drain).",
			"--hostname=s": "Only this host.",
		}},
		"add": {args: "<hostname> <devid> [opts]", des: "Add a device to a host.", opts: map[string]string{
			"<hostname>": "Host the device is on.",
			"<devid>":    "Device id (a number never used before).",
			"--status=s": "alive or down (default alive).",
		}},
		"mark": {args: "<hostname> <devid> <status>", des: "Set a device's state.", opts: map[string]string{
			"<hostname>": "Host the device is on.",
			"<devid>":    "Device id.",
			"<status>":   "alive, dead, down, drain or readonly.",
		}},
		"modify": {args: "<hostname> <devid> [opts]", des: "Change a device's state or weight.", opts: map[string]string{
			"<hostname>": "Host the device is on.",
			"<devid>":    "Device id.",
			"--status=s": "alive, dead, down, drain or readonly.",
			"--weight=i": "Read weight of the device (0 or more).",
		}},
		"next": {des: "Print the next unused device id."},
	}},
	"domain": {des: "Add, delete and list domains.", verbs: map[string]verb{
		"list": {des: "List the domains and their classes."},
		"add": {args: "<domain>", des: "Add a domain.", opts: map[string]string{
			"<domain>": "Name of the domain.",
		}},
		"delete": {args: "<domain>", des: "Delete an empty domain.", opts: map[string]string{
			"<domain>": "Name of the domain.",
		}},
	}},
	"class": {des: "Add, change, delete and list classes.", verbs: map[string]verb{
		"list":   {des: "List the domains and their classes."},
		"add":    {args: "<domain> <class> [opts]", des: "Add a class to a domain.", opts: classOpts},
		"modify": {args: "<domain> <class> [opts]", des: "Change a class.", opts: classOpts},
		"delete": {args: "<domain> <class>", des: "Delete a class without files.", opts: map[string]string{
			"<domain>": "Domain the class belongs to.",
			"<class>":  "Class name.",
		}},
	}},
	"slave": {des: "Manage the read-slave databases of the trackers.", verbs: map[string]verb{
		"list":   {des: "List the slaves."},
		"add":    {args: "<slave_key> [opts]", des: "Add a slave.", opts: slaveOpts},
		"modify": {args: "<slave_key> [opts]", des: "Change a slave.", opts: slaveOpts},
		"delete": {args: "<slave_key>", des: "Delete a slave."},
	}},
	"rebalance": {des: "Move files between devices.", verbs: map[string]verb{
		"start":    {des: "Start a rebalance."},
		"stop":     {des: "Stop the running rebalance."},
		"status":   {des: "Show the rebalance state."},
		"settings": {des: "Show the rebalance settings."},
		"test":     {des: "Show the devices the current policy selects."},
		"reset":    {des: "Forget the rebalance state."},
		"policy": {args: "[opts]", des: "Set the rebalance policy.", opts: map[string]string{
			"--options=s": "Policy string, e.g. \"from_devices=1 to_hosts=2\".",
		}},
	}},
	"fsck": {des: "Control the background file system check.", verbs: map[string]verb{
		"start":    {des: "Start or resume fsck."},
		"stop":     {des: "Pause fsck."},
		"status":   {des: "Show fsck progress and findings."},
		"reset":    {args: "[opts]", des: "Move fsck back to the start.", opts: map[string]string{"--policy-only": "Only check replication policy, not the storage nodes.", "--startpos=i": "Start at this fid."}},
		"clearlog": {des: "Empty the fsck log."},
		"printlog": {des: "Print the fsck log."},
		"taillog":  {des: "Follow the fsck log."},
	}},
}

func sortedVerbs(c command) []string {
	out := make([]string, 0, len(c.verbs))
	for v := range c.verbs {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// printUsage prints the overview of every command.
func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage:  (enter any command prefix, leaving off options, for further help)\n\n")
	for _, name := range topCommands {
		c := commands[name]
		if c.verbs == nil {
			fmt.Fprintf(&b, "  mogadm %-25s %-s\n", name, c.des)
			continue
		}
		fmt.Fprintf(&b, "  mogadm %s ...\n", name)
		for _, v := range sortedVerbs(c) {
			vb := c.verbs[v]
			dots := ""
			if vb.args != "" {
				dots = "..."
			}
			fmt.Fprintf(&b, "       ")
			fmt.Fprintf(&b, "  %-25s %-s\n", name+" "+v+" "+dots, vb.des)
		}
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// printCommandHelp prints the help of a command, or of one of its verbs.
func printCommandHelp(w io.Writer, cmd, vb string) {
	c := commands[cmd]
	var b strings.Builder
	sfx := ""
	if vb != "" {
		sfx = "-" + vb
	}
	fmt.Fprintf(&b, "Help for '%s%s' command:\n", cmd, sfx)
	if vb == "" {
		b.WriteString(" (enter any command prefix, leaving off options, for further help)\n")
	}
	b.WriteString("\n")
	for _, v := range sortedVerbs(c) {
		if vb != "" && v != vb {
			continue
		}
		d := c.verbs[v]
		fmt.Fprintf(&b, "  %-50s %-s\n", "mogadm "+cmd+" "+v+" "+d.args, d.des)
	}
	b.WriteString("\n")
	if d, ok := c.verbs[vb]; ok {
		keys := make([]string, 0, len(d.opts))
		for k := range d.opts {
			keys = append(keys, k)
		}
		// Positional arguments ("<...>") first, then options.
		sort.Slice(keys, func(i, j int) bool {
			if keys[i][0] != keys[j][0] {
				return keys[i][0] > keys[j][0]
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "      %-20s %s\n", k, d.opts[k])
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}

// Messages printed for whole-tool failures.
const (
	msgNoTrackers = "No trackers configured and none answers at 127.0.0.1:7001: give --trackers=host:port,... or set 'trackers = host:port, ...' in ~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf"
	msgNoHosts    = "Could not get the host list from the tracker(s)."
	msgNoDevices  = "The tracker(s) know no devices."
	msgNoDomains  = "Could not get the domain list from the tracker(s)."
	msgNoIP       = "The host name does not resolve to an IP address: give one with --ip=<ipaddr>"
)
