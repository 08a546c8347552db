package mogfs_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestEmptyFilesSurviveUnmount: empty files are committed by their
// release, which the kernel sends after close(2) returned and drops when
// the mount goes away first. Files created one after the other and the
// mount unmounted at once: every one is a key afterwards, on a mount that
// asks the tracker before each create and on one that does not
// (--open-cache in a directory it made, where creates outrun commits).
func TestEmptyFilesSurviveUnmount(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"close-to-open", nil},
		{"open-cache", []string{"--open-cache=1h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFastEnv(t, true)
			mnt, _ := e.mountProc(t, append([]string{"--domain=" + e.domain, "--class=one"}, tc.args...)...)
			dir := filepath.Join(mnt, "d")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			const n = 3000
			for i := range n {
				f, err := os.OpenFile(filepath.Join(dir, "e"+strconv.Itoa(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := unmount(mnt); err != nil {
				t.Fatal(err)
			}
			waitNoProcess(t, mnt)
			var missing []string
			for i := range n {
				k := "d/e" + strconv.Itoa(i)
				if _, err := e.c.FileInfo(ctx(t), k); err != nil {
					missing = append(missing, k)
				}
			}
			if len(missing) > 0 {
				t.Fatalf("%d of %d empty files lost at unmount, first %s", len(missing), n, missing[0])
			}
		})
	}
}
