package mountcmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/mogfs"
)

// testEnv has a home directory, a system file and $MOGUTILSCONF, each
// with its own trackers, so that the precedence shows.
func testEnv(t *testing.T, files map[string]string) *Env {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"HOME": filepath.Join(dir, "home")}
	os.Mkdir(vars["HOME"], 0o755)
	env := &Env{EtcConfig: filepath.Join(dir, "etc.conf")}
	for name, content := range files {
		var p string
		switch name {
		case "home":
			p = filepath.Join(vars["HOME"], ".mogilefs.conf")
		case "etc":
			p = env.EtcConfig
		case "env":
			p = filepath.Join(dir, "env.conf")
			vars["MOGUTILSCONF"] = p
		default:
			p = filepath.Join(dir, name)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env.Getenv = func(k string) string { return vars[k] }
	return env
}

func TestParseForms(t *testing.T) {
	env := testEnv(t, map[string]string{"home": "trackers = home:7001\ndomain = homedom\n"})
	for _, c := range []struct {
		name     string
		args     []string
		helper   bool
		trackers string
		domain   string
		check    func(*Options) string
	}{
		{name: "flags", args: []string{"--trackers=a:1,b", "--domain=d", "/mnt"}, trackers: "a:1,b", domain: "d"},
		{name: "mount.fuse form", args: []string{"t1:7001,t2:7001", "/mnt", "-o", "rw,domain=photos,dev,suid,noatime,_netdev,nofail,x-systemd.automount,allow_other,ro"},
			trackers: "t1:7001,t2:7001", domain: "photos",
			check: func(o *Options) string {
				if !o.AllowOther || !o.ReadOnly || o.Source != "t1:7001,t2:7001" {
					return "allow_other/ro/source not taken"
				}
				return ""
			}},
		{name: "config file", args: []string{"/mnt", "-o", "rw,dev,suid"}, trackers: "home:7001", domain: "homedom"},
		{name: "source mogfs means config", args: []string{"mogfs", "/mnt"}, trackers: "home:7001", domain: "homedom"},
		{name: "flag beats file", args: []string{"--domain=mine", "/mnt"}, trackers: "home:7001", domain: "mine"},
		{name: "options", args: []string{"/mnt", "-o", "cache_size=512MiB,ttl=2,timeout=500ms,uid=7,gid=8,class=default,cache_dir=/var/c"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.CacheSize != 512<<20 || o.TTL != 2*time.Second || o.Timeout != 500*time.Millisecond ||
					o.UID != 7 || o.GID != 8 || o.Class != "" || o.CacheDir != "/var/c" {
					return "options not taken"
				}
				return ""
			}},
		{name: "open cache", args: []string{"/mnt", "-o", "open_cache=30s"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.OpenCache != 30*time.Second {
					return "open_cache not taken"
				}
				return ""
			}},
		{name: "open cache default", args: []string{"/mnt"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.OpenCache != 0 {
					return "open cache on by default"
				}
				return ""
			}},
		{name: "node cap", args: []string{"/mnt", "-o", "max_nodes=5000"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.MaxNodes != 5000 {
					return "max_nodes not taken"
				}
				return ""
			}},
		{name: "node cap default", args: []string{"/mnt"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.MaxNodes != mogfs.DefaultMaxNodes {
					return "max-nodes default not DefaultMaxNodes"
				}
				return ""
			}},
		{name: "content cache", args: []string{"/mnt", "-o", "content_cache=0"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.ContentCache != 0 {
					return "content_cache=0 not taken"
				}
				return ""
			}},
		{name: "content cache default", args: []string{"/mnt"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if o.ContentCache != mogfs.DefaultContentCache {
					return "content-cache default not DefaultContentCache"
				}
				return ""
			}},
		{name: "-f is foreground", args: []string{"-f", "/mnt"}, trackers: "home:7001", domain: "homedom",
			check: func(o *Options) string {
				if !o.Foreground || o.Fake {
					return "-f should mean foreground"
				}
				return ""
			}},
		{name: "helper -f is fake", helper: true, args: []string{"t:1", "/mnt", "-f", "-n", "-v", "-o", "domain=x", "-t", "fuse.mogfs"}, trackers: "t:1", domain: "x",
			check: func(o *Options) string {
				if o.Foreground || !o.Fake {
					return "helper -f should mean fake"
				}
				return ""
			}},
		{name: "helper sloppy", helper: true, args: []string{"t:1", "/mnt", "-s", "-o", "domain=x,whatever"}, trackers: "t:1", domain: "x"},
	} {
		o, err := parse(env, c.args, c.helper)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := strings.Join(o.Trackers, ","); got != c.trackers || o.Domain != c.domain || o.Mountpoint != "/mnt" {
			t.Errorf("%s: trackers %q domain %q mountpoint %q", c.name, got, o.Domain, o.Mountpoint)
		}
		if c.check != nil {
			if msg := c.check(o); msg != "" {
				t.Errorf("%s: %s: %+v", c.name, msg, o)
			}
		}
	}
}

func TestParsePrecedence(t *testing.T) {
	env := testEnv(t, map[string]string{
		"etc":      "trackers = etc:1\ndomain = etcdom\nclass = etcclass\n",
		"home":     "trackers = home:1\ndomain = homedom\n",
		"env":      "trackers = env:1\n",
		"explicit": "trackers = explicit:1\n",
	})
	o, err := parse(env, []string{"/mnt"}, false)
	if err != nil {
		t.Fatal(err)
	}
	// $MOGUTILSCONF beats ~/.mogilefs.conf beats the system file, key by key.
	if o.Trackers[0] != "env:1" || o.Domain != "homedom" || o.Class != "etcclass" {
		t.Errorf("got %v %q %q", o.Trackers, o.Domain, o.Class)
	}
	o, err = parse(env, []string{"--conf=" + filepath.Join(filepath.Dir(env.EtcConfig), "explicit"), "/mnt"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if o.Trackers[0] != "explicit:1" {
		t.Errorf("--conf file should win: %v", o.Trackers)
	}
}

func TestParseErrors(t *testing.T) {
	env := testEnv(t, nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"/mnt"}, "no trackers"},
		{[]string{"--trackers=t", "/mnt", "-o", "bogus"}, `unknown mount option "bogus"`},
		{[]string{"--trackers=t", "/mnt", "-o", "domain="}, "needs a value"},
		{[]string{"--trackers=t", "--cache-size=lots", "/mnt"}, "bad cache size"},
		{[]string{"--trackers=t", "/mnt", "-o", "ttl=soon"}, "ttl"},
		{[]string{"--trackers=t"}, "expected MOUNTPOINT"},
		{[]string{"--trackers=t", "a", "b", "c"}, "expected MOUNTPOINT"},
		{[]string{"--nosuchflag", "/mnt"}, "unknown flag"},
	} {
		_, err := parse(env, c.args, false)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse %v = %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	// A --conf file that does not exist is an error, not a usage error.
	_, err := parse(env, []string{"--conf=/nonexistent/mogilefs.conf", "/mnt"}, false)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/mogilefs.conf") {
		t.Errorf("missing --conf file: %v", err)
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb strings.Builder
	env := testEnv(t, nil)
	env.Stdout, env.Stderr = &out, &errb
	env.Args = []string{"mogfs", "--help"}
	if code := Main(env); code != 0 || !strings.Contains(out.String(), "--cache-size") {
		t.Errorf("--help: %d, %q", code, out.String())
	}
	env.Args = []string{"mogfs", "/mnt"}
	if code := Main(env); code != 2 || !strings.Contains(errb.String(), "no trackers") {
		t.Errorf("no trackers: %d, %q", code, errb.String())
	}
	// mount -f through a mount.fuse.mogfs link does nothing.
	env.Args = []string{"/sbin/mount.fuse.mogfs", "t:1", "/nonexistent", "-f", "-o", "domain=x"}
	if code := Main(env); code != 0 {
		t.Errorf("helper -f: %d, %q", code, errb.String())
	}
}
