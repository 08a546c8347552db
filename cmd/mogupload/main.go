// Command mogupload is the MogileFS mogupload utility; see package tools/mogupload.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogupload"
)

func main() {
	os.Exit(mogupload.Run())
}
