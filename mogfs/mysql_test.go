package mogfs_test

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// TestMySQLTree lists and reads a tree whose keys differ in case, on a
// tracker backed by MariaDB, whose collation may order keys otherwise
// than bytes do.
func TestMySQLTree(t *testing.T) {
	t.Parallel()
	mogtest.NeedFUSE(t)
	my := mogtest.NewMySQL(t)
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "fsdom", Classes: map[string]int{"one": 1},
		Tracker: mogtest.TrackerOptions{MySQL: &my}})
	c, err := client.New(client.Config{Domain: "fsdom", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &env{cl: cl, domain: "fsdom", c: c}
	keys := []string{"Dir/a", "dir/b", "DIR/c", "Dir/sub/x", "dir/sub/y", "d", "D/e", "b", "B/x", "a_b/1", "a%b/2", "ab/3"}
	for _, k := range keys {
		e.put(t, k, []byte(k))
	}
	mnt := e.mountFG(t, "--domain="+e.domain)
	var got []string
	err = filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(mnt, p)
			got = append(got, rel)
			if b := string(mustRead(t, p)); b != rel {
				t.Errorf("%s holds %q", rel, b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if strings.Join(got, " ") != strings.Join(keys, " ") {
		t.Errorf("walk found\n%q\nwant\n%q", got, keys)
	}
}
