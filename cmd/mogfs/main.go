// Command mogfs mounts a MogileFS cluster as a filesystem (FUSE). See
// docs/mogfs.md.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/mogfs/mountcmd"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogfs"))
		return
	}
	os.Exit(mountcmd.Main(&mountcmd.Env{
		Args:      os.Args,
		Getenv:    os.Getenv,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		EtcConfig: mountcmd.SystemConfig,
	}))
}
