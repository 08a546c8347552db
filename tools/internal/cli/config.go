package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// confLine is the original's setting syntax: "key = value", key a word.
var confLine = regexp.MustCompile(`^\s*(\w+)\s*=\s*(.+?)\s*$`)

// ParseConfig reads "key = value" lines. Blank lines, lines starting with
// "#" and anything after a whitespace-preceded "#" are comments (the
// original tools differ slightly here; this rule keeps a "#" inside a
// password). Lines that are not settings are ignored, as the original
// does; a key given twice keeps its first value.
func ParseConfig(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if i := commentStart(line); i >= 0 {
			line = line[:i]
		}
		m := confLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := out[m[1]]; !dup {
			out[m[1]] = m[2]
		}
	}
	return out, sc.Err()
}

// commentStart returns the index of a "#" that follows whitespace, or -1.
func commentStart(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// ConfigFiles returns the configuration files a tool reads, most important
// first: the --conf/--config file, $MOGUTILSCONF (if useEnv),
// ~/.mogilefs.conf and the system file.
//
// The original reads these in the reverse order and keeps the first value
// it sees, so /etc/mogilefs/mogilefs.conf overrides the file named on the
// command line. That surprises every operator who passes --conf, so here
// the file named on the command line wins, then the user's, then the
// system's; command-line options win over all files, as in the original.
func ConfigFiles(env *Env, explicit string, useEnv bool) []string {
	var out []string
	if explicit != "" {
		out = append(out, explicit)
	}
	if useEnv {
		if f := env.getenv("MOGUTILSCONF"); f != "" {
			out = append(out, f)
		}
	}
	if home := env.getenv("HOME"); home != "" {
		out = append(out, filepath.Join(home, ".mogilefs.conf"))
	}
	if env.EtcConfig != "" {
		out = append(out, env.EtcConfig)
	}
	return out
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// ReadConfigFiles merges files (most important first). A missing file is
// skipped, except the explicit one (mustExist) whose absence is an error;
// an unreadable file is an error.
func ReadConfigFiles(files []string, mustExist string) (map[string]string, error) {
	out := map[string]string{}
	for _, fn := range files {
		f, err := os.Open(fn)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && fn != mustExist {
				continue
			}
			return nil, FileFail("unable to open "+fn, err)
		}
		m, err := ParseConfig(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", fn, err)
		}
		for k, v := range m {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out, nil
}
