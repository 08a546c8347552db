// Command mogupload is the MogileFS mogupload utility; see package tools/mogupload.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogupload"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogupload"))
		return
	}
	os.Exit(mogupload.Run())
}
