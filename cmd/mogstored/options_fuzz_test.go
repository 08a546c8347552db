package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/conffile"
)

// FuzzOptions runs a command line (arguments separated by NUL bytes) and
// a mogstored.conf through the option parser, the config-file reader and
// the config check. Nothing may panic; a config-file error names the file
// and line; a configuration that passes the check has ip:port listen
// addresses, an absolute docroot and positive limits.
func FuzzOptions(f *testing.F) {
	for _, c := range [][2]string{
		{"--skipconfig\x00--httplisten=127.0.0.1:7500\x00--docroot=/srv/mog", ""},
		{"--maxc=20\x00--no-fsync\x00--bodytimeout=2.5", "docroot = /var/mogdata\nmaxconns = 10\n"},
		{"--server\x00nginx", "httplisten = 7500\niostat = 0 # off\n"},
		{"--m=1", "create = dev1\n"},
		{"--headertimeout=-1", "bogus = 1\n"},
		{"-c\x00/etc/x.conf\x00--", "server = perlbal max_connect=10\n"},
	} {
		f.Add(c[0], []byte(c[1]))
	}
	f.Fuzz(func(t *testing.T, argv string, conf []byte) {
		var args []string
		if argv != "" {
			args = strings.Split(argv, "\x00")
		}
		o, err := parseArgs(args, func(string) string { return "" })
		if err != nil {
			if errors.Is(err, errHelp) || err.Error() != "" {
				return
			}
			t.Fatal("empty error text")
		}
		entries, err := conffile.Parse(bytes.NewReader(conf))
		if err != nil {
			return
		}
		if err := o.applyConfig("/etc/mogilefs/mogstored.conf", entries); err != nil {
			if !strings.HasPrefix(err.Error(), "/etc/mogilefs/mogstored.conf:") {
				t.Fatalf("config error without file and line: %v", err)
			}
			return
		}
		cfg := o.cfg
		if cfg.DocRoot == "" {
			return
		}
		if err := cfg.Check(); err != nil {
			return
		}
		if cfg.MaxConns <= 0 || !strings.HasPrefix(cfg.DocRoot, "/") || !strings.Contains(cfg.MgmtListen, ":") {
			t.Fatalf("checked configuration is not usable: %+v", cfg)
		}
	})
}
