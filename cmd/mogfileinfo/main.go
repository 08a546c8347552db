// Command mogfileinfo is the MogileFS mogfileinfo utility; see package tools/mogfileinfo.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogfileinfo"
)

func main() {
	os.Exit(mogfileinfo.Run())
}
