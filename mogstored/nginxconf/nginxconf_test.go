package nginxconf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"dev1", "dev3"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	tmp := t.TempDir()
	conf, err := Generate(Options{Listen: "127.0.0.1:7500", DocRoot: root, Devices: []int{3, 1}, TempDir: tmp,
		Modules: "--without-http_scgi_module"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"listen 127.0.0.1:7500;", "root " + root + ";",
		"location ^~ /dev1/ {", "location ^~ /dev3/ {", "location ~ ^/dev[0-9]+/ {",
		"dav_methods put delete mkcol copy move;", "create_full_put_path on;",
		"client_body_temp_path " + root + "/dev3/.tmp;", "client_max_body_size 0;", "sendfile on;",
		"proxy_temp_path " + tmp + "/proxy_temp;",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("missing %q in\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "scgi_temp_path") {
		t.Error("temp path of a module built without")
	}
	if strings.Index(conf, "/dev1/") > strings.Index(conf, "/dev3/") {
		t.Error("devices not sorted")
	}
	ro, _ := Generate(Options{Listen: "127.0.0.1:7500", DocRoot: root, TempDir: tmp, ReadOnly: true})
	if strings.Contains(ro, "dav_methods") {
		t.Error("read-only config has WebDAV")
	}
	for _, bad := range []Options{
		{Listen: "7500", DocRoot: root, TempDir: tmp},
		{Listen: "127.0.0.1:7500", DocRoot: "relative", TempDir: tmp},
		{Listen: "127.0.0.1:7500", DocRoot: root + "; evil", TempDir: tmp},
		{Listen: "127.0.0.1:7500", DocRoot: root, TempDir: tmp + "/x y"},
	} {
		if _, err := Generate(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	// Stock nginx accepts it.
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("SKIPPING nginx -t: nginx is not installed")
		}
		bin = "/usr/sbin/nginx"
	}
	v, _ := exec.Command(bin, "-V").CombinedOutput()
	conf, _ = Generate(Options{Listen: "127.0.0.1:7500", DocRoot: root, Devices: []int{1, 3}, TempDir: tmp,
		RunAsRoot: os.Geteuid() == 0, Modules: string(v)})
	p := filepath.Join(tmp, "nginx.conf")
	os.WriteFile(p, []byte(conf), 0o644)
	if out, err := exec.Command(bin, "-t", "-p", tmp, "-e", filepath.Join(tmp, "error.log"), "-c", p).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
}
