package tracker

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/conffile"
)

// FuzzParseConfig runs mogilefsd.conf text through the config-file
// splitter and the tracker's settings parser. Nothing may panic; errors
// name their line or option; an accepted configuration has usable listen
// addresses and positive job and timeout values.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"db_dsn = DBI:mysql:mogilefs;host=db\nlisten = 127.0.0.1:7001, 10.0.0.1\nquery_jobs = 5\n",
		"# comment\nconf_port 7002\nlisten 0.0.0.0\nnode_timeout = 0.5\n",
		"admin_allow = 127.0.0.1/32,10.0.0.0/8\n",
		"admin_allow = not-a-net\n", "query_jobs = -1\n", "listen = [::1]:7001\n", "bogus = 1\n", "db_user\n",
		"mogstored_stream_port = 70000\n", "default_mindevcount = 0\n", "daemonize = yes\njob_master = off\n",
	} {
		f.Add([]byte(s), "--workers", "3")
	}
	f.Fuzz(func(t *testing.T, file []byte, opt, val string) {
		entries, err := conffile.Parse(bytes.NewReader(file))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("conffile error without a line: %v", err)
			}
			return
		}
		cli := map[string]Setting{}
		if k := strings.TrimPrefix(opt, "--"); k != "" {
			cli[k] = Setting{Value: val, Origin: "--" + k}
		}
		cfg, _, err := ParseConfig(entries, cli)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "config line ") && !strings.HasPrefix(msg, "--") {
				t.Fatalf("error names neither a line nor an option: %v", err)
			}
			return
		}
		if len(cfg.Listen) == 0 {
			t.Fatal("no listen address")
		}
		for _, a := range cfg.Listen {
			if _, _, err := net.SplitHostPort(a); err != nil {
				t.Fatalf("listen %q: %v", a, err)
			}
		}
		if cfg.QueryJobs < 1 || cfg.DefaultMinDevCount < 1 || cfg.ConnPoolSize < 1 || cfg.NodeTimeout <= 0 || cfg.ConnTimeout <= 0 {
			t.Fatalf("accepted a configuration with a non-positive value: %+v", cfg)
		}
	})
}
