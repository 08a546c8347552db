// Package e2e_test runs every MogileFS tool against a real local cluster
// (a tracker and two mogstored processes) on SQLite and on MariaDB: the
// tools in-process through their Main functions, and the operator session
// of the README with the real binaries.
package e2e_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
	"github.com/mogilefs-go/mogilefs/client/admin"
	"github.com/mogilefs-go/mogilefs/internal/mogtest"
	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
	"github.com/mogilefs-go/mogilefs/tools/mogadm"
	"github.com/mogilefs-go/mogilefs/tools/mogdelete"
	"github.com/mogilefs-go/mogilefs/tools/mogfetch"
	"github.com/mogilefs-go/mogilefs/tools/mogfiledebug"
	"github.com/mogilefs-go/mogilefs/tools/mogfileinfo"
	"github.com/mogilefs-go/mogilefs/tools/moglistfids"
	"github.com/mogilefs-go/mogilefs/tools/moglistkeys"
	"github.com/mogilefs-go/mogilefs/tools/mogrename"
	"github.com/mogilefs-go/mogilefs/tools/mogstats"
	"github.com/mogilefs-go/mogilefs/tools/mogupload"
)

type mainFunc func(ctx context.Context, env *cli.Env, args []string) int

// h runs tools in-process with a private HOME.
type h struct {
	t    *testing.T
	ctx  context.Context
	home string
	// stdin for the next run (nil = empty), terminal for stderr.
	stdin    io.Reader
	stdout   io.Writer
	terminal bool
}

type result struct {
	out, err string
	code     int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
}

func (x *h) run(main mainFunc, args ...string) result {
	x.t.Helper()
	var out, errb bytes.Buffer
	stdin := x.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	env := &cli.Env{
		Stdin: stdin, Stdout: &out, Stderr: &errb,
		Getenv:         func(k string) string { return map[string]string{"HOME": x.home}[k] },
		StderrTerminal: x.terminal,
	}
	if x.stdout != nil {
		env.Stdout = x.stdout
	}
	code := main(x.ctx, env, args)
	x.stdin, x.stdout, x.terminal = nil, nil, false
	return result{out.String(), errb.String(), code}
}

// ok runs a tool that must succeed silently on stderr.
func (x *h) ok(main mainFunc, args ...string) string {
	x.t.Helper()
	r := x.run(main, args...)
	if r.code != 0 || r.err != "" {
		x.t.Fatalf("%v: %s", args, r)
	}
	return r.out
}

// fails runs a tool that must fail with code and one stderr line
// containing msg.
func (x *h) fails(code int, msg string, main mainFunc, args ...string) result {
	x.t.Helper()
	r := x.run(main, args...)
	if r.code != code || !strings.Contains(r.err, msg) {
		x.t.Fatalf("%v: want exit %d and %q on stderr, got %s", args, code, msg, r)
	}
	if strings.Count(strings.TrimSuffix(r.err, "\n"), "\n") != 0 && code != 1 {
		x.t.Fatalf("%v: more than one stderr line: %q", args, r.err)
	}
	return r
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func TestToolsSQLite(t *testing.T) {
	testTools(t, mogtest.TrackerOptions{})
}

func TestToolsMariaDB(t *testing.T) {
	db := mogtest.NewMySQL(t)
	testTools(t, mogtest.TrackerOptions{MySQL: &db})
}

func testTools(t *testing.T, topts mogtest.TrackerOptions) {
	cl := mogtest.StartCluster(t, mogtest.ClusterOptions{Tracker: topts, Domain: "files", Classes: map[string]int{"two": 2}})
	x := &h{t: t, ctx: mogtest.Context(t), home: t.TempDir()}
	tr := cl.Tracker.Addr
	// Trackers and domain come from ~/.mogilefs.conf.
	if err := os.WriteFile(filepath.Join(x.home, ".mogilefs.conf"), []byte("# test cluster\ntrackers = "+tr+"\ndomain = files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	content := randBytes(50_000)
	src := filepath.Join(dir, "src")
	os.WriteFile(src, content, 0o644)

	t.Run("mogadm", func(t *testing.T) { testMogadm(t, x, cl) })

	t.Run("UploadFetch", func(t *testing.T) {
		x.t = t
		x.ok(mogupload.Main, "--key=/fstab.txt", "--file="+src)
		out := filepath.Join(dir, "out")
		x.ok(mogfetch.Main, "--key=/fstab.txt", "--file="+out)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, content) {
			t.Fatalf("fetched %d bytes, want %d", len(got), len(content))
		}
		// Replacing a file keeps its permissions; a symbolic link is
		// written through.
		os.Chmod(out, 0o600)
		link := filepath.Join(dir, "link")
		os.WriteFile(filepath.Join(dir, "linked"), []byte("old"), 0o640)
		os.Symlink("linked", link)
		x.ok(mogfetch.Main, "--key=/fstab.txt", "--file="+out)
		x.ok(mogfetch.Main, "--key=/fstab.txt", "--file="+link)
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
			t.Fatalf("mode after refetch: %v", st.Mode())
		}
		if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
			t.Fatal("the symbolic link was replaced")
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "linked")); !bytes.Equal(got, content) {
			t.Fatal("fetch through a symbolic link did not write its target")
		}
		if got := x.ok(mogfetch.Main, "--trackers="+tr, "--domain=files", "--key=/fstab.txt", "--file=-"); got != string(content) {
			t.Fatalf("fetch to stdout: %d bytes", len(got))
		}
		// Standard input of unknown size, a class, Getopt-style options.
		x.stdin = strings.NewReader("why hello\n")
		x.ok(mogupload.Main, "-key=world", "--file", "-", "--class=two")
		if got := x.ok(mogfetch.Main, "--key=world", "--file=-"); got != "why hello\n" {
			t.Fatalf("stdin upload: %q", got)
		}
		// A progress bar on a terminal, for more than 1 MiB.
		bigFile := filepath.Join(dir, "big")
		big := randBytes(3 << 20)
		os.WriteFile(bigFile, big, 0o644)
		x.terminal = true
		r := x.run(mogupload.Main, "--key=big", "--file="+bigFile)
		if r.code != 0 || !strings.Contains(r.err, "\rmogupload [") || !strings.HasSuffix(r.err, "\n") || !strings.Contains(r.err, "3.0 MiB / 3.0 MiB") {
			t.Fatalf("progress bar: %s", r)
		}
		x.terminal = false
		if r := x.run(mogfetch.Main, "--key=big", "--file="+filepath.Join(dir, "big.out")); r.code != 0 || r.err != "" {
			t.Fatalf("fetch big without a terminal: %s", r)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "big.out")); !bytes.Equal(got, big) {
			t.Fatal("big file differs")
		}
		assertNoTemp(t, dir)
	})

	t.Run("Listing", func(t *testing.T) {
		x.t = t
		keys := x.ok(moglistkeys.Main, "--domain=files")
		if keys != "/fstab.txt\nbig\nworld\n" {
			t.Fatalf("moglistkeys: %q", keys)
		}
		if got := x.ok(moglistkeys.Main, "--key_prefix=/"); got != "/fstab.txt\n" {
			t.Fatalf("prefix: %q", got)
		}
		x.fails(255, "Error listing files: none_match No keys match that pattern and after-value (if any).", moglistkeys.Main, "--key_prefix=zzz")

		info := x.ok(mogfileinfo.Main, "--key=/fstab.txt")
		lines := strings.Split(info, "\n")
		if lines[0] != "- file: /fstab.txt" || !strings.Contains(info, "\n     class:              default\n") ||
			!strings.Contains(info, "\n    length:                50000\n") || !strings.Contains(info, "\n - http://") {
			t.Fatalf("mogfileinfo:\n%s", info)
		}
		c := newClient(t, tr)
		// The default class keeps two copies: wait for replication so
		// that devcount is stable.
		fi := waitCopies(t, x.ctx, c, "/fstab.txt", 2)
		fid := strconv.FormatInt(fi.FID, 10)

		dbg := x.ok(mogfiledebug.Main, "--key=/fstab.txt")
		if !strings.HasPrefix(dbg, "Fetching and summing paths...\n") || !strings.Contains(dbg, " - MD5 Hash: "+md5hex(content)+"\n") ||
			!strings.Contains(dbg, " - HTTP result: 200 OK\n") || !strings.Contains(dbg, "\n- File Row:\n") || !strings.Contains(dbg, "- Stored checksum: NONE") {
			t.Fatalf("mogfiledebug:\n%s", dbg)
		}
		dbg = x.ok(mogfiledebug.Main, "--fid="+fid, "--paths=stat")
		if !strings.HasPrefix(dbg, "Checking status of paths...\n") || !strings.Contains(dbg, " - Length: 50000\n") ||
			!strings.Contains(dbg, "      dkey:           /fstab.txt\n") {
			t.Fatalf("mogfiledebug --fid --paths=stat:\n%s", dbg)
		}
		dbg = x.ok(mogfiledebug.Main, "--key=/fstab.txt", "--paths=print")
		if !strings.HasPrefix(dbg, "Paths...\n - http://") {
			t.Fatalf("--paths=print:\n%s", dbg)
		}
		if r := x.run(mogfiledebug.Main, "--key=/fstab.txt", "--paths=bogus"); r.code != 1 || !strings.Contains(r.err, "--paths=action") {
			t.Fatalf("bad --paths: %s", r)
		}

		fids := x.ok(moglistfids.Main, "--fromfid="+strconv.FormatInt(fi.FID-1, 10), "--count=1")
		want := "fid " + fid + "\nclass default\ndevcount " + strconv.Itoa(fi.DevCount) + "\ndomain files\nkey /fstab.txt\nlength 50000\n\n"
		if fids != want {
			t.Fatalf("moglistfids = %q, want %q", fids, want)
		}
		if got := x.ok(moglistfids.Main, "--count=1000"); strings.Count(got, "\nfid ") != 2 || !strings.HasPrefix(got, "fid ") {
			t.Fatalf("moglistfids all:\n%s", got)
		}

		stats := x.ok(mogstats.Main, "--db_dsn="+cl.Tracker.DSN, "--db_user="+cl.Tracker.User, "--db_pass="+cl.Tracker.Pass)
		for _, want := range []string{"Fetching statistics... (all)\n", "Statistics for devices...", "Statistics for file ids...",
			"  files                default             2           3 ", "Statistics for replication queue...", "\ndone\n"} {
			if !strings.Contains(stats, want) {
				t.Fatalf("mogstats lacks %q:\n%s", want, stats)
			}
		}
		if got := x.ok(mogstats.Main, "--db_dsn="+cl.Tracker.DSN, "--db_user="+cl.Tracker.User, "--db_pass="+cl.Tracker.Pass, "--stats=fids"); !strings.Contains(got, "Max file id: ") || strings.Contains(got, "devices") {
			t.Fatalf("mogstats --stats=fids:\n%s", got)
		}
		if r := x.run(mogstats.Main, "--db_dsn="+cl.Tracker.DSN, "--stats=bogus"); r.code != 1 || !strings.Contains(r.err, "Invalid stat bogus") {
			t.Fatalf("bad stat: %s", r)
		}
	})

	t.Run("RenameDelete", func(t *testing.T) {
		x.t = t
		x.ok(mogrename.Main, "--old_key=world", "--new_key=earth")
		x.fails(255, `Error renaming file (key) from "world" to "x": unknown_key`, mogrename.Main, "--old_key=world", "--new_key=x")
		x.fails(255, "key_exists", mogrename.Main, "--old_key=earth", "--new_key=big")
		x.ok(mogdelete.Main, "--key=earth")
		x.fails(255, "Error deleting file: unknown_key unknown_key", mogdelete.Main, "--key=earth")
	})

	t.Run("BadInput", func(t *testing.T) {
		x.t = t
		// No arguments: the usage, exit 0, as the original.
		if r := x.run(mogupload.Main); r.code != 0 || !strings.HasPrefix(r.out, "Usage: mogupload --trackers=host") {
			t.Fatalf("no args: %s", r)
		}
		if r := x.run(mogfetch.Main, "--bogus=1"); r.code != 0 || r.err != "Unknown option: bogus\n" || !strings.HasPrefix(r.out, "Usage: mogfetch") {
			t.Fatalf("unknown option: %s", r)
		}
		x.fails(255, "Error opening MogileFS file: unreg_domain Domain name invalid/not found", mogupload.Main, "--domain=nope", "--key=k", "--file="+src)
		x.fails(255, "Error fetching paths: unreg_domain", mogfetch.Main, "--domain=nope", "--key=k", "--file=-")
		x.fails(255, "Error fetching paths: unknown_key unknown_key", mogfetch.Main, "--key=nope", "--file="+filepath.Join(dir, "nope"))
		if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
			t.Fatal("a failed fetch created the target")
		}
		x.fails(255, "Error fetching file info: unknown_key unknown_key", mogfileinfo.Main, "--key=nope")
		x.fails(255, "Error fetching fid info: unknown_key", mogfiledebug.Main, "--key=nope")
		x.fails(int(syscall.ENOENT), "Could not open "+filepath.Join(dir, "missing")+": No such file or directory", mogupload.Main, "--key=k", "--file="+filepath.Join(dir, "missing"))
		x.fails(int(syscall.EISDIR), "Is a directory", mogupload.Main, "--key=k", "--file="+dir)
		x.fails(255, "Must specify a file", mogupload.Main, "--key=k")
		dead := mogtest.FreeAddr(t, "127.0.0.1")
		r := x.fails(255, "Error fetching paths: couldn't connect to any tracker", mogfetch.Main, "--trackers="+dead, "--key=big", "--file=-")
		if !strings.Contains(r.err, dead) {
			t.Fatalf("tracker address not named: %s", r)
		}
		x.fails(255, "Error opening MogileFS file: couldn't connect to any tracker", mogupload.Main, "--trackers="+dead, "--key=k", "--file="+src)
		if _, err := os.Stat(filepath.Join(x.home, "missing.conf")); err == nil {
			t.Fatal("unexpected file")
		}
		x.fails(int(syscall.ENOENT), "unable to open "+filepath.Join(x.home, "missing.conf")+": No such file or directory", moglistkeys.Main, "--conf="+filepath.Join(x.home, "missing.conf"))
	})

	t.Run("FullDisk", func(t *testing.T) {
		x.t = t
		// Standard output on a full device.
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer full.Close()
		x.stdout = full
		x.fails(int(syscall.ENOSPC), "Error writing to standard output: No space left on device", mogfetch.Main, "--key=big", "--file=-")

		// A real file system that fills up: nothing half-written stays,
		// and an existing file keeps its content.
		mnt := t.TempDir()
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
			t.Skipf("SKIPPING the full file system case: cannot mount a tmpfs (%v); /dev/full was tested", err)
		}
		defer syscall.Unmount(mnt, syscall.MNT_DETACH)
		target := filepath.Join(mnt, "big")
		os.WriteFile(target, []byte("old content"), 0o644)
		x.fails(int(syscall.ENOSPC), "Error writing "+target+": No space left on device", mogfetch.Main, "--key=big", "--file="+target)
		if got, _ := os.ReadFile(target); string(got) != "old content" {
			t.Fatalf("target changed: %q", got)
		}
		assertNoTemp(t, mnt)
	})

	t.Run("StorageDown", func(t *testing.T) {
		x.t = t
		out := filepath.Join(dir, "kept")
		os.WriteFile(out, []byte("previous"), 0o644)
		c := newClient(t, tr)
		before, err := c.FileInfo(x.ctx, "/fstab.txt")
		if err != nil {
			t.Fatal(err)
		}
		// One node down: the other copy serves the fetch.
		waitCopies(t, x.ctx, c, "/fstab.txt", 2)
		cl.Nodes[0].Proc.Kill()
		got := filepath.Join(dir, "from-survivor")
		if r := x.run(mogfetch.Main, "--key=/fstab.txt", "--file="+got); r.code != 0 || (r.err != "" && !strings.HasPrefix(r.err, "Warning: could not fetch from http://"+cl.Nodes[0].IP)) {
			t.Fatalf("fetch with one node down: %s", r)
		}
		if b, _ := os.ReadFile(got); !bytes.Equal(b, content) {
			t.Fatal("fetch with one node down: content differs")
		}
		cl.Nodes[1].Proc.Kill()
		r := x.fails(1, "Got errors while trying to fetch: http://", mogfetch.Main, "--key=/fstab.txt", "--file="+out)
		if strings.Count(r.err, "\n") != 1 {
			t.Fatalf("want one line: %q", r.err)
		}
		if got, _ := os.ReadFile(out); string(got) != "previous" {
			t.Fatalf("target changed: %q", got)
		}
		assertNoTemp(t, dir)
		x.fails(255, "Error writing file: ", mogupload.Main, "--key=/fstab.txt", "--file="+src)
		after, err := c.FileInfo(x.ctx, "/fstab.txt")
		if err != nil || after.FID != before.FID {
			t.Fatalf("failed upload changed the key: %+v -> %+v, %v", before, after, err)
		}
	})
}

// waitCopies waits until key has n copies that get_paths names.
func waitCopies(t *testing.T, ctx context.Context, c *client.Client, key string, n int) *client.FileInfo {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		fi, err := c.FileInfo(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		paths, err := c.Paths(ctx, key, client.PathsOptions{Count: n})
		if err != nil {
			t.Fatal(err)
		}
		if fi.DevCount == n && len(paths) == n {
			return fi
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: devcount %d, paths %v after 60 s; want %d copies", key, fi.DevCount, paths, n)
		}
		time.Sleep(100 * time.Millisecond) // polling the replication state
	}
}

func newClient(t *testing.T, tracker string) *client.Client {
	c, err := client.New(client.Config{Domain: "files", Trackers: []string{tracker}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// assertNoTemp fails if a fetch left a temporary file in dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".mogfetch-") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

func testMogadm(t *testing.T, x *h, cl *mogtest.Cluster) {
	x.t = t
	n1 := cl.Nodes[0]
	adm := mogadm.Main
	hosts := x.ok(adm, "host", "list")
	if !strings.HasPrefix(hosts, "store1 [1]: alive\n  IP:       "+n1.IP+":"+strconv.Itoa(n1.HTTPPort)+"\n\nstore2 [2]: alive\n") {
		t.Fatalf("host list:\n%s", hosts)
	}
	if got := x.ok(adm, "--verbose", "host", "add", "store3", "--ip=127.0.0.3", "--port=7500"); got != "Host has been created.\n" {
		t.Fatalf("host add --verbose: %q", got)
	}
	x.fails(1, "Host already exists.", adm, "host", "add", "store3", "--ip=127.0.0.3")
	x.ok(adm, "host", "modify", "store3", "--getport=7600", "--altip=10.1.1.1", "--altmask=10.0.0.0/8")
	x.ok(adm, "host", "mark", "store3", "readonly")
	x.fails(1, "Failure updating host status: unknown_state", adm, "host", "mark", "store3", "sideways")
	hosts = x.ok(adm, "host", "list")
	if !strings.Contains(hosts, "store3 [3]: readonly\n  IP:       127.0.0.3:7500\n  Alt IP:   10.1.1.1\n  Alt Mask: 10.0.0.0/8\n  GET Port: 7600\n\n") {
		t.Fatalf("host list after modify:\n%s", hosts)
	}
	x.ok(adm, "device", "add", "store3", "9")
	x.fails(1, "Error adding device: existing_devid", adm, "device", "add", "store3", "9")
	r := x.fails(1, "ERROR: devid should be numeric", adm, "device", "add", "store3", "nine")
	if !strings.HasPrefix(r.out, "Help for 'device-add' command:") {
		t.Fatalf("help not shown: %s", r)
	}
	r = x.fails(1, "ERROR: Missing argument 'devid'", adm, "device", "add", "store3")
	x.ok(adm, "device", "mark", "store3", "dev9", "down")
	x.ok(adm, "device", "modify", "store3", "9", "--weight=0")
	devs := x.ok(adm, "device", "list", "--hostname=store3")
	if devs != "store3 [3]: readonly\n                    used(G)    free(G)   total(G)  weight(%)\n   dev9:    down      0.000      0.000      0.000          0\n\n" {
		t.Fatalf("device list --hostname=store3:\n%q", devs)
	}
	devs = x.ok(adm, "device", "list")
	if !strings.Contains(devs, "store1 [1]: alive\n") || !strings.Contains(devs, "   dev1:   alive ") {
		t.Fatalf("device list:\n%s", devs)
	}
	if sum := x.ok(adm, "device", "summary"); !strings.HasPrefix(sum, "Hostname        HostID  Status   used(G)  free(G) total(G)    %Used\nstore1          [   1]:  alive  ") {
		t.Fatalf("device summary:\n%s", sum)
	}
	if got := x.ok(adm, "device", "next"); got != "10\n" {
		t.Fatalf("device next = %q", got)
	}
	x.fails(1, "Failure deleting host: host_not_empty", adm, "host", "delete", "store3")
	// Without --ip the name is resolved.
	x.ok(adm, "host", "add", "localhost", "--port=7555")
	if got := x.ok(adm, "host", "list"); !strings.Contains(got, "localhost [4]: down\n  IP:       127.0.0.1:7555\n") {
		t.Fatalf("host added by name:\n%s", got)
	}
	x.ok(adm, "host", "delete", "localhost")
	x.fails(1, "does not resolve to an IP address", adm, "host", "add", "no-such-host.invalid")
	x.ok(adm, "host", "add", "store4", "--ip=127.0.0.4")
	x.ok(adm, "host", "delete", "store4")
	x.fails(1, "Failure deleting host: unknown_host", adm, "host", "delete", "store4")

	x.ok(adm, "domain", "add", "d2")
	x.fails(1, "Error creating domain: domain_exists That domain already exists", adm, "domain", "add", "d2")
	x.ok(adm, "class", "add", "d2", "c1", "--mindevcount=3", "--hashtype=MD5")
	x.ok(adm, "class", "modify", "d2", "c1", "--replpolicy=MultipleHosts(2)")
	list := x.ok(adm, "class", "list")
	if !strings.HasPrefix(list, " domain               class                mindevcount   replpolicy   hashtype\n") ||
		!strings.Contains(list, " d2                   c1                        3        MultipleHosts(2) MD5    \n") ||
		!strings.Contains(list, " files                two                       2        MultipleHosts() NONE   \n") {
		t.Fatalf("class list:\n%s", list)
	}
	x.fails(1, "Error deleting domain: domain_has_classes", adm, "domain", "delete", "d2")
	x.ok(adm, "class", "delete", "d2", "c1")
	x.ok(adm, "domain", "delete", "d2")
	x.fails(1, "Error deleting domain: domain_not_found Domain not found", adm, "domain", "delete", "d2")

	x.ok(adm, "settings", "set", "memcache_ttl", "60")
	if got := x.ok(adm, "settings", "list"); !strings.Contains(got, "             memcache_ttl = 60\n") {
		t.Fatalf("settings list:\n%s", got)
	}
	x.fails(1, "not_writable", adm, "settings", "set", "no_such_setting", "1")

	x.ok(adm, "slave", "add", "s1", "--dsn=DBI:mysql:x", "--username=u", "--password=p")
	x.ok(adm, "slave", "modify", "s1", "--password=q")
	if got := x.ok(adm, "slave", "list"); got != "s1 --dsn=DBI:mysql:x --username=u --password=q\n" {
		t.Fatalf("slave list = %q", got)
	}
	x.ok(adm, "slave", "delete", "s1")
	if got := x.ok(adm, "slave", "list"); got != "" {
		t.Fatalf("slave list after delete = %q", got)
	}

	if st := x.ok(adm, "fsck", "status"); !strings.Contains(st, "    Running: No\n") || !strings.Contains(st, " Check Type: Normal (check policy + files)\n") {
		t.Fatalf("fsck status:\n%s", st)
	}
	x.ok(adm, "fsck", "reset", "--policy-only")
	if st := x.ok(adm, "fsck", "status"); !strings.Contains(st, " Check Type: Repl policy only (skip file checks)\n") {
		t.Fatalf("fsck status after reset --policy-only:\n%s", st)
	}
	x.ok(adm, "fsck", "start")
	x.fails(1, "fsck_running", adm, "fsck", "start")
	x.ok(adm, "fsck", "stop")
	if got := x.ok(adm, "fsck", "printlog"); !strings.HasPrefix(got, "unixtime             event           fid      devid\n") {
		t.Fatalf("fsck printlog:\n%s", got)
	}
	x.ok(adm, "fsck", "clearlog")

	x.ok(adm, "rebalance", "policy", "--options=from_devices=1 to_devices=2")
	if got := x.ok(adm, "rebalance", "settings"); !strings.Contains(got, "             rebal_policy = from_devices=1 to_devices=2\n") {
		t.Fatalf("rebalance settings:\n%s", got)
	}
	if got := x.ok(adm, "rebalance", "test"); !strings.HasPrefix(got, "Tested rebalance policy...\nPolicy: from_devices=1 to_devices=2\n\nSource devices:\n - 1\nDestination devices:\n - 2\n") {
		t.Fatalf("rebalance test:\n%s", got)
	}
	x.fails(1, "bad_rebal_pol", adm, "rebalance", "policy", "--options=no_such_key=1")
	x.ok(adm, "rebalance", "reset")
	x.fails(1, "no_rebal_state", adm, "rebalance", "status")
	// A policy that selects no source device, so that nothing moves.
	x.ok(adm, "rebalance", "policy", "--options=from_devices=9 to_devices=2")
	x.ok(adm, "rebalance", "start")
	if got := x.ok(adm, "rebalance", "status"); !strings.HasPrefix(got, "Rebalance is running\nRebalance status:\n") || !strings.Contains(got, "             time_started = ") {
		t.Fatalf("rebalance status:\n%s", got)
	}
	x.fails(1, "rebal_running", adm, "rebalance", "start")
	x.ok(adm, "rebalance", "stop")

	x.fails(1, "mogadm stats is deprecated by new 'mogstats' utility", adm, "stats")
	if r := x.run(adm); r.code != 1 || !strings.HasPrefix(r.out, "Usage:  (enter any command prefix") {
		t.Fatalf("no command: %s", r)
	}
	if r := x.run(adm, "host"); r.code != 1 || !strings.HasPrefix(r.out, "Help for 'host' command:\n (enter any command prefix") {
		t.Fatalf("no verb: %s", r)
	}
	dead := mogtest.FreeAddr(t, "127.0.0.1")
	x.fails(1, "couldn't connect to any tracker", adm, "--trackers="+dead, "domain", "add", "x")

	check := x.ok(adm, "check")
	for _, want := range []string{
		"Checking trackers...\n  " + cl.Tracker.Addr + " ... OK\n\n",
		"Checking hosts...\n  [ 1] store1 ... OK\n  [ 2] store2 ... OK\n  [ 3] store3 ... skipping; status = readonly\n\n",
		"Checking devices...\n  host device         size(G)    used(G)    free(G)   use%   ob state   I/O%\n",
		"  [ 1] dev1       ", "  [ 2] dev2       ", "writeable",
		"  ---- ------------ ---------- ---------- ---------- ------\n             total:",
	} {
		if !strings.Contains(check, want) {
			t.Fatalf("mogadm check lacks %q:\n%s", want, check)
		}
	}
	x.ok(adm, "host", "mark", "store3", "down")
	// The device on the storage-less host keeps check from failing:
	// the host is skipped, as the original does.
	x.ok(adm, "check")
	_ = admin.S
}

// TestOperatorSession runs the README's operator session verbatim with the
// real binaries (the storage node's port and the tracker address are the
// test's; mogadm finds the tracker in ~/.mogilefs.conf).
func TestOperatorSessionSQLite(t *testing.T) { testOperatorSession(t, mogtest.TrackerOptions{}) }

func TestOperatorSessionMariaDB(t *testing.T) {
	db := mogtest.NewMySQL(t)
	testOperatorSession(t, mogtest.TrackerOptions{MySQL: &db})
}

func testOperatorSession(t *testing.T, topts mogtest.TrackerOptions) {
	bins := map[string]string{}
	for _, b := range []string{"mogadm", "mogupload", "mogfetch", "moglistkeys", "mogfileinfo"} {
		bins[b] = mogtest.Binary(t, b)
	}
	docroot := t.TempDir()
	os.Mkdir(filepath.Join(docroot, "dev1"), 0o755)
	httpAddr := mogtest.FreeAddr(t, "127.0.0.1")
	mgmtAddr := mogtest.FreeAddr(t, "127.0.0.1")
	node := mogtest.Start(t, mogtest.Binary(t, "mogstored"), "--skipconfig", "--httplisten="+httpAddr, "--mgmtlisten="+mgmtAddr, "--docroot="+docroot)
	node.WaitPort(t, httpAddr, 30*time.Second)
	_, mgmtPort, _ := strings.Cut(mgmtAddr, ":")
	topts.StreamPort, _ = strconv.Atoi(mgmtPort)
	tr := mogtest.StartTracker(t, topts)
	_, port, _ := strings.Cut(httpAddr, ":")
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".mogilefs.conf"), []byte("trackers = "+tr.Addr+"\n"), 0o644)

	source := "/etc/fstab"
	if _, err := os.Stat(source); err != nil {
		source = "/etc/passwd"
	}
	out := filepath.Join(t.TempDir(), "x")
	ctx := mogtest.Context(t)
	sh := func(line string) string {
		t.Helper()
		args := strings.Fields(line)
		cmd := exec.CommandContext(ctx, bins[args[0]], args[1:]...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() != 0 {
			t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", line, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	sh("mogadm host add store1 --ip=127.0.0.1 --port=" + port + " --status=alive")
	sh("mogadm device add store1 1")
	sh("mogadm domain add files")
	sh("mogadm class add files rep2 --mindevcount=2")
	check := sh("mogadm check")
	if !strings.Contains(check, "  [ 1] store1 ... OK\n") || !strings.Contains(check, "  [ 1] dev1   ") {
		t.Fatalf("mogadm check:\n%s", check)
	}
	waitWriteable(t, ctx, tr.Addr)
	sh("mogupload --trackers=" + tr.Addr + " --domain=files --key=/fstab.txt --file=" + source)
	sh("mogfetch --trackers=" + tr.Addr + " --domain=files --key=/fstab.txt --file=" + out)
	want, _ := os.ReadFile(source)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatalf("fetched file differs from %s", source)
	}
	if got := sh("moglistkeys --trackers=" + tr.Addr + " --domain=files"); got != "/fstab.txt\n" {
		t.Fatalf("moglistkeys = %q", got)
	}
	info := sh("mogfileinfo --trackers=" + tr.Addr + " --domain=files --key=/fstab.txt")
	if !strings.HasPrefix(info, "- file: /fstab.txt\n") || !strings.Contains(info, fmt.Sprintf("    length: %20d\n", len(want))) ||
		!strings.Contains(info, " - http://127.0.0.1:"+port+"/dev1/") {
		t.Fatalf("mogfileinfo:\n%s", info)
	}
}

// waitWriteable waits until the tracker's monitor has seen every alive
// device writeable (uploads need it).
func waitWriteable(t *testing.T, ctx context.Context, tracker string) {
	t.Helper()
	c, err := client.New(client.Config{Trackers: []string{tracker}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := admin.New(c)
	deadline := time.Now().Add(60 * time.Second)
	for {
		devs, err := a.Devices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ready := len(devs) > 0
		for _, d := range devs {
			if d.Status == "alive" && (d.ObservedState != "writeable" || d.MBTotal == 0) {
				ready = false
			}
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("devices not writeable after 60 s: %+v", devs)
		}
		if err := a.ClearCache(ctx); err != nil { // waits for a monitor round
			t.Fatal(err)
		}
	}
}
