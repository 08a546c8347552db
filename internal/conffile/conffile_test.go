package conffile

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "# comment\n\ndb_dsn = DBI:mysql:mogilefs;host=db\nlisten 0.0.0.0:7001\n  trackers=a:7001,b:7001  \nkey=\nflag\nx = a = b\n"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{"db_dsn", "DBI:mysql:mogilefs;host=db", 3},
		{"listen", "0.0.0.0:7001", 4},
		{"trackers", "a:7001,b:7001", 5},
		{"key", "", 6},
		{"flag", "", 7},
		{"x", "a = b", 8},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
