package mogtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartNginxConf runs nginx in the foreground with a configuration of the
// caller's: httpConf is the content of the http block, in which
// "{{LISTEN}}" stands for a free 127.0.0.1 address. (StartNginx runs the
// storage-node configuration instead; this one is for what sits behind
// nginx, such as mogproxy.) nginx runs as a single process, so that it
// never outlives the test; its error log goes to the process output,
// printed if the test fails.
func StartNginxConf(t testing.TB, httpConf string) *Nginx {
	t.Helper()
	bin := NginxBinary(t)
	tmp := t.TempDir()
	n := &Nginx{Addr: FreeAddr(t, "127.0.0.1"), TempDir: tmp, ConfigFile: filepath.Join(tmp, "nginx.conf")}
	var b strings.Builder
	b.WriteString("daemon off;\nmaster_process off;\nerror_log stderr notice;\n")
	b.WriteString("pid " + filepath.Join(tmp, "nginx.pid") + ";\n")
	b.WriteString("events { worker_connections 1024; }\n")
	b.WriteString("http {\n  access_log off;\n")
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		b.WriteString("  " + d + "_temp_path " + filepath.Join(tmp, d) + ";\n")
	}
	b.WriteString(strings.ReplaceAll(httpConf, "{{LISTEN}}", n.Addr))
	b.WriteString("\n}\n")
	if err := os.WriteFile(n.ConfigFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-p", tmp, "-e", "stderr", "-c", n.ConfigFile).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\nconfiguration:\n%s", err, out, b.String())
	}
	n.Proc = Start(t, bin, "-p", tmp, "-e", "stderr", "-c", n.ConfigFile)
	t.Cleanup(func() { n.Proc.Stop(10 * time.Second) })
	n.Proc.WaitPort(t, n.Addr, 15*time.Second)
	return n
}
