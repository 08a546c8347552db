// Command mogfileinfo is the MogileFS mogfileinfo utility; see package tools/mogfileinfo.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogfileinfo"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogfileinfo"))
		return
	}
	os.Exit(mogfileinfo.Run())
}
