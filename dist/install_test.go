package dist_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMakeInstall installs into a staging root with `make install
// DESTDIR=`, checks the tree, runs every daemon from it with its example
// configuration, installs again over a changed configuration file (which
// must stay), and uninstalls (which must leave only that file).
func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	root := repoRoot(t)
	makeTarget(t, "install", "DESTDIR="+dest)

	bindir := filepath.Join(dest, "usr/local/bin")
	for _, b := range binaries(t) {
		checkVersion(t, filepath.Join(bindir, b), b)
	}
	checkUnits(t, dest, "usr/local/lib/systemd/system", "/usr/local/bin")
	if l, err := os.Readlink(filepath.Join(dest, "sbin/mount.fuse.mogfs")); err != nil || l != "/usr/local/bin/mogfs" {
		t.Errorf("sbin/mount.fuse.mogfs links to %q (%v), want /usr/local/bin/mogfs", l, err)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/share/doc/mogilefs/systemd/README.md")); err != nil {
		t.Errorf("the units' Documentation= is not installed: %v", err)
	}
	confDir := filepath.Join(dest, "etc/mogilefs")
	confs := listFiles(t, "dist/config/*.conf")
	for _, c := range confs {
		sameFile(t, filepath.Join(root, "dist/config", c), filepath.Join(confDir, c))
	}

	// The examples as the daemons read them.
	startFromConfigs(t, bindir, confDir, currentUser(t))

	// A second install keeps a changed file and puts the example next to it.
	changed := filepath.Join(confDir, "mogstored.conf")
	mine := []byte("# mine\ndocroot = /srv/mogdata\n")
	if err := os.WriteFile(changed, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	out := makeTarget(t, "install", "DESTDIR="+dest)
	if !strings.Contains(out, "kept "+changed) {
		t.Errorf("second install did not say it kept %s:\n%s", changed, out)
	}
	if b, err := os.ReadFile(changed); err != nil || string(b) != string(mine) {
		t.Fatalf("second install overwrote %s: %q %v", changed, b, err)
	}
	sameFile(t, filepath.Join(root, "dist/config/mogstored.conf"), changed+".example")
	for _, c := range confs {
		if _, err := os.Stat(filepath.Join(confDir, c+".example")); err == nil && c != "mogstored.conf" {
			t.Errorf("%s.example installed for an unchanged file", c)
		}
	}

	out = makeTarget(t, "uninstall", "DESTDIR="+dest)
	if !strings.Contains(out, "kept "+changed) {
		t.Errorf("uninstall did not say it kept %s:\n%s", changed, out)
	}
	var left []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, strings.TrimPrefix(p, dest+"/"))
		}
		return nil
	})
	if !slices.Equal(left, []string{"etc/mogilefs/mogstored.conf"}) {
		t.Errorf("uninstall left %v, want only the changed etc/mogilefs/mogstored.conf", left)
	}
}

// sameFile fails unless two files hold the same bytes.
func sameFile(t *testing.T, want, got string) {
	t.Helper()
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if string(w) != string(g) {
		t.Errorf("%s differs from %s", got, want)
	}
}
