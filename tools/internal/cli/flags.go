package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/mogilefs-go/mogilefs/client"
)

// NewFlagSet returns a pflag set that reports errors instead of exiting
// and prints nothing by itself.
func NewFlagSet(prog string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	return fs
}

// NormalizeArgs rewrites arguments the way Perl's Getopt::Long reads them
// into what pflag understands: "-name=v" (one dash, a long name) becomes
// "--name=v", and a unique abbreviation of a long option ("--track=…")
// becomes the full name. Everything after "--" is left alone.
func NormalizeArgs(fs *pflag.FlagSet, args []string) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			out = append(out, a)
			continue
		}
		body := strings.TrimLeft(a, "-")
		if len(a)-len(body) > 2 || body == "" {
			out = append(out, a)
			continue
		}
		name, val, hasVal := strings.Cut(body, "=")
		if len(a)-len(body) == 1 && len(name) == 1 && fs.ShorthandLookup(name) != nil {
			out = append(out, a) // a real short option
			continue
		}
		if fs.Lookup(name) == nil {
			var match []string
			for _, n := range names {
				if strings.HasPrefix(n, name) {
					match = append(match, n)
				}
			}
			if len(match) == 1 {
				name = match[0]
			}
		}
		if hasVal {
			out = append(out, "--"+name+"="+val)
		} else {
			out = append(out, "--"+name)
		}
	}
	return out
}

// ApplyConfig sets every flag that was not given on the command line and
// has a value in conf (any option name works as a configuration key, as in
// the original). skip lists flags that configuration must not set.
func ApplyConfig(fs *pflag.FlagSet, conf map[string]string, skip ...string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		for _, s := range skip {
			if s == f.Name {
				return
			}
		}
		v, ok := conf[f.Name]
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("configuration %s = %s: %w", f.Name, v, err))
		}
	})
	return errors.Join(errs...)
}

// SplitTrackers parses a "host[:port], host[:port]" list and adds the
// default port 7001 where one is missing.
func SplitTrackers(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		a, err := client.NormalizeTracker(t)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ClassName maps the configured class "default" to "" (the default
// class), as the original does.
func ClassName(s string) string {
	if s == "default" {
		return ""
	}
	return s
}
