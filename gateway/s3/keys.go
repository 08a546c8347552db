package s3

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Key is one access key of the keys file: its secret and the buckets
// (domains) it may use.
type Key struct {
	AccessKey, Secret string
	// All: every bucket ("*"); otherwise only Buckets.
	All     bool
	Buckets []string
}

// May reports whether k may use bucket.
func (k *Key) May(bucket string) bool {
	return k.All || slices.Contains(k.Buckets, bucket)
}

// Keys is a parsed keys file, by access key.
type Keys map[string]*Key

// ParseKeys reads lines "ACCESS_KEY SECRET_KEY [bucket,...|*]"; blank
// lines and lines starting with "#" are skipped; a missing third field is
// "*".
func ParseKeys(r io.Reader) (Keys, error) {
	keys := Keys{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want ACCESS_KEY SECRET_KEY [bucket,...|*], got %d fields", n, len(f))
		}
		k := &Key{AccessKey: f[0], Secret: f[1], All: true}
		if len(f) == 3 && f[2] != "*" {
			k.All = false
			for _, b := range strings.Split(f[2], ",") {
				if b = strings.TrimSpace(b); b != "" {
					k.Buckets = append(k.Buckets, b)
				}
			}
			if len(k.Buckets) == 0 {
				return nil, fmt.Errorf("line %d: empty bucket list", n)
			}
		}
		if _, dup := keys[k.AccessKey]; dup {
			return nil, fmt.Errorf("line %d: access key %s given twice", n, k.AccessKey)
		}
		keys[k.AccessKey] = k
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

// LoadKeys reads a keys file.
func LoadKeys(path string) (Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("s3 keys: %w", err)
	}
	defer f.Close()
	k, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("s3 keys %s: %w", path, err)
	}
	if len(k) == 0 {
		return nil, fmt.Errorf("s3 keys %s: no key", path)
	}
	return k, nil
}
