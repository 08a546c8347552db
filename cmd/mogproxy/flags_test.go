package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/gateway"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseArgsPrecedence(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	os.Mkdir(home, 0o755)
	writeFile(t, home, ".mogilefs.conf", "# user file\ntrackers = 10.0.0.2:7001\nclass = fromhome\nkey_from = last-segment\nlib = /ignored\n")
	etc := writeFile(t, dir, "etc.conf", "trackers = 10.0.0.3\ncache-ttl = 9s\nprefix = /etc/\n")
	explicit := writeFile(t, dir, "mine.conf", "class = fromexplicit\naccel_redirect = /_mogilefs\n")
	e := env{getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}, etcConfig: etc}

	o, _, err := parseArgs([]string{"--config", explicit, "--prefix=/cli/"}, e)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if strings.Join(c.Trackers, ",") != "10.0.0.2:7001" {
		t.Errorf("trackers %v: want the user file's", c.Trackers)
	}
	if c.DefaultClass != "fromexplicit" {
		t.Errorf("class %q: want the --config file's", c.DefaultClass)
	}
	if c.KeyFrom != gateway.KeyFromLastSegment {
		t.Errorf("key_from not read from the user file: %v", c.KeyFrom)
	}
	if c.CacheTTL != 9*time.Second {
		t.Errorf("cache-ttl %v: want the system file's 9s", c.CacheTTL)
	}
	if c.Prefix != "/cli/" {
		t.Errorf("prefix %q: the command line must win", c.Prefix)
	}
	if c.AccelRedirect != "/_mogilefs" {
		t.Errorf("accel_redirect %q", c.AccelRedirect)
	}

	// $MOGUTILSCONF comes after --config and before ~/.mogilefs.conf.
	envFile := writeFile(t, dir, "env.conf", "trackers = 10.0.0.9:7009\n")
	e2 := e
	e2.getenv = func(k string) string {
		switch k {
		case "HOME":
			return home
		case "MOGUTILSCONF":
			return envFile
		}
		return ""
	}
	o, _, err = parseArgs(nil, e2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.cfg.Trackers, ",") != "10.0.0.9:7009" {
		t.Errorf("trackers %v: want $MOGUTILSCONF's", o.cfg.Trackers)
	}
}

func TestParseArgsErrors(t *testing.T) {
	dir := t.TempDir()
	e := env{getenv: func(string) string { return "" }}
	for _, args := range [][]string{
		{},                                    // no trackers
		{"--trackers=h:99999"},                // bad port
		{"--trackers=h", "--key-from=middle"}, // bad key-from
		{"--trackers=h", "--nosuchflag"},      // unknown flag
		{"--trackers=h", "stray"},             // stray argument
		{"--trackers=h", "--config", dir + "/missing.conf"},
		{"--trackers=h", "--config", writeFile(t, dir, "bad.conf", "cache_ttl = soon\n")},
		{"--trackers=h", "--log-level=loud"},
		{"--trackers=h", "--content-cache=lots"},
		{"--trackers=h", "--content-cache=-5"},
	} {
		if _, _, err := parseArgs(args, e); err == nil {
			t.Errorf("parseArgs(%q): no error", args)
		}
	}
	o, _, err := parseArgs([]string{"--trackers=h", "--domain=files", "--readonly"}, e)
	if err != nil || o.cfg.Trackers[0] != "h:7001" || o.cfg.Domain != "files" || !o.cfg.ReadOnly {
		t.Errorf("parseArgs: %+v %v", o, err)
	}
	if o.cfg.ContentCacheBytes != gateway.DefaultContentCache || o.cfg.ContentCacheMaxFile != gateway.DefaultContentMaxFile {
		t.Errorf("content cache defaults: %d %d", o.cfg.ContentCacheBytes, o.cfg.ContentCacheMaxFile)
	}
	o, _, err = parseArgs([]string{"--trackers=h", "--content-cache=0"}, e)
	if err != nil || o.cfg.ContentCacheBytes >= 0 {
		t.Errorf("--content-cache=0: %d %v", o.cfg.ContentCacheBytes, err)
	}
	o, _, err = parseArgs([]string{"--trackers=h", "--content-cache=1GB", "--content-cache-max-file=1MiB"}, e)
	if err != nil || o.cfg.ContentCacheBytes != 1e9 || o.cfg.ContentCacheMaxFile != 1<<20 {
		t.Errorf("--content-cache=1GB: %d %d %v", o.cfg.ContentCacheBytes, o.cfg.ContentCacheMaxFile, err)
	}
}

func TestRunUsageAndBadOptions(t *testing.T) {
	e := env{getenv: func(string) string { return "" }}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errOut, e); code != 0 || !strings.Contains(out.String(), "--accel-redirect") {
		t.Errorf("--help: code %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"--trackers=h", "--prefix=/a b/"}, &out, &errOut, e); code != 2 || !strings.Contains(errOut.String(), "prefix") {
		t.Errorf("bad prefix: code %d, stderr %q", code, errOut.String())
	}
}

func TestS3NeedsKeys(t *testing.T) {
	e := env{getenv: func(string) string { return "" }}
	if _, _, err := parseArgs([]string{"--trackers=127.0.0.1", "--s3-listen=127.0.0.1:0"}, e); err == nil || !strings.Contains(err.Error(), "--s3-keys") {
		t.Fatalf("--s3-listen without keys: %v", err)
	}
	o, _, err := parseArgs([]string{"--trackers=127.0.0.1", "--s3-listen=:7480", "--s3-keys=/k", "--s3-domain=s3.example.com"}, e)
	if err != nil || o.s3Listen != ":7480" || o.s3Keys != "/k" || o.s3Domain != "s3.example.com" {
		t.Fatalf("s3 options: %+v, %v", o, err)
	}
}
