// Package version says what a binary was built from: the release version
// given at link time (the Makefile passes `git describe --tags --always
// --dirty` with -ldflags "-X github.com/mogilefs-go/mogilefs/internal/version.version=…")
// and the commit Go records in the build info (vcs.revision, vcs.modified).
// Go records no commit when building in a git worktree (it wants .git to
// be a directory) or with -buildvcs=false, so the Makefile also links the
// commit (…/internal/version.commit=`git rev-parse HEAD`), used when the
// build info has none. Every command under cmd/ answers `--version` as its
// first argument with Line.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set by the linker (-X); empty in a plain
// `go build`.
var version, commit string

// Info is what a binary knows about its own build.
type Info struct {
	Version  string // the -X version, else the main module's version, else "devel"
	Commit   string // vcs.revision, else the -X commit, else ""
	Modified bool   // vcs.modified: the work tree had uncommitted changes
	Go       string // the Go release that built it
}

// Read returns this binary's Info.
func Read() Info {
	return read(version, commit, debug.ReadBuildInfo)
}

func read(linkedVersion, linkedCommit string, buildInfo func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: linkedVersion, Go: runtime.Version()}
	bi, ok := buildInfo()
	if ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			i.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Commit = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if i.Commit == "" {
		i.Commit = linkedCommit
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	return i
}

// Line formats i for prog, e.g.
//
//	mogfs v1.2.0-3-g1a2b3c4 (commit 1a2b3c4d…, modified, go1.26.8)
//
// with "commit unknown" when neither the build info nor the linker gave
// one (a plain `go build` outside a git clone, or with -buildvcs=false).
func (i Info) Line(prog string) string {
	commit := i.Commit
	if commit == "" {
		commit = "unknown"
	}
	mod := ""
	if i.Modified {
		mod = ", modified"
	}
	return fmt.Sprintf("%s %s (commit %s%s, %s)", prog, i.Version, commit, mod, i.Go)
}

// Requested reports whether the command line asks for the version: its
// first argument is --version. Only the first argument counts, so no
// option's value and none of the original tools' own options can be taken
// for it.
func Requested(args []string) bool {
	return len(args) > 0 && args[0] == "--version"
}
