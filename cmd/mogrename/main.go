// Command mogrename is the MogileFS mogrename utility; see package tools/mogrename.
package main

import (
	"os"

	"github.com/mogilefs-go/mogilefs/tools/mogrename"
)

func main() {
	os.Exit(mogrename.Run())
}
