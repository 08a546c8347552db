package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestMetricsListenOption(t *testing.T) {
	for _, args := range [][]string{{"--metrics-listen=127.0.0.1:9100"}, {"--metricslisten", "127.0.0.1:9100"}, {"--metrics=127.0.0.1:9100"}} {
		o, err := parseArgs(append([]string{"--skipconfig"}, args...), noEnv)
		if err != nil || o.metricsListen != "127.0.0.1:9100" {
			t.Errorf("%v: %q %v", args, o.metricsListen, err)
		}
	}
	conf := filepath.Join(t.TempDir(), "mogstored.conf")
	os.WriteFile(conf, []byte("metricslisten = 127.0.0.1:9101\n"), 0o644)
	o, err := parseArgs([]string{"--config=" + conf}, noEnv)
	if err == nil {
		err = o.loadConfig()
	}
	if err != nil || o.metricsListen != "127.0.0.1:9101" {
		t.Fatalf("config key metricslisten: %q %v", o.metricsListen, err)
	}
}

// TestChangedSettings: what SIGHUP reports as needing a restart.
func TestChangedSettings(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mogstored.conf")
	os.WriteFile(conf, []byte("maxconns = 10\ndocroot = "+dir+"\n"), 0o644)
	args := []string{"--config=" + conf, "--httplisten=127.0.0.1:7500"}
	o, err := parseArgs(args, noEnv)
	if err == nil {
		err = o.loadConfig()
	}
	if err == nil {
		err = o.cfg.Check()
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, err := changedSettings(args, o.cfg); err != nil || len(got) != 0 {
		t.Fatalf("unchanged file: %v %v", got, err)
	}
	os.WriteFile(conf, []byte("maxconns = 20\ndocroot = "+dir+"\nfsync = 0\n"), 0o644)
	if got, err := changedSettings(args, o.cfg); err != nil || !slices.Equal(got, []string{"MaxConns", "Fsync"}) {
		t.Fatalf("changed file: %v %v", got, err)
	}
	os.WriteFile(conf, []byte("maxconns = many\n"), 0o644)
	if _, err := changedSettings(args, o.cfg); err == nil {
		t.Fatal("bad config accepted")
	}
}
