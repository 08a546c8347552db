// Package nginxconf writes the nginx configuration that makes stock nginx
// (its WebDAV module, as in Debian's nginx-light) a MogileFS storage
// node's HTTP side, the way people run it beside `mogstored
// --server=none`:
//
//	location ^~ /dev1/ {
//	    dav_methods put delete mkcol copy move;
//	    create_full_put_path on;
//	    client_body_temp_path /var/mogdata/dev1/.tmp;
//	    ...
//	}
//
// One location per device keeps each upload's temp file on the device's
// own filesystem, so nginx renames it into place; a regex location serves
// devices added after nginx started (their temp files live under TempDir).
// Everything outside /dev<N>/ is 404. The tracker needs the setting
// skip_mkcol = 1 for such a node: nginx answers MKCOL on an existing
// directory with 405, which the tracker takes as failure, and PUT creates
// directories by itself.
package nginxconf

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Options describe one nginx instance.
type Options struct {
	Listen  string // ip:port
	DocRoot string // absolute
	Devices []int  // device ids present when nginx starts
	// TempDir holds nginx's pid file, error log and the temp directories of
	// modules that want one. It must exist.
	TempDir string
	// Workers is worker_processes; 0 means "auto".
	Workers int
	// RunAsRoot adds "user root root;" (when nginx is started as root,
	// its workers would otherwise run as nobody and could not write the
	// docroot).
	RunAsRoot bool
	// KeepaliveTimeout in seconds; 0 leaves nginx's default (75 s).
	KeepaliveTimeout int
	// Modules is the output of `nginx -V`, used to leave out temp paths
	// of modules that are not built in; empty means all standard ones.
	Modules string
	// ReadOnly leaves out WebDAV: a plain static file server (for
	// benchmarks against the same files).
	ReadOnly bool
}

var ipPort = regexp.MustCompile(`^[0-9A-Za-z.:\[\]-]+:[0-9]+$`)

// Generate returns the configuration text, meant to run in the
// foreground: nginx -p TempDir -c FILE -g 'daemon off;'.
func Generate(o Options) (string, error) {
	if !ipPort.MatchString(o.Listen) {
		return "", fmt.Errorf("nginxconf: listen %q is not ip:port", o.Listen)
	}
	for _, p := range []string{o.DocRoot, o.TempDir} {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\n;{}\"'$#\\") {
			return "", fmt.Errorf("nginxconf: path %q must be absolute and plain", p)
		}
	}
	workers := "auto"
	if o.Workers > 0 {
		workers = fmt.Sprint(o.Workers)
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# generated for a MogileFS storage node; docroot %s", o.DocRoot)
	w("pid %s/nginx.pid;", o.TempDir)
	w("worker_processes %s;", workers)
	w("error_log %s/error.log warn;", o.TempDir)
	if o.RunAsRoot {
		w("user root root;")
	}
	w("events {")
	w("    worker_connections 4096;")
	w("}")
	w("http {")
	w("    default_type text/plain;")
	w("    sendfile on;")
	w("    tcp_nopush on;")
	w("    access_log off;")
	w("    server_tokens off;")
	w("    client_max_body_size 0;")
	if o.KeepaliveTimeout > 0 {
		w("    keepalive_timeout %d;", o.KeepaliveTimeout)
	}
	for _, t := range TempPaths(o.Modules) {
		w("    %s_temp_path %s/%s_temp;", t, o.TempDir, t)
	}
	w("    server {")
	w("        listen %s;", o.Listen)
	w("        root %s;", o.DocRoot)
	w("        autoindex off;")
	devs := append([]int(nil), o.Devices...)
	sort.Ints(devs)
	for _, d := range devs {
		w("        location ^~ /dev%d/ {", d)
		if !o.ReadOnly {
			writeDAV(w, fmt.Sprintf("%s/dev%d/.tmp", o.DocRoot, d))
		}
		w("        }")
	}
	w("        location ~ ^/dev[0-9]+/ {")
	if !o.ReadOnly {
		writeDAV(w, o.TempDir+"/client_body_temp")
	}
	w("        }")
	// The docroot answers as the original's does (mogadm check fetches it).
	w("        location = / {")
	w("            default_type text/html;")
	w("            return 200 \"<h1>200 - OK</h1>\\nDirectory listing disabled\";")
	w("        }")
	w("        location / {")
	w("            return 404;")
	w("        }")
	w("    }")
	w("}")
	return b.String(), nil
}

func writeDAV(w func(string, ...any), tmp string) {
	w("            dav_methods put delete mkcol copy move;")
	w("            create_full_put_path on;")
	w("            dav_access user:rw group:rw all:r;")
	w("            client_body_temp_path %s;", tmp)
}

// TempPaths lists the modules (client_body, proxy, fastcgi, uwsgi, scgi)
// whose temp path must be set so nginx does not reach for its
// system-wide default directory, leaving out those that `nginx -V` says
// were built without.
func TempPaths(nginxV string) []string {
	out := []string{"client_body"}
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if !strings.Contains(nginxV, "--without-http_"+m+"_module") {
			out = append(out, m)
		}
	}
	return out
}
