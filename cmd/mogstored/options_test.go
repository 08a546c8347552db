package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/mogstored"
)

func noEnv(string) string { return "" }

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"--skipconfig", "-d", "--httplisten=127.0.0.1:1", "--mgmt", "8001",
		"-docroot=/srv/mog", "--maxc=20", "--server", "none", "--pidfile=/run/m.pid", "--noiostat",
		"--no-fsync", "--bodytimeout=2.5", "--headertimeout=150ms", "-c", "/etc/x.conf"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if !o.skipConfig || !o.daemonize || o.config != "/etc/x.conf" || c.HTTPListen != "127.0.0.1:1" ||
		c.MgmtListen != "8001" || c.DocRoot != "/srv/mog" || c.MaxConns != 20 || c.Server != "none" ||
		c.PIDFile != "/run/m.pid" || c.IOStat || c.Fsync || c.BodyTimeout != 2500*time.Millisecond ||
		c.HeaderTimeout != 150*time.Millisecond {
		t.Fatalf("parsed %+v / %+v", o, c)
	}
	if err := c.Check(); err != nil || c.MgmtListen != "0.0.0.0:8001" {
		t.Fatalf("Check: %v, mgmt %q", err, c.MgmtListen)
	}
	d, _ := parseArgs(nil, noEnv)
	if !reflect.DeepEqual(d.cfg, mogstored.DefaultConfig()) || d.daemonize || d.skipConfig {
		t.Fatalf("defaults %+v", d.cfg)
	}
	env, _ := parseArgs(nil, func(k string) string {
		return map[string]string{"MOGSTORED_SERVER_TYPE": "none", "MOG_DEV_USAGE_VIA_DU": "1"}[k]
	})
	if env.cfg.Server != "none" || !env.cfg.DevUsageViaDU {
		t.Fatalf("env: %+v", env.cfg)
	}
	for _, bad := range [][]string{
		{"--bogus"},
		{"--m=1"},          // ambiguous: maxconns, mgmtlisten
		{"--maxconns=x"},   // not a number
		{"--docroot"},      // missing value
		{"--iostat=maybe"}, // not a boolean
		{"stray"},
		{"--nodocroot"}, // not a boolean
	} {
		if _, err := parseArgs(bad, noEnv); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := parseArgs([]string{"--help"}, noEnv); !errors.Is(err, errHelp) {
		t.Errorf("--help: %v", err)
	}
	var cfg mogstored.Config
	cfg = mogstored.DefaultConfig()
	cfg.Server = "apache"
	if err := cfg.Check(); err == nil {
		t.Error("server=apache accepted")
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mogstored.conf")
	os.WriteFile(conf, []byte(`# storage node
httplisten = 10.0.0.1:7500
docroot = /data/mog   # inline comment
maxconns = 500
iostat = 0
server = none
daemonize = 1
`), 0o644)
	o, err := parseArgs([]string{"--config=" + conf, "--maxconns=7"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.loadConfig(); err != nil {
		t.Fatal(err)
	}
	if o.cfg.HTTPListen != "10.0.0.1:7500" || o.cfg.DocRoot != "/data/mog" || o.cfg.IOStat ||
		o.cfg.Server != "none" || !o.daemonize {
		t.Fatalf("from file: %+v", o.cfg)
	}
	if o.cfg.MaxConns != 7 {
		t.Fatalf("the command line must win: maxconns %d", o.cfg.MaxConns)
	}
	for name, text := range map[string]string{
		"unknown": "colour = blue\n",
		"old":     "CREATE SERVICE mogstored\n",
		"old2":    "SERVER max_connect = 10\n",
		"badval":  "maxconns = many\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		o, _ := parseArgs([]string{"--config=" + p}, noEnv)
		err := o.loadConfig()
		if err == nil || !strings.Contains(err.Error(), p+":1") {
			t.Errorf("%s: %v", name, err)
		}
	}
	o, _ = parseArgs([]string{"--config=" + filepath.Join(dir, "missing")}, noEnv)
	if err := o.loadConfig(); err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Errorf("missing file: %v", err)
	}
	o, _ = parseArgs([]string{"-s", "--config=" + filepath.Join(dir, "missing")}, noEnv)
	if err := o.loadConfig(); err != nil {
		t.Errorf("--skipconfig still read the file: %v", err)
	}
}

func TestTrackersOption(t *testing.T) {
	o, err := parseArgs([]string{"--trackers=10.0.0.1:7001, 10.0.0.2:7001,"}, noEnv)
	if err != nil || !reflect.DeepEqual(o.cfg.Trackers, []string{"10.0.0.1:7001", "10.0.0.2:7001"}) {
		t.Fatalf("--trackers: %v %q", err, o.cfg.Trackers)
	}
	conf := filepath.Join(t.TempDir(), "mogstored.conf")
	os.WriteFile(conf, []byte("trackers = t1:7001,t2\n"), 0o644)
	o, _ = parseArgs([]string{"--config=" + conf}, noEnv)
	if err := o.loadConfig(); err != nil || !reflect.DeepEqual(o.cfg.Trackers, []string{"t1:7001", "t2"}) {
		t.Fatalf("trackers = in the file: %v %q", err, o.cfg.Trackers)
	}
	// The fast path needs the built-in HTTP server.
	o, _ = parseArgs([]string{"--trackers=t1", "--server=none"}, noEnv)
	if err := o.cfg.Check(); err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Fatalf("trackers with --server=none: %v", err)
	}
}
