// Command mogfiledebug is the MogileFS mogfiledebug utility; see package tools/mogfiledebug.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogfiledebug"
)

func main() {
	os.Exit(mogfiledebug.Run())
}
