// Command moglistfids is the MogileFS moglistfids utility; see package tools/moglistfids.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/moglistfids"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("moglistfids"))
		return
	}
	os.Exit(moglistfids.Run())
}
