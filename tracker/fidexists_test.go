package tracker_test

import (
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestFIDExists: a create_close whose key already has this very fid (only
// possible with a tempfile row left for a stored fid) answers fid_exists
// and changes nothing. The row is planted with SQL on the SQLite file.
func TestFIDExists(t *testing.T) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "fe"})
	c := cl.Tracker.Conn(t)
	o := ok(t, c, "create_open domain=fe&key=k")
	put(t, o["path"], []byte("data"))
	line := "create_close domain=fe&key=k&fid=" + o["fid"] + "&devid=" + o["devid"] + "&path=" + o["path"] + "&size=4"
	ok(t, c, line)
	db, err := sql.Open("sqlite", strings.TrimPrefix(cl.Tracker.DSN, "DBI:SQLite:dbname="))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("INSERT INTO tempfile (fid, createtime, classid, dmid, dkey, devids) SELECT fid, 0, classid, dmid, dkey, ? FROM file WHERE fid = ?", o["devid"], o["fid"]); err != nil {
		t.Fatal(err)
	}
	wantErr(t, c, line, "fid_exists", "fid_exists")
	if _, b := get(t, paths(t, c, "fe", "k", "")[0]); string(b) != "data" {
		t.Fatalf("content after fid_exists: %q", b)
	}
}
