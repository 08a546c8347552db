package tracker_test

import (
	"database/sql"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestCloseOfRowRemovedBehindTracker: the tracker remembers the tempfile
// rows of the uploads it opened, but a row removed behind its back (by
// another tracker's close, the reaper, or here SQL) must still get
// no_temp_file from create_close, with the right size as with a wrong
// one, and nothing may be stored or queued. An upload whose row is there
// still closes (once), and a device the upload was not given still gets
// invalid_destdev.
func TestCloseOfRowRemovedBehindTracker(t *testing.T) {
	forBackends(t, func(t *testing.T, o mogtest.TrackerOptions) {
		cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: o, Hosts: 1, DevsPerHost: 2, Domain: "rt"})
		c := cl.Tracker.Conn(t)
		var db *sql.DB
		var err error
		if o.MySQL != nil {
			db, err = sql.Open("mysql", o.MySQL.GoDSN)
		} else {
			db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(cl.Tracker.DSN, "DBI:SQLite:dbname=")+"?_pragma=busy_timeout(20000)")
		}
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		closeLine := func(a map[string]string, key, devid, path, size string) string {
			return "create_close domain=rt&key=" + key + "&fid=" + a["fid"] + "&devid=" + devid + "&path=" + path + "&size=" + size
		}
		for _, size := range []string{"4", "5"} {
			a := ok(t, c, "create_open domain=rt&key=gone"+size)
			put(t, a["path"], []byte("data"))
			if _, err := db.Exec("DELETE FROM tempfile WHERE fid = ?", a["fid"]); err != nil {
				t.Fatal(err)
			}
			wantErr(t, c, closeLine(a, "gone"+size, a["devid"], a["path"], size), "no_temp_file", "")
			wantErr(t, c, "get_paths domain=rt&key=gone"+size, "unknown_key", "")
			var queued int
			if err := db.QueryRow("SELECT COUNT(*) FROM file_to_delete2 WHERE fid = ?", a["fid"]).Scan(&queued); err != nil || queued != 0 {
				t.Fatalf("size %s: fid queued for deletion %d times (%v)", size, queued, err)
			}
		}
		// A device the upload was not given: invalid_destdev, the upload
		// is discarded, and closing it again finds no tempfile.
		a := ok(t, c, "create_open domain=rt&key=wrongdev")
		put(t, a["path"], []byte("data"))
		other := "1"
		if a["devid"] == "1" {
			other = "2"
		}
		otherPath := strings.Replace(a["path"], "/dev"+a["devid"]+"/", "/dev"+other+"/", 1)
		wantErr(t, c, closeLine(a, "wrongdev", other, otherPath, "4"), "invalid_destdev", "")
		wantErr(t, c, closeLine(a, "wrongdev", a["devid"], a["path"], "4"), "no_temp_file", "")
		// An upload whose row is there closes, once.
		a = ok(t, c, "create_open domain=rt&key=kept")
		put(t, a["path"], []byte("data"))
		ok(t, c, closeLine(a, "kept", a["devid"], a["path"], "4"))
		if _, b := get(t, paths(t, c, "rt", "kept", "")[0]); string(b) != "data" {
			t.Fatalf("content: %q", b)
		}
		wantErr(t, c, closeLine(a, "kept", a["devid"], a["path"], "4"), "no_temp_file", "")
	})
}
