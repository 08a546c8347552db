// Command moglistfids is the MogileFS moglistfids utility; see package tools/moglistfids.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/moglistfids"
)

func main() {
	os.Exit(moglistfids.Run())
}
