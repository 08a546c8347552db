package mogfs_test

import (
	"bytes"
	"io/fs"
	"os"
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
	c, err := client.New(client.Config{Domain: "fsdom", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second, PathCacheTTL: -1})
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

// TestOriginalCommandsOnly mounts through a tracker that answers none of
// the mogfs commands (its database account may not create mogfs_attr), as
// an original tracker: files are still written (the first commit finds
// mogfs_create_close missing and sends the content again with
// create_close), listed, renamed and read, and chmod holds for the life
// of the mount.
func TestOriginalCommandsOnly(t *testing.T) {
	t.Parallel()
	mogtest.NeedFUSE(t)
	my := mogtest.NewMySQL(t)
	mogtest.SetupSchema(t, my.DBIDSN, my.User, my.Password)
	user, pass := my.Account(t, "SELECT, INSERT, UPDATE, DELETE, LOCK TABLES")
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Hosts: 1, Domain: "fsdom", Classes: map[string]int{"one": 1},
		Tracker: mogtest.TrackerOptions{DSN: my.DBIDSN, User: user, Pass: pass}})
	c, err := client.New(client.Config{Domain: "fsdom", Trackers: []string{cl.Tracker.Addr}, Timeout: 30 * time.Second, PathCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &env{cl: cl, domain: "fsdom", c: c}
	mnt, proc := e.mountProc(t, "--domain="+e.domain)

	small := []byte("small file\n")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB: streamed while written
	if err := os.MkdirAll(filepath.Join(mnt, "d/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"d/small": small, "d/big": big} {
		if err := os.WriteFile(filepath.Join(mnt, name), data, 0o600); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
		if got := e.get(t, name); !bytes.Equal(got, data) {
			t.Fatalf("%s holds %d bytes, want %d", name, len(got), len(data))
		}
	}
	if err := os.Chmod(filepath.Join(mnt, "d/small"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(mnt, "d/small"), filepath.Join(mnt, "d/sub/moved")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(mnt, "d/sub/moved"))
	if err != nil || fi.Size() != int64(len(small)) {
		t.Fatalf("stat after the rename: %v %v", fi, err)
	}
	ents, err := os.ReadDir(filepath.Join(mnt, "d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	if strings.Join(names, " ") != "big sub" {
		t.Errorf("d lists %v, want [big sub]", names)
	}
	if got := mustRead(t, filepath.Join(mnt, "d/sub/moved")); !bytes.Equal(got, small) {
		t.Errorf("moved file reads %q", got)
	}
	if got := e.get(t, "d/sub/moved"); !bytes.Equal(got, small) {
		t.Errorf("moved key holds %q", got)
	}
	if out := proc.Output(); !strings.Contains(out, "cmd=mogfs_create_close") {
		t.Errorf("mogfs did not report falling back from mogfs_create_close:\n%s", out)
	}
}
