package mogfiledebug

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/tools/internal/cli"
)

const usage = `--trackers=host --paths=action --domain=foo --key='/hello.jpg'
If FID is known, but domain/key are not known:
--trackers=host --fid=123456
--paths=action, where action is 'print', 'stat', or 'fetch' (default)`

// fetchTimeout bounds each HEAD/GET of a copy, as the original.
const fetchTimeout = 10 * time.Second

// Main runs mogfiledebug and returns its exit status.
func Main(ctx context.Context, env *cli.Env, args []string) int {
	u := cli.NewUtils(env, "mogfiledebug", usage)
	var key, paths string
	var fid int64
	u.Flags.StringVar(&key, "key", "", "key to inspect")
	u.Flags.Int64Var(&fid, "fid", 0, "fid to inspect")
	u.Flags.StringVar(&paths, "paths", "", "print, stat or fetch (default)")
	if code, done := u.Parse(args); done {
		return code
	}
	if paths == "" {
		paths = "fetch"
	}
	if paths != "print" && paths != "stat" && paths != "fetch" {
		fmt.Fprintf(env.Stderr, "mogfiledebug %s\n", usage)
		return cli.ExitFail
	}
	return cli.Report(env, run(ctx, u, key, fid, paths))
}

func run(ctx context.Context, u *cli.Utils, key string, fid int64, action string) error {
	if fid == 0 && key == "" {
		return cli.Fail(cli.ExitDie, nil, "Must specify --key or --fid")
	}
	if fid != 0 && u.Domain == "" {
		u.Domain = "mogfiledebug-unset"
	}
	c, err := u.Client(fid == 0)
	if err != nil {
		return err
	}
	defer c.Close()
	var details map[string]string
	if fid != 0 {
		details, err = c.FileDebugFID(ctx, fid)
	} else {
		details, err = c.FileDebug(ctx, key)
	}
	if err != nil {
		return cli.Die("Error fetching fid info: ", err)
	}
	hc := &http.Client{Timeout: fetchTimeout}
	w := bufio.NewWriter(u.Env.Stdout)
	Report(ctx, w, hc, details, action)
	if err := w.Flush(); err != nil {
		return cli.FileFail("Error writing output", err)
	}
	return nil
}

// Result is the outcome of checking one copy.
type Result struct {
	Path   string
	Status string // HTTP status line, "500 <error>" without a response
	Length *int64
	MTime  string
	Hash   string // MD5 hex (fetch only)
}

// Report prints the whole report for a file_debug reply; copies are
// checked with hc according to action.
func Report(ctx context.Context, w io.Writer, hc *http.Client, details map[string]string, action string) {
	parts := map[string]map[string]string{}
	type devpath struct {
		devid int
		url   string
	}
	var paths []devpath
	for k, v := range details {
		if d, ok := strings.CutPrefix(k, "devpath_"); ok {
			n, _ := strconv.Atoi(d)
			paths = append(paths, devpath{n, v})
			continue
		}
		i := strings.LastIndexByte(k, '_')
		if i <= 0 {
			continue
		}
		if parts[k[:i]] == nil {
			parts[k[:i]] = map[string]string{}
		}
		parts[k[:i]][k[i+1:]] = v
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i].devid < paths[j].devid })

	switch {
	case len(paths) == 0:
		fmt.Fprintln(w, "No valid-ish paths found")
	case action == "print":
		fmt.Fprintln(w, "Paths...")
		for _, p := range paths {
			fmt.Fprintf(w, " - %s\n", p.url)
		}
	case action == "stat":
		fmt.Fprintln(w, "Checking status of paths...")
		var res []Result
		for _, p := range paths {
			res = append(res, check(ctx, hc, http.MethodHead, p.url))
		}
		EmitResults(w, false, parts["fid"], res)
	default:
		fmt.Fprintln(w, "Fetching and summing paths...")
		var res []Result
		for _, p := range paths {
			res = append(res, check(ctx, hc, http.MethodGet, p.url))
		}
		EmitResults(w, true, parts["fid"], res)
	}

	fmt.Fprintln(w, "\nTempfile and/or queue rows...")
	found := false
	for _, typ := range []string{"tempfile", "replqueue", "delqueue", "rebqueue", "fsckqueue"} {
		part, ok := parts[typ]
		if !ok {
			continue
		}
		found = true
		fmt.Fprintf(w, "- %12s\n", typ)
		for _, k := range sortedKeys(part) {
			fmt.Fprintf(w, "  %20s: %20s\n", k, part[k])
		}
	}
	if !found {
		fmt.Fprintln(w, "none.")
	}

	if f, ok := parts["fid"]; ok {
		fmt.Fprintln(w, "\n- File Row:")
		for _, k := range sortedKeys(f) {
			fmt.Fprintf(w, "  %8s: %20s\n", k, f[k])
		}
	} else {
		fmt.Fprint(w, "- ERROR: No file row was found!\nFile may have been deleted or never closed.\nSee above for any matching rows from tempfile or delqueue.\n")
	}
	if d := details["devids"]; d != "" {
		fmt.Fprintf(w, "\n- Raw devids: %s\n", d)
	}
	if h := details["checksum"]; h != "" {
		fmt.Fprintf(w, "\n- Stored checksum: %s\n", h)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// check HEADs or GETs (and MD5-sums) one copy.
func check(ctx context.Context, hc *http.Client, method, url string) Result {
	r := Result{Path: url}
	h := md5.New()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		r.Status = "500 " + err.Error()
		r.Hash = hex.EncodeToString(h.Sum(nil))
		return r
	}
	resp, err := hc.Do(req)
	if err != nil {
		r.Status = "500 " + cli.Errstr(err)
		r.Hash = hex.EncodeToString(h.Sum(nil))
		if method == http.MethodGet {
			var zero int64
			r.Length = &zero
		}
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.Status
	r.MTime = resp.Header.Get("Last-Modified")
	if method == http.MethodHead {
		if v := resp.Header.Get("Content-Length"); v != "" {
			n, _ := strconv.ParseInt(v, 10, 64)
			r.Length = &n
		}
		return r
	}
	n, err := io.Copy(h, resp.Body)
	r.Length = &n
	r.Hash = hex.EncodeToString(h.Sum(nil))
	if err != nil {
		r.Status = "500 read failed after " + strconv.FormatInt(n, 10) + " bytes: " + cli.Errstr(err)
	}
	return r
}

// EmitResults prints the per-copy blocks; fileRow is the fid_* part of
// the file_debug reply (nil if there is no file row).
func EmitResults(w io.Writer, needHash bool, fileRow map[string]string, results []Result) {
	var length *int64
	if v, ok := fileRow["length"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			length = &n
		}
	}
	if length == nil {
		fmt.Fprintln(w, "No length, cannot verify content length")
	}
	firstHash := ""
	for _, r := range results {
		fmt.Fprintf(w, "\nResults for path: %s\n", r.Path)
		if strings.Contains(r.Status, "404") {
			fmt.Fprintf(w, " - ERROR: File copy is missing: %s\n", r.Status)
			continue
		}
		if needHash {
			if firstHash == "" {
				firstHash = r.Hash
			}
			if firstHash != r.Hash {
				fmt.Fprintln(w, " - ERROR: Hash does not match first path!")
			}
		}
		if length != nil && r.Length != nil && *length != *r.Length {
			fmt.Fprintln(w, " - ERROR: Length does not match file row!")
		}
		if needHash {
			fmt.Fprintf(w, " - MD5 Hash: %s\n", r.Hash)
		}
		if r.Length != nil {
			fmt.Fprintf(w, " - Length: %d\n", *r.Length)
		}
		if r.MTime != "" {
			fmt.Fprintf(w, " - Last-Modified: %s\n", r.MTime)
		}
		fmt.Fprintf(w, " - HTTP result: %s\n", r.Status)
	}
}

// Run runs the tool as a process: os.Args, standard streams, SIGINT and
// SIGTERM cancel it. It returns the exit status for os.Exit.
func Run() int { return cli.Run(Main) }
