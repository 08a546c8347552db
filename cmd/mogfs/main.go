// Command mogfs mounts a MogileFS cluster as a filesystem (FUSE). See
// docs/mogfs.md.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/mogfs/mountcmd"
)

func main() {
	os.Exit(mountcmd.Main(&mountcmd.Env{
		Args:      os.Args,
		Getenv:    os.Getenv,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		EtcConfig: mountcmd.SystemConfig,
	}))
}
