package main

import (
	"slices"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/conffile"
	"github.com/mogilefs-go/mogilefs/tracker"
)

// TestRepeatedDSN: db_dsn and --dsn may be given several times (the nodes
// of a Galera cluster, tried in order); the command line's list replaces
// the file's.
func TestRepeatedDSN(t *testing.T) {
	file := []conffile.Entry{
		{Key: "db_dsn", Value: "DBI:mysql:mogilefs;host=db1", Line: 1},
		{Key: "db_dsn", Value: "DBI:mysql:mogilefs;host=db2", Line: 2},
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"DBI:mysql:mogilefs;host=db1", "DBI:mysql:mogilefs;host=db2"}},
		{[]string{"--dsn=DBI:mysql:m;host=a", "--dsn", "DBI:mysql:m;host=b"}, []string{"DBI:mysql:m;host=a", "DBI:mysql:m;host=b"}},
		{[]string{"--dsn=DBI:SQLite:/x"}, []string{"DBI:SQLite:/x"}},
	} {
		o, err := parseFlags(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := tracker.ParseConfig(file, o.cli)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.DBDSN, tc.want) {
			t.Errorf("%q: DBDSN %q, want %q", tc.args, cfg.DBDSN, tc.want)
		}
	}
	cfg, _, err := tracker.ParseConfig(nil, nil)
	if err != nil || !slices.Equal(cfg.DBDSN, []string{"DBI:mysql:mogilefs"}) {
		t.Errorf("default DBDSN %q, %v", cfg.DBDSN, err)
	}
}
