package main

import (
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/conffile"
)

func TestWriteAllowOption(t *testing.T) {
	o, err := parseArgs([]string{"--write_allow=10.0.0.0/8, 127.0.0.1"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.cfg.WriteAllow.String(); got != "10.0.0.0/8,127.0.0.1/32" {
		t.Errorf("--write_allow parsed as %q", got)
	}
	if _, err := parseArgs([]string{"--write_allow=10.0.0.0/33"}, noEnv); err == nil || !strings.Contains(err.Error(), "option write_allow: acl:") {
		t.Errorf("bad --write_allow: %v", err)
	}
	o, _ = parseArgs(nil, noEnv)
	es, err := conffile.Parse(strings.NewReader("docroot = /srv\nwrite_allow = 192.168.0.0/16 ::1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.applyConfig("/etc/mogstored.conf", es); err != nil || o.cfg.WriteAllow.String() != "192.168.0.0/16,::1/128" {
		t.Errorf("write_allow from the config file: %v, %q", err, o.cfg.WriteAllow.String())
	}
	es, _ = conffile.Parse(strings.NewReader("write_allow = nope\n"))
	if err := o.applyConfig("/etc/mogstored.conf", es); err == nil || !strings.HasPrefix(err.Error(), "/etc/mogstored.conf:1: write_allow: acl:") {
		t.Errorf("bad write_allow in the config file: %v", err)
	}
	if d, _ := parseArgs(nil, noEnv); d.cfg.WriteAllow != nil {
		t.Errorf("write_allow is on by default: %v", d.cfg.WriteAllow)
	}
}
