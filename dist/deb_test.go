package dist_test

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// debUnits are the unit names the package ships; none may be enabled.
var debUnits = []string{"mogilefsd.service", "mogstored.service", "mogproxy.service", "mogfs@.service"}

// TestDebPackage builds the package with `make deb`, inspects it, and as
// root installs it on the machine with apt-get, checks the user and that
// nothing is enabled, runs every daemon from /usr/bin with the conffiles
// in /etc/mogilefs, mounts through mount(8) in its three forms, and
// removes and purges it again. Outside CI it skips the installation when
// not root or when the package or the user mogilefs is already there; with
// CI=true those fail.
func TestDebPackage(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("SKIPPING: dpkg-deb is not installed (not a Debian machine)")
	}
	debDir := t.TempDir()
	makeTarget(t, "deb", "DEBDIR="+debDir)
	debs, _ := filepath.Glob(filepath.Join(debDir, "mogilefs_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	deb := debs[0]
	inspectDeb(t, deb)
	installDeb(t, deb)
}

// inspectDeb checks the control fields and the contents of the package,
// and that the version is the one the binaries report.
func inspectDeb(t *testing.T, deb string) {
	fields := map[string]string{}
	for _, f := range []string{"Package", "Version", "Architecture", "Depends"} {
		fields[f] = strings.TrimSpace(run(t, "", nil, "dpkg-deb", "--field", deb, f))
	}
	if fields["Package"] != "mogilefs" || !strings.Contains(fields["Depends"], "fuse3") {
		t.Errorf("control fields %v", fields)
	}
	if want := strings.TrimSpace(run(t, "", nil, "dpkg", "--print-architecture")); fields["Architecture"] != want {
		t.Errorf("Architecture %q, want this machine's %q", fields["Architecture"], want)
	}
	extract := t.TempDir()
	run(t, "", nil, "dpkg-deb", "-x", deb, extract)
	v := checkVersion(t, filepath.Join(extract, "usr/bin/mogilefsd"), "mogilefsd")
	if want := strings.TrimSpace(run(t, repoRoot(t), nil, "scripts/deb.sh", "version", v)); fields["Version"] != want {
		t.Errorf("package version %q; the binaries say %q, which is %q as a Debian version", fields["Version"], v, want)
	}
	contents := run(t, "", nil, "dpkg-deb", "-c", deb)
	want := []string{"./sbin/mount.fuse.mogfs -> /usr/bin/mogfs"}
	for _, b := range binaries(t) {
		want = append(want, " ./usr/bin/"+b+"\n")
	}
	for _, u := range debUnits {
		want = append(want, " ./lib/systemd/system/"+u+"\n")
	}
	conffiles := run(t, "", nil, "dpkg-deb", "--info", deb, "conffiles")
	for _, c := range listFiles(t, "dist/config/*.conf") {
		want = append(want, " ./etc/mogilefs/"+c+"\n")
		if !strings.Contains(conffiles, "/etc/mogilefs/"+c+"\n") {
			t.Errorf("/etc/mogilefs/%s is no conffile:\n%s", c, conffiles)
		}
	}
	for _, w := range want {
		if !strings.Contains(contents, w) {
			t.Errorf("the package lacks %q", strings.TrimSpace(w))
		}
	}
	checkUnits(t, extract, "lib/systemd/system", "/usr/bin")
	info := run(t, "", nil, "dpkg-deb", "--info", deb)
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if !strings.Contains(info, " "+s+" ") {
			t.Errorf("the package has no %s:\n%s", s, info)
		}
	}
}

// mustRunInstall skips (or under CI fails) when the package cannot be
// installed on this machine, or may not be.
func mustRunInstall(t *testing.T) {
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "installing the package needs root"
	case dpkgStatus("mogilefs") != "":
		why = "package mogilefs is already on this machine (" + dpkgStatus("mogilefs") + "); not touching it"
	case userExists("mogilefs"):
		why = "a user mogilefs already exists; purging the package would remove it"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s", why)
	}
	t.Skip("SKIPPING the installation on this machine: " + why)
}

// dpkgStatus is the dpkg status of a package ("" when dpkg knows none).
func dpkgStatus(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	if err != nil || strings.HasSuffix(string(out), " not-installed") {
		return ""
	}
	return string(out)
}

func userExists(name string) bool {
	_, err := user.Lookup(name)
	return err == nil
}

func groupExists(name string) bool {
	_, err := user.LookupGroup(name)
	return err == nil
}

// apt runs apt-get non-interactively, waiting for the dpkg lock when
// another apt-get holds it.
func apt(t *testing.T, dir string, args ...string) string {
	t.Helper()
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	return run(t, dir, env, "apt-get", append([]string{"-y", "-q", "-o", "DPkg::Lock::Timeout=300"}, args...)...)
}

func installDeb(t *testing.T, deb string) {
	mustRunInstall(t)
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Fatal("apt-get is missing")
	}
	// Whatever happens, the machine is left without the package.
	t.Cleanup(func() {
		if dpkgStatus("mogilefs") != "" {
			if out, err := exec.Command("dpkg", "--purge", "mogilefs").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge mogilefs: %v\n%s", err, out)
			}
		}
	})
	apt(t, filepath.Dir(deb), "install", "./"+filepath.Base(deb))

	u, err := user.Lookup("mogilefs")
	if err != nil {
		t.Fatalf("postinst created no user mogilefs: %v", err)
	}
	if u.HomeDir != "/var/lib/mogilefs" {
		t.Errorf("user mogilefs has home %s", u.HomeDir)
	}
	for _, d := range []string{"/var/lib/mogilefs", "/var/mogdata"} {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil || strconv.FormatUint(uint64(st.Uid), 10) != u.Uid {
			t.Errorf("%s is missing or not owned by mogilefs (%v)", d, err)
		}
	}
	checkNothingEnabled(t)
	// Installing again (postinst runs again) changes nothing.
	apt(t, filepath.Dir(deb), "install", "--reinstall", "./"+filepath.Base(deb))
	if u2, err := user.Lookup("mogilefs"); err != nil || u2.Uid != u.Uid {
		t.Errorf("after reinstalling, user mogilefs is %v (%v), was uid %s", u2, err, u.Uid)
	}
	for _, b := range binaries(t) {
		checkVersion(t, "/usr/bin/"+b, b)
	}
	checkUnits(t, "/", "lib/systemd/system", "/usr/bin")

	t.Run("run", func(t *testing.T) {
		// The tracker runs as root and switches to mogilefs, as in the
		// example configuration.
		c := startFromConfigs(t, "/usr/bin", "/etc/mogilefs", "mogilefs")
		t.Logf("mogilefsd (as mogilefs), mogstored and mogproxy from /usr/bin with the configs in /etc/mogilefs: a file stored and fetched")
		mountForms(t, c)
	})

	apt(t, "", "remove", "mogilefs")
	gone := []string{"/sbin/mount.fuse.mogfs", "/usr/share/doc/mogilefs"}
	for _, b := range binaries(t) {
		gone = append(gone, "/usr/bin/"+b)
	}
	for _, u := range debUnits {
		gone = append(gone, "/lib/systemd/system/"+u)
	}
	checkGone(t, "apt-get remove", gone)
	if _, err := os.Stat("/etc/mogilefs/mogilefsd.conf"); err != nil {
		t.Errorf("apt-get remove removed the configuration: %v", err)
	}
	apt(t, "", "purge", "mogilefs")
	checkGone(t, "apt-get purge", append(gone, "/etc/mogilefs", "/var/lib/mogilefs", "/var/mogdata"))
	if userExists("mogilefs") || groupExists("mogilefs") {
		t.Error("apt-get purge left the user or the group mogilefs")
	}
	if s := dpkgStatus("mogilefs"); s != "" {
		t.Errorf("after purge dpkg still knows mogilefs: %s", s)
	}
}

// checkNothingEnabled looks for the links `systemctl enable` makes (it
// cannot ask systemd, which may not run here).
func checkNothingEnabled(t *testing.T) {
	t.Helper()
	filepath.Walk("/etc/systemd", func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return nil
		}
		for _, u := range debUnits {
			if fi.Name() == u || strings.HasPrefix(u, "mogfs@") && strings.HasPrefix(fi.Name(), "mogfs@") {
				t.Errorf("%s is enabled after install: %s", u, p)
			}
		}
		return nil
	})
}

func checkGone(t *testing.T, after string, paths []string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left %s (%v)", after, p, err)
		}
	}
}
