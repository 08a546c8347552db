// Package systemd holds the systemd units of the daemons (see README.md);
// its test checks them with systemd-analyze verify against the binaries
// built from this tree.
package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mogilefs-go/mogilefs/internal/mogtest"
)

// units maps each unit file to the name it is verified under (a template
// needs an instance) and the binary its ExecStart runs.
var units = []struct{ file, as, bin string }{
	{"mogilefsd.service", "mogilefsd.service", "mogilefsd"},
	{"mogstored.service", "mogstored.service", "mogstored"},
	{"mogproxy.service", "mogproxy.service", "mogproxy"},
	{"mogfs@.service", "mogfs@mnt-mogilefs.service", "mogfs"},
	{"mnt-mogilefs.mount", "mnt-mogilefs.mount", ""},
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// execStart returns the ExecStart= line of a unit.
func execStart(unit string) string {
	for _, l := range strings.Split(unit, "\n") {
		if strings.HasPrefix(l, "ExecStart=") {
			return l
		}
	}
	return ""
}

// TestUnitContents checks what the units promise: the daemons run in the
// foreground as user mogilefs, hardened, reload with SIGHUP; the mount
// template has no mount namespace of its own.
func TestUnitContents(t *testing.T) {
	for _, name := range []string{"mogilefsd.service", "mogstored.service", "mogproxy.service"} {
		u := read(t, name)
		for _, want := range []string{"Type=simple", "User=mogilefs", "NoNewPrivileges=yes", "ProtectSystem=strict",
			"PrivateTmp=yes", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM"} {
			if !strings.Contains(u, "\n"+want+"\n") {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if x := execStart(u); strings.Contains(x, "--daemonize") || strings.Contains(x, " -D") || strings.Contains(x, "-d ") ||
			strings.Contains(x, "pidfile") {
			t.Errorf("%s: %q must run in the foreground without a pidfile", name, x)
		}
	}
	if u := read(t, "mogstored.service"); !strings.Contains(u, "\nReadWritePaths=/var/mogdata\n") {
		t.Error("mogstored.service does not let mogstored write its docroot")
	}
	m := read(t, "mogfs@.service")
	for _, bad := range []string{"ProtectSystem=", "PrivateTmp=", "PrivateDevices=", "ProtectHome=", "PrivateMounts="} {
		if strings.Contains(m, "\n"+bad) {
			t.Errorf("mogfs@.service sets %s: its mount would be private to the service", bad)
		}
	}
	if !strings.Contains(m, " %f\n") || !strings.Contains(m, "mogfs -f ") {
		t.Error("mogfs@.service does not mount the unescaped instance path in the foreground")
	}
}

// TestVerify runs systemd-analyze verify on every unit, with ExecStart
// pointing at freshly built binaries. It skips where systemd-analyze is
// not installed.
func TestVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("SKIPPING: systemd-analyze is not installed (apt-get install systemd)")
	}
	dir := t.TempDir()
	var args []string
	for _, u := range units {
		text := read(t, u.file)
		if u.bin != "" {
			bin := mogtest.Binary(t, u.bin)
			if !strings.Contains(text, "ExecStart=/usr/local/bin/"+u.bin+" ") {
				t.Fatalf("%s: ExecStart does not run /usr/local/bin/%s", u.file, u.bin)
			}
			text = strings.ReplaceAll(text, "/usr/local/bin/"+u.bin, bin)
		}
		p := filepath.Join(dir, u.as)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	cmd := exec.Command(sa, append([]string{"verify"}, args...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	// Inside a container systemd-analyze may note it cannot read PID 1;
	// that is no finding about the units.
	var findings []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.Contains(l, "of PID 1") {
			findings = append(findings, l)
		}
	}
	if err != nil || len(findings) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, strings.Join(findings, "\n"))
	}
	t.Logf("systemd-analyze verify passed on %d units", len(args))
}
