// Package conffile reads the original MogileFS configuration files
// (mogilefsd.conf, mogstored.conf, mogilefs.conf): one setting per line as
// "key = value" or "key value", whole-line "#" comments, blank lines
// ignored. It only splits lines; each program checks its own keys and
// reports problems with the entry's line number.
package conffile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Entry is one setting with the line it came from.
type Entry struct {
	Key   string
	Value string
	Line  int
}

// Parse splits r into entries. A line with a key and nothing else has an
// empty value.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var key, val string
		if i := strings.IndexByte(line, '='); i >= 0 && !strings.ContainsAny(strings.TrimSpace(line[:i]), " \t") {
			key, val = line[:i], line[i+1:]
		} else {
			key, val, _ = strings.Cut(line, " ")
			if j := strings.IndexByte(key, '\t'); j >= 0 {
				key, val = line[:j], line[j+1:]
			}
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("line %d: no key in %q", n, line)
		}
		out = append(out, Entry{Key: key, Value: strings.TrimSpace(val), Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	return out, nil
}

// ReadFile parses the file at path. Errors name the file.
func ReadFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}
