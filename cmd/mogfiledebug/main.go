// Command mogfiledebug is the MogileFS mogfiledebug utility; see package tools/mogfiledebug.
package main

import (
	"fmt"
	"os"

	"github.com/mogilefs-go/mogilefs/internal/version"
	"github.com/mogilefs-go/mogilefs/tools/mogfiledebug"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println(version.Read().Line("mogfiledebug"))
		return
	}
	os.Exit(mogfiledebug.Run())
}
