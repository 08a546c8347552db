package s3

import (
	"strconv"
	"strings"
	"time"

	"github.com/mogilefs-go/mogilefs/client"
)

// The walk over the tracker's one-level listing (mogfs_list_dir) that
// listings are made of (docs/s3.md §4).

// entry is one entry of a directory level.
type entry struct {
	name      string
	dir       bool
	fid, size int64
	mtime     time.Time
	long      bool // a long mogfs name: no S3 object
}

// item is one element of a listing: an object, or a common prefix.
type item struct {
	key    string
	prefix bool
	e      entry
}

// frame is one directory level being walked.
type frame struct {
	dir        string
	after      string // the tracker cursor of the next page
	entries    []entry
	exhausted  bool // no page after entries
	skipMarker bool // leave out the key equal to dir
}

// walker yields the keys under prefix after a cursor in byte order:
// one level (directories as common prefixes) or, when flat, every key
// (directories entered where they sort).
type walker struct {
	c       *call
	cl      *client.Client
	prefix  string
	root    string // prefix up to its last "/"
	stack   []*frame
	flat    bool
	page    int
	done    bool
	fetches int
}

// newWalker starts a walk of the keys under prefix after resume (""
// from the start).
func newWalker(c *call, prefix, resume string, flat bool, page int) *walker {
	w := &walker{c: c, cl: c.s.client(c.bucket), prefix: prefix, flat: flat, page: page}
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		w.root = prefix[:i+1]
	}
	if resume < prefix {
		resume = ""
	}
	switch {
	case resume == "":
		w.stack = []*frame{{dir: w.root, after: predAfter(w.root, prefix[len(w.root):])}}
	case !strings.HasPrefix(resume, w.root):
		w.done = true // past every key under prefix
	case !flat:
		w.stack = []*frame{{dir: w.root, after: resume}}
	default:
		w.stack = unfold(w.root, resume)
	}
	return w
}

// predAfter is a cursor just before the names of dir that start with
// partial (a name without "/"): every such name sorts after it.
func predAfter(dir, partial string) string {
	if partial == "" {
		return ""
	}
	last := partial[len(partial)-1]
	if last == 0 {
		return dir + partial[:len(partial)-1]
	}
	return dir + partial[:len(partial)-1] + string([]byte{last - 1}) + "\xff"
}

// unfold turns the key to resume after into one frame per level, the
// deepest on top: a/b/c gives (root after a/), (a/ after a/b/), (a/b/
// after a/b/c).
func unfold(root, resume string) []*frame {
	rest := resume[len(root):]
	var st []*frame
	dir := root
	for {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			break
		}
		st = append(st, &frame{dir: dir, after: dir + rest[:i+1]})
		dir += rest[:i+1]
		rest = rest[i+1:]
	}
	if rest == "" {
		return append(st, &frame{dir: dir, skipMarker: true})
	}
	return append(st, &frame{dir: dir, after: resume})
}

// next returns the next item, false at the end.
func (w *walker) next() (item, bool, error) {
	for !w.done && len(w.stack) > 0 {
		f := w.stack[len(w.stack)-1]
		if len(f.entries) == 0 {
			if f.exhausted {
				w.stack = w.stack[:len(w.stack)-1]
				continue
			}
			if err := w.fetch(f); err != nil {
				return item{}, false, err
			}
			continue
		}
		e := f.entries[0]
		f.entries = f.entries[1:]
		full := f.dir + e.name
		if e.dir {
			full += "/"
		}
		if !strings.HasPrefix(full, w.prefix) {
			// Keys come in byte order: the first one past the prefix
			// ends the walk.
			if full > w.prefix {
				w.done = true
			}
			continue
		}
		switch {
		case e.long:
			continue
		case e.dir && f.dir == "" && (e.name == ".mogfs" || e.name == ".s3"):
			continue
		case e.dir && w.flat:
			w.stack = append(w.stack, &frame{dir: full})
			continue
		case e.dir:
			return item{key: full, prefix: true}, true, nil
		case f.skipMarker && e.name == "":
			continue
		}
		return item{key: full, e: e}, true, nil
	}
	return item{}, false, nil
}

// fetch reads the next page of f.
func (w *walker) fetch(f *frame) error {
	w.fetches++
	a, err := w.cl.Do(w.c.ctx, "mogfs_list_dir", map[string]string{
		"domain": w.c.bucket, "prefix": f.dir, "after": f.after, "limit": strconv.Itoa(w.page)})
	if err != nil {
		if client.IsCode(err, "unknown_command") {
			return notImplemented("the trackers have no mogfs_list_dir command")
		}
		return toAPIError(err)
	}
	n, _ := strconv.Atoi(a["entry_count"])
	f.entries = f.entries[:0]
	for i := 1; i <= n; i++ {
		p := "entry_" + strconv.Itoa(i) + "_"
		e := entry{name: a[p+"name"], dir: a[p+"type"] == "d", long: a[p+"dkey"] != ""}
		if !e.dir {
			e.fid, _ = strconv.ParseInt(a[p+"fid"], 10, 64)
			e.size, _ = strconv.ParseInt(a[p+"size"], 10, 64)
			e.mtime = time.Unix(0, 0).UTC()
			if m, err := strconv.ParseInt(a[p+"mtime"], 10, 64); err == nil {
				ns, _ := strconv.Atoi(a[p+"mtime_nsec"])
				e.mtime = time.Unix(m, int64(ns)).UTC()
			}
		}
		f.entries = append(f.entries, e)
	}
	f.after = a["next_after"]
	f.exhausted = f.after == ""
	return nil
}
